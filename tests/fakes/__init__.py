"""Real HTTP servers on 127.0.0.1 that play the providers in tests (DESIGN.md sections 2 and 8).

server.py is the engine (routes, fault knobs, request log); base.py what the provider fakes
share (clock, JWTs, refresh-token families, secret-in-URL guard); alor.py, traderevolution.py,
apirone.py and oauth2.py are the providers; certs.py makes keys, certificates and assertions;
cached.py turns a genuine token reply into a cached one (issued seconds earlier)."""
