"""A loopback demo authorization server for `token-vault --demo`: just enough of ALOR,
TraderEvolution, Apirone and an OAuth 2.0 token endpoint for the real providers to sign in,
refresh and revoke against, with real HS256 JWTs that live about two minutes.

Routes (JSON or form bodies; a query string is refused, so no secret ever rides in a URL):

    POST /alor/refresh                  {"token"} -> {"AccessToken": JWT}
    POST /te/auth/token                 {"login", "password"} -> access/refresh pair
    GET  /te/auth/token/refresh         header `token` -> a new pair (rotation)
    POST /flaky/te/auth/token           as /te/auth/token, with short-lived tokens
    GET  /flaky/te/auth/token/refresh   always 503 with Retry-After: a gateway that is down
    POST /apirone/auth/login            {"login", "password"} -> {"login", "access-token", ...}
    POST /apirone/auth/refresh-token    Bearer refresh token -> a new pair (rotation)
    POST /apirone/auth/logout           Bearer access token -> {}; both tokens die
    POST /oauth/token                   RFC 6749: client_credentials, password, refresh_token
    POST /oauth/revoke                  RFC 7009

It accepts only the demo credentials below and answers anything else with a 400/401 JSON error.
The refresh token `EXPIRED_SESSION_REFRESH_TOKEN` works once: the refresh token it is exchanged
for is forgotten at once (the session "was ended at the server"), so the account holding it
needs a new sign-in after its first refresh.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import jwt

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 120.0  # access tokens: long enough to read, short enough to see refreshes
# The flaky and the expired-session accounts: under the engine's 60 s minimum lead, so they are
# refreshed halfway (20-25 s in) and fail there; the flaky one's token runs out at 50 s.
SHORT_LIFETIME = 50.0
REFRESH_LIFETIME = 30 * 86400.0  # refresh tokens: past the 14-day warning window
FLAKY_RETRY_AFTER = 15  # seconds the flaky gateway asks clients to wait
MAX_BODY = 64 * 1024
AUDIENCE = "token-vault-demo"

# The demo credentials the server is seeded with (and `seed.py` signs in with). They open
# nothing but this in-process loopback server.
ALOR_REFRESH_TOKEN = "demo-alor-3f9c1a2e-5b7d-4e8f-9a6b-1c2d3e4f5a6b"
ALOR_PORTFOLIOS = ("D12345", "G67890")
TE_LOGIN = "demo-trader"
TE_PASSWORD = "demo-te-password-2718"
FLAKY_LOGIN = "gateway-bot"
FLAKY_PASSWORD = "demo-gateway-password-1618"
APIRONE_LOGIN = "apr-demo-wallet-7f3a91"
APIRONE_TRANSFER_KEY = "demo-transfer-key-Qx7Lm2Vn9Pz4"
REPORTS_CLIENT_ID = "demo-reports"
REPORTS_CLIENT_SECRET = "demo-reports-secret-5Hk8Wc3R"
BROKER_CLIENT_ID = "demo-tv-broker"
BROKER_CLIENT_SECRET = "demo-broker-secret-9Jt4Ys6B"
BROKER_USERNAME = "demo-trader@example.com"
BROKER_PASSWORD = "demo-broker-password-1414"
CLI_CLIENT_ID = "demo-cli"  # a public client: no secret
EXPIRED_SESSION_REFRESH_TOKEN = "demo-session-rt-8c1e4b7a2d5f4e6b9a0c3d2e1f4a5b6c"

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class _Client:
    """A registered OAuth client: its secret (None for a public client) and grants."""

    client_id: str
    secret: str | None
    grants: tuple[str, ...]
    scope: str


_CLIENTS = {
    c.client_id: c
    for c in (
        _Client(REPORTS_CLIENT_ID, REPORTS_CLIENT_SECRET, ("client_credentials",), "reports:read"),
        _Client(BROKER_CLIENT_ID, BROKER_CLIENT_SECRET, ("password", "refresh_token"), "trading"),
        _Client(CLI_CLIENT_ID, None, ("refresh_token",), "profile"),
    )
}
_TE_USERS = {TE_LOGIN: TE_PASSWORD, FLAKY_LOGIN: FLAKY_PASSWORD}
_APIRONE_USERS = {APIRONE_LOGIN: APIRONE_TRANSFER_KEY}
_OAUTH_USERS = {BROKER_USERNAME: BROKER_PASSWORD}


@dataclass
class _Session:
    """One signed-in session: its current refresh token is the only one the server accepts."""

    kind: str  # "te", "apirone", "oauth"
    subject: str
    lifetime: float
    client_id: str | None = None
    scope: str | None = None
    sid: str = field(default_factory=lambda: uuid.uuid4().hex)
    refresh_token: str | None = None
    ended: bool = False
    forget_next_refresh_token: bool = False  # the expired-session account


@dataclass
class Answer:
    """A reply: status, JSON body (None for an empty body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _Fail(Exception):
    """Raised by a route to answer with an error instead."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> _Fail:
    """An error reply in the shape the broker APIs use (`error` and `message`)."""
    return _Fail(Answer(status, {"error": code, "message": message}, dict(headers or {})))


def _oauth_error(
    status: int, code: str, description: str, headers: Mapping[str, str] | None = None
) -> _Fail:
    """RFC 6749 section 5.2 error reply."""
    body = {"error": code, "error_description": description}
    return _Fail(Answer(status, body, {**NO_STORE, **(headers or {})}))


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400."""
        try:
            data = json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _error(400, "invalid_request", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _error(400, "invalid_request", "the body must be a JSON object")
        return data

    def form(self) -> dict[str, str]:
        """The body as an RFC 6749 form: repeated parameters are an invalid request."""
        try:
            pairs = parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            raise _oauth_error(400, "invalid_request", "the form is not valid UTF-8") from None
        out: dict[str, str] = {}
        for name, value in pairs:
            if name in out:
                raise _oauth_error(400, "invalid_request", f"parameter {name} is repeated")
            out[name] = value
        return out

    def bearer(self) -> str | None:
        header = self.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() or None if scheme.lower() == "bearer" else None


Route = Callable[[_Request], Answer]


class DemoServer:
    """The demo authorization server on 127.0.0.1 (a free port), served by a daemon thread."""

    def __init__(
        self,
        *,
        lifetime: float = DEFAULT_LIFETIME,
        short_lifetime: float | None = None,
        refresh_lifetime: float = REFRESH_LIFETIME,
    ) -> None:
        self.lifetime = lifetime
        self.short_lifetime = (
            min(SHORT_LIFETIME, lifetime) if short_lifetime is None else short_lifetime
        )
        self.refresh_lifetime = refresh_lifetime
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._by_refresh: dict[str, _Session] = {}
        self._sessions: dict[str, _Session] = {}  # by sid
        self._revoked_jti: set[str] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        expired = _Session(
            "oauth",
            "demo-user",
            self.short_lifetime,
            client_id=CLI_CLIENT_ID,
            scope="profile",
            refresh_token=EXPIRED_SESSION_REFRESH_TOKEN,
            forget_next_refresh_token=True,
        )
        self._by_refresh[EXPIRED_SESSION_REFRESH_TOKEN] = expired
        self._sessions[expired.sid] = expired
        self._routes: dict[str, tuple[str, Route]] = {
            "/alor/refresh": ("POST", self._alor_refresh),
            "/te/auth/token": ("POST", lambda r: self._te_sign_in(r, flaky=False)),
            "/te/auth/token/refresh": ("GET", self._te_refresh),
            "/flaky/te/auth/token": ("POST", lambda r: self._te_sign_in(r, flaky=True)),
            "/flaky/te/auth/token/refresh": ("GET", self._flaky),
            "/apirone/auth/login": ("POST", self._apirone_login),
            "/apirone/auth/refresh-token": ("POST", self._apirone_refresh),
            "/apirone/auth/logout": ("POST", self._apirone_logout),
            "/oauth/token": ("POST", self._oauth_token),
            "/oauth/revoke": ("POST", self._oauth_revoke),
        }

    # -- life cycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The root URL, e.g. http://127.0.0.1:41234 (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError("the demo server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> str:
        """Listen on a free loopback port and serve from a daemon thread; returns the URL."""
        if self._httpd is None:
            self._httpd = _HTTPServer(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="token-vault-demo-server",
                daemon=True,
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request; any bug inside a route becomes a 500, never a traceback."""
        parts = urlsplit(target)
        route = self._routes.get(parts.path.rstrip("/") or "/")
        if route is None:
            return Answer(404, {"error": "not_found", "message": f"no demo route {parts.path}"})
        allowed, handler = route
        if method != allowed:
            return Answer(
                405,
                {"error": "method_not_allowed", "message": f"use {allowed}"},
                {"Allow": allowed},
            )
        if parts.query:
            return Answer(
                400,
                {
                    "error": "invalid_request",
                    "message": "no query string: secrets never go in a URL (RFC 9700 4.3.2)",
                },
            )
        request = _Request(method, parts.path, {k.lower(): v for k, v in headers.items()}, body)
        try:
            with self._lock:
                return handler(request)
        except _Fail as fail:
            return fail.answer
        except Exception:
            log.debug("demo server: route %s failed", parts.path, exc_info=True)
            return Answer(500, {"error": "server_error", "message": "demo server bug"})

    # -- tokens ---------------------------------------------------------------------------

    def _access_token(
        self, subject: str, lifetime: float, session: _Session | None = None, **extra: Any
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + round(lifetime),
            "jti": uuid.uuid4().hex,
        }
        if session is not None:
            claims["sid"] = session.sid
            if session.client_id:
                claims["client_id"] = session.client_id
            if session.scope:
                claims["scope"] = session.scope
        claims.update(extra)
        return jwt.encode(claims, self._key, algorithm="HS256")

    def _rotate(self, session: _Session) -> str:
        """Issue the session's next refresh token; the previous one stops working."""
        self._sessions[session.sid] = session
        if session.refresh_token is not None:
            self._by_refresh.pop(session.refresh_token, None)
        if session.kind == "apirone":  # Apirone's refresh tokens are JWTs too
            now = int(time.time())
            claims = {
                "iss": self.url,
                "aud": AUDIENCE,
                "sub": session.subject,
                "sid": session.sid,
                "typ": "refresh",
                "iat": now,
                "exp": now + round(self.refresh_lifetime),
                "jti": uuid.uuid4().hex,
            }
            token = jwt.encode(claims, self._key, algorithm="HS256")
        else:
            token = "demo-rt-" + secrets.token_urlsafe(24)
        session.refresh_token = token
        if session.forget_next_refresh_token:
            # The expired-session account: the server ends this session right away, so the
            # token it just handed out is one it does not know.
            self._end(session)
        else:
            self._by_refresh[token] = session
        return token

    def _end(self, session: _Session) -> None:
        session.ended = True
        if session.refresh_token is not None:
            self._by_refresh.pop(session.refresh_token, None)

    def _live_session(self, token: str | None, kind: str) -> _Session | None:
        session = self._by_refresh.get(token or "")
        if session is None or session.ended or session.kind != kind:
            return None
        return session

    def _check_access(self, token: str | None) -> dict[str, Any] | None:
        """The claims of a live access token this server issued, or None."""
        if not token:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=["HS256"], audience=AUDIENCE, leeway=5
            )
        except jwt.PyJWTError:
            return None
        if claims.get("typ") == "refresh" or claims.get("jti") in self._revoked_jti:
            return None
        session = self._sessions.get(str(claims.get("sid")))
        if session is not None and session.ended:
            return None
        return claims

    # -- ALOR -----------------------------------------------------------------------------

    def _alor_refresh(self, request: _Request) -> Answer:
        data = request.json()
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise _error(400, "invalid_request", "the refresh token is missing from the body")
        if not hmac.compare_digest(token.encode(), ALOR_REFRESH_TOKEN.encode()):
            raise _error(401, "invalid_token", "unknown or revoked refresh token")
        wanted = data.get("allowedPortfolios")
        if wanted is None:
            portfolios = list(ALOR_PORTFOLIOS)
        elif isinstance(wanted, list) and all(isinstance(p, str) for p in wanted):
            unknown = [p for p in wanted if p not in ALOR_PORTFOLIOS]
            if unknown:
                raise _error(400, "invalid_request", f"unknown portfolio {unknown[0]}")
            portfolios = list(wanted)
        else:
            raise _error(400, "invalid_request", "allowedPortfolios must be a list of strings")
        access = self._access_token(
            "P039004",
            self.lifetime,
            portfolios=" ".join(portfolios),
            scope="OrdersRead OrdersCreate Trades Personal Stats",
        )
        return Answer(200, {"AccessToken": access})

    # -- TraderEvolution ------------------------------------------------------------------

    def _te_pair(self, session: _Session) -> Answer:
        access = self._access_token(session.subject, session.lifetime, session)
        refresh = self._rotate(session)
        body = {
            "accessToken": access,
            "refreshToken": refresh,
            "tokenType": "Bearer",
            "expiresIn": round(session.lifetime),
            "refreshExpiresIn": round(self.refresh_lifetime),
        }
        return Answer(200, body, dict(NO_STORE))

    def _te_sign_in(self, request: _Request, *, flaky: bool) -> Answer:
        login = _signed_in(request, _TE_USERS, "invalid_credentials", "wrong login or password")
        lifetime = self.short_lifetime if flaky else self.lifetime
        return self._te_pair(_Session("te", login, lifetime))

    def _te_refresh(self, request: _Request) -> Answer:
        token = request.headers.get("token")
        if not token:
            raise _error(401, "invalid_token", "the refresh token header `token` is missing")
        session = self._live_session(token, "te")
        if session is None:
            raise _error(401, "invalid_token", "unknown, used or expired refresh token")
        return self._te_pair(session)

    def _flaky(self, request: _Request) -> Answer:
        raise _error(
            503,
            "temporarily_unavailable",
            "the demo gateway is down for maintenance (it always is)",
            {"Retry-After": str(FLAKY_RETRY_AFTER)},
        )

    # -- Apirone --------------------------------------------------------------------------

    def _apirone_pair(self, session: _Session) -> Answer:
        access = self._access_token(session.subject, session.lifetime, session)
        refresh = self._rotate(session)
        body = {"login": session.subject, "access-token": access, "refresh-token": refresh}
        return Answer(200, body, dict(NO_STORE))

    def _apirone_login(self, request: _Request) -> Answer:
        login = _signed_in(request, _APIRONE_USERS, "unauthorized", "wrong login or transfer key")
        return self._apirone_pair(_Session("apirone", login, self.lifetime))

    def _apirone_refresh(self, request: _Request) -> Answer:
        session = self._live_session(request.bearer(), "apirone")
        if session is None:
            raise _error(
                401,
                "unauthorized",
                "unknown, used or expired refresh token",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return self._apirone_pair(session)

    def _apirone_logout(self, request: _Request) -> Answer:
        claims = self._check_access(request.bearer())
        session = self._sessions.get(str(claims.get("sid"))) if claims else None
        if session is None or session.kind != "apirone":
            raise _error(
                401,
                "unauthorized",
                "invalid or expired access token",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        self._end(session)
        return Answer(200, {})

    # -- OAuth 2.0 ------------------------------------------------------------------------

    def _authenticate(self, request: _Request, form: dict[str, str]) -> _Client:
        """RFC 6749 2.3: HTTP Basic or body parameters (never both); public clients by id."""
        header = request.headers.get("authorization", "")
        basic = header[:6].lower() == "basic "
        challenge = {"WWW-Authenticate": 'Basic realm="token-vault-demo"'} if basic else {}
        if basic:
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _oauth_error(
                    401, "invalid_client", "malformed Basic header", challenge
                ) from None
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                raise _oauth_error(401, "invalid_client", "malformed Basic header", challenge)
            if "client_secret" in form:
                raise _oauth_error(
                    400, "invalid_request", "more than one client authentication method"
                )
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            if form.get("client_id", client_id) != client_id:
                raise _oauth_error(400, "invalid_request", "client_id differs from Basic")
        else:
            client_id = form.get("client_id", "")
            secret = form.get("client_secret", "")
        client = _CLIENTS.get(client_id)
        if client is None:
            raise _oauth_error(401, "invalid_client", "unknown client", challenge)
        if client.secret is None:
            if secret:
                raise _oauth_error(401, "invalid_client", "a public client has no secret")
        elif not _matches(client.secret, secret):
            raise _oauth_error(401, "invalid_client", "client authentication failed", challenge)
        return client

    def _oauth_token(self, request: _Request) -> Answer:
        form = request.form()
        grant = form.get("grant_type")
        if not grant:
            raise _oauth_error(400, "invalid_request", "grant_type is missing")
        client = self._authenticate(request, form)
        if grant not in ("client_credentials", "password", "refresh_token"):
            raise _oauth_error(400, "unsupported_grant_type", f"grant {grant} is not supported")
        if grant not in client.grants:
            raise _oauth_error(400, "unauthorized_client", f"this client may not use {grant}")
        if grant == "client_credentials":
            scope = form.get("scope") or client.scope
            access = self._access_token(
                client.client_id, self.lifetime, client_id=client.client_id, scope=scope
            )
            return self._oauth_reply(access, self.lifetime, scope, None)
        if grant == "password":
            username, password = form.get("username"), form.get("password")
            if not username or password is None:
                raise _oauth_error(400, "invalid_request", "username and password are required")
            if not _matches(_OAUTH_USERS.get(username), password):
                raise _oauth_error(400, "invalid_grant", "wrong username or password")
            scope = form.get("scope") or client.scope
            session = _Session(
                "oauth", username, self.lifetime, client_id=client.client_id, scope=scope
            )
        else:
            token = form.get("refresh_token")
            if not token:
                raise _oauth_error(400, "invalid_request", "refresh_token is missing")
            found = self._live_session(token, "oauth")
            if found is None or found.client_id != client.client_id:
                raise _oauth_error(
                    400,
                    "invalid_grant",
                    "unknown, used or revoked refresh token (the session has ended)",
                )
            session = found
        access = self._access_token(session.subject, session.lifetime, session)
        refresh = self._rotate(session)
        return self._oauth_reply(access, session.lifetime, session.scope, refresh)

    def _oauth_reply(
        self, access: str, lifetime: float, scope: str | None, refresh: str | None
    ) -> Answer:
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": round(lifetime),
        }
        if refresh is not None:
            body["refresh_token"] = refresh
            body["refresh_token_expires_in"] = round(self.refresh_lifetime)
        if scope:
            body["scope"] = scope
        return Answer(200, body, dict(NO_STORE))

    def _oauth_revoke(self, request: _Request) -> Answer:
        """RFC 7009: 200 whether or not the token was known; a refresh token ends its session."""
        form = request.form()
        client = self._authenticate(request, form)
        token = form.get("token")
        if not token:
            raise _oauth_error(400, "invalid_request", "token is missing")
        session = self._live_session(token, "oauth")
        if session is not None and session.client_id == client.client_id:
            self._end(session)
            return Answer(200)
        claims = self._check_access(token)
        if claims is not None and claims.get("client_id") == client.client_id:
            self._revoked_jti.add(str(claims.get("jti")))
        return Answer(200)


def _signed_in(request: _Request, users: Mapping[str, str], code: str, complaint: str) -> str:
    """The login of a JSON {"login", "password"} body whose password matches; else the
    provider's 400 (missing) or 401 (wrong) answer."""
    data = request.json()
    login, password = data.get("login"), data.get("password")
    if not isinstance(login, str) or not isinstance(password, str) or not login:
        raise _error(400, "invalid_request", "login and password are required")
    if not _matches(users.get(login), password):
        raise _error(401, code, complaint)
    return login


def _matches(expected: str | None, given: str) -> bool:
    """Constant-time comparison; an unknown user never matches."""
    return expected is not None and hmac.compare_digest(expected.encode(), given.encode())


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a client that holds a connection open never blocks stop()

    def __init__(self, app: DemoServer) -> None:
        self.app = app
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr (a client hanging up, say): stay quiet.
        log.debug("demo server: a connection failed", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "TokenVaultDemo/1"
    sys_version = ""
    timeout = 10  # seconds a client may take to send its request

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        answer = self._read_and_answer()
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        if answer.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_and_answer(self) -> Answer:
        if self.headers.get("Transfer-Encoding"):
            return Answer(411, {"error": "length_required", "message": "send Content-Length"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return Answer(400, {"error": "invalid_request", "message": "bad Content-Length"})
        if length < 0 or length > MAX_BODY:
            return Answer(413, {"error": "too_large", "message": "the body is too large"})
        body = self.rfile.read(length) if length else b""
        app: DemoServer = self.server.app  # type: ignore[attr-defined]
        return app.handle(self.command, self.path, dict(self.headers.items()), body)

    def log_message(self, format: str, *args: Any) -> None:
        # BaseHTTPRequestHandler writes every request line to stderr; the demo stays quiet.
        return
