"""The local reverse proxy: `http://127.0.0.1:PORT/PATH` is forwarded to `UPSTREAM/PATH` with
the account's fresh header added, so curl, Postman or HTTPie never hold a token.

What it guarantees (issue 13, DESIGN.md section 7):
- It listens on a loopback address only, and answers only requests that carry its own random
  key in `X-Token-Vault-Key`. Any web page can send requests to loopback, but a browser adds a
  custom header only after a CORS preflight, and the proxy refuses every preflight and every
  request with an `Origin` header. A `Host` that is not a loopback name or address is refused
  too: a page that rebinds its DNS name to 127.0.0.1 still sends its own name as Host.
- Anyone on the machine can connect, key or not: a connection's first request head must be
  all there within HEAD_TIMEOUT seconds however slowly it trickles in, and at MAX_CONNECTIONS
  the oldest connection still to send one is closed to make room (slowloris).
- A request target is only ever a path below the upstream's base: absolute-form, CONNECT, a
  fragment or a dot segment (`..` in any spelling) is refused (400), and so is a request
  framed both by Content-Length and Transfer-Encoding (RFC 9112 section 6.1, smuggling).
- It never forwards its key header, drops a client's own header of the account's name, and
  injects `Authorization: Bearer TOKEN` (or a static key's own header name and scheme).
- Bodies stream both ways in chunks of at most CHUNK bytes; nothing buffers a whole body,
  except that a request body of at most REPLAY_LIMIT bytes of an idempotent method (RFC 9110
  section 9.2.2) is kept so the request can be repeated.
- A 401 from the upstream refreshes the token once (unless the token it rejected came from
  such a refresh, or such a refresh failed, in the last REFRESH_COOLDOWN seconds) and repeats
  the request once when it can be repeated; a POST, PATCH or a streamed body is never
  repeated: its 401 goes back as it came, and the client's own retry carries the new token.
- Redirects are passed back (3xx with their Location), never followed: the token never goes
  to another host. A Location into the upstream's base is said in the proxy's terms, so a
  client that follows it comes back through the proxy.
- The upstream must send its whole reply head within the deadline (default 30 s) of the
  request's end, else 504; it cannot be reached: 502. The token must come within the
  deadline too (the running app frozen, a keyring prompt), else 502. A reply framed by both
  Transfer-Encoding and Content-Length goes on by its chunks, without that Content-Length.
  Each request is logged as method, path (never the query) and status, with no header values.

Built on h11 (the HTTP/1.1 parser httpx itself uses, sans-IO, strict about framing) over
asyncio streams for the client side, and httpx for the upstream (TLS verification on, proxies
from the environment except for loopback, as core/http.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import h11

from vault_app.core.errors import TransientError, UsageError, UserFacingError
from vault_app.core.providers.base import check_url
from vault_app.core.proxy_env import is_loopback_host
from vault_app.core.redact import redact, register
from vault_app.service.sources import Credential, TokenSource

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("vault_app.proxy")

KEY_HEADER = "X-Token-Vault-Key"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
REPLAY_LIMIT = 64 * 1024  # bytes of request body kept for a repeat after a 401
CHUNK = 64 * 1024
MAX_HEAD = 64 * 1024  # request line and headers
MIN_VALID = 30.0  # seconds a token must still be valid when it is sent
CACHE_SECONDS = 10.0  # how long a credential is reused without asking its source again
REFRESH_COOLDOWN = 30.0
DEFAULT_DEADLINE = 30.0
IDLE_TIMEOUT = 60.0  # seconds a client connection may sit between requests
HEAD_TIMEOUT = 10.0  # seconds from a connection to the end of its first request head
MAX_CONNECTIONS = 256  # client connections at once (each a file descriptor of the app)
CONNECT_TIMEOUT = 10.0

# RFC 9110 section 7.6.1, plus the ones this proxy owns or sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)


@dataclass(frozen=True)
class ProxyConfig:
    """What one proxy serves: an account, an upstream base URL, a loopback address, its key."""

    account: str
    upstream: str  # scheme://host[:port][/base path] (a trailing slash changes nothing)
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    deadline: float = DEFAULT_DEADLINE  # seconds for the upstream's reply head
    key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

    @classmethod
    def make(
        cls,
        account: str,
        upstream: str,
        listen: str | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> ProxyConfig:
        """Checked settings; UsageError naming what is wrong."""
        host, port = parse_listen(listen or "127.0.0.1:0")
        if not 0 < deadline <= 3600:
            raise UsageError("the upstream deadline must be from 0 to 3600 seconds")
        return cls(account, parse_upstream(upstream), host, port, deadline)


def parse_upstream(text: str) -> str:
    """The upstream base URL as every account URL is checked (core/providers/base.py
    check_url): https (plain http only to loopback), no credentials, query, fragment, spaces
    or control characters; UsageError otherwise."""
    return check_url("--upstream", text.strip())


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[::1]:PORT`, `localhost:PORT` or `PORT` (on 127.0.0.1): a loopback
    address only; UsageError otherwise."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", text.strip()
    host = host.strip("[]") or "127.0.0.1"
    if host.lower() == "localhost":
        host = "127.0.0.1"  # not resolved: a hosts file could point it anywhere
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--listen: {host!r} is not an IP address (use 127.0.0.1)") from None
    if not address.is_loopback:
        raise UsageError(
            f"--listen: {host} is not a loopback address; the proxy binds loopback only"
        )
    if not (port_text.isascii() and port_text.isdigit()) or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--listen: {port_text!r} is not a port number")
    return str(address), int(port_text)


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _ClientGone(Exception):
    """The client stopped sending (closed, broke the framing, or stalled)."""


class LocalProxy:
    """One running proxy for one account. start() binds; stop() ends it and its connections."""

    def __init__(
        self,
        config: ProxyConfig,
        source: TokenSource,
        *,
        ca_bundle: str | None = None,
        activity: Callable[[], None] | None = None,
    ):
        self.config = config
        self.source = source
        self.ca_bundle = ca_bundle
        self.activity = activity  # called after each request (the window's collector)
        self.port = config.port
        self.requests = 0  # forwarded upstream (a repeat after a 401 counts again)
        self.refreshes = 0  # refreshes asked for after a 401
        self._server: asyncio.AbstractServer | None = None
        self._transport: httpx.AsyncHTTPTransport | None = None
        self._timeouts: dict[str, float] = {}
        self._connections: set[asyncio.Task[None]] = set()
        # Connections still to send a whole first head, oldest first (dicts keep order).
        self._unheard: dict[asyncio.Task[None], None] = {}
        self._current: Credential | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        # The last refresh a 401 asked for: the token it gave (the rejected one when it
        # failed) and when; a 401 for that token within REFRESH_COOLDOWN asks for none.
        self._refreshed: tuple[str, float] | None = None
        self._base: httpx.URL  # the upstream, parsed once (start)
        self._prefix = b""  # its path, without a trailing slash
        register([config.key])

    @property
    def address(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        import httpx

        # Every request goes to this base with the client's path and query appended: the
        # host is always the upstream's (a target is only ever a path, see _check).
        self._base = httpx.URL(self.config.upstream)
        self._prefix = self._base.raw_path.split(b"?", 1)[0].rstrip(b"/")
        deadline = self.config.deadline
        connect = min(CONNECT_TIMEOUT, deadline)
        self._timeouts = {"connect": connect, "read": deadline, "write": deadline, "pool": connect}
        self._transport = await asyncio.to_thread(self._make_transport)
        try:
            self._server = await asyncio.start_server(
                self._connection, self.config.host, self.config.port, limit=MAX_HEAD
            )
        except OSError as exc:
            await self._transport.aclose()
            raise UserFacingError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("%s: proxy on %s -> %s", self.config.account, self.address, self.config.upstream)

    def _make_transport(self) -> httpx.AsyncHTTPTransport:
        """The connection pool to the upstream. httpx's transport rather than its Client: the
        Client's per-request work (merging defaults, cookies, auth and redirect handling) is a
        third of a proxied request's time, and a proxy wants none of it: no cookie jar to
        carry one client's session into another's requests, no redirects to follow."""
        import httpx

        verify: ssl.SSLContext | bool = True
        if self.ca_bundle:
            try:
                verify = ssl.create_default_context(cafile=self.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise UserFacingError(f"cannot use CA bundle {self.ca_bundle}: {exc}") from None
        return httpx.AsyncHTTPTransport(
            verify=verify, trust_env=True, proxy=_environment_proxy(self._base)
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None
        await self.source.aclose()

    # -- credentials ----------------------------------------------------------------------

    async def _credential(self) -> Credential:
        current = self._current
        if current is not None and self._reusable(current):
            return current
        async with self._lock:
            current = self._current
            if current is not None and self._reusable(current):
                return current
            fresh = await self._ask(force=False)
            self._keep(fresh)
            return fresh

    async def _ask(self, *, force: bool) -> Credential:
        """The source's credential within the deadline, else TransientError: a source that
        stopped answering (the running app frozen, a keyring behind an unlock prompt) costs
        a request its deadline, not the source's own minutes. The source's work goes on
        unhurried (shielded): cancelling a refresh after the server rotated the token
        would lose the new one."""
        asked = asyncio.ensure_future(self.source.credential(min_valid=MIN_VALID, force=force))
        asked.add_done_callback(_quietly)
        try:
            return await asyncio.wait_for(asyncio.shield(asked), self.config.deadline)
        except asyncio.TimeoutError:
            raise TransientError(f"no token within {self.config.deadline:g} s") from None

    def _reusable(self, credential: Credential) -> bool:
        return time.monotonic() - self._fetched_at < CACHE_SECONDS and credential.valid_for(
            MIN_VALID
        )

    def _keep(self, credential: Credential) -> None:
        register([credential.access_token], owner=f"proxy:{id(self)}")
        self._current = credential
        self._fetched_at = time.monotonic()

    async def _after_401(self, rejected: Credential) -> Credential | None:
        """A credential to try instead of one the upstream rejected: a newer one another
        request got meanwhile, or a refreshed one; None when refreshing again is pointless
        (it came from such a refresh moments ago, or such a refresh failed moments ago) or
        failed."""
        async with self._lock:
            current = self._current
            if current is not None and current.access_token != rejected.access_token:
                return current
            if self._refreshed is not None:
                token, when = self._refreshed
                if token == rejected.access_token and time.monotonic() - when < REFRESH_COOLDOWN:
                    return None
            self.refreshes += 1
            try:
                fresh = await self._ask(force=True)
            except UserFacingError as exc:
                log.warning("%s: refresh after a 401 failed: %s", self.config.account, exc.message)
                # Failing now, it would fail for the next 401 too: a client retrying in a
                # loop must not become a loop of requests to the token endpoint.
                self._refreshed = (rejected.access_token, time.monotonic())
                return None
            self._keep(fresh)
            self._refreshed = (fresh.access_token, time.monotonic())
            return fresh

    # -- connections ----------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._connections) >= MAX_CONNECTIONS and not self._make_room():
            writer.close()  # every connection is busy with a request: no room for one more
            return
        self._connections.add(task)
        self._unheard[task] = None
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        reported = False
        try:
            while True:
                try:
                    if task in self._unheard:
                        # Anyone on this machine can connect: the first head must be all
                        # there soon, however slowly it trickles in. Only a client that
                        # passed _check gets a second cycle, and the idle timeout.
                        event = await asyncio.wait_for(
                            self._next(conn, reader, HEAD_TIMEOUT), HEAD_TIMEOUT
                        )
                        del self._unheard[task]
                    else:
                        event = await self._next(conn, reader, IDLE_TIMEOUT)
                except (_ClientGone, asyncio.TimeoutError):
                    break
                if not isinstance(event, h11.Request):
                    break
                await self._exchange(conn, event, reader, writer)
                if self.activity is not None:
                    self.activity()
                    reported = True
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                else:
                    break
        except h11.RemoteProtocolError as exc:
            with contextlib.suppress(Exception):
                await self._plain(conn, writer, exc.error_status_hint, "malformed HTTP request")
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("%s: proxy connection failed", self.config.account)
        finally:
            self._connections.discard(task)
            self._unheard.pop(task, None)
            # A connection with no request answered (gone at once, malformed, timed out)
            # leaves garbage too: a client looping on those must not go without looks.
            if not reported and self.activity is not None:
                self.activity()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _make_room(self) -> bool:
        """Close the oldest connection still to send its first head; False when none is."""
        for task in self._unheard:
            del self._unheard[task]
            self._connections.discard(task)
            task.cancel()
            return True
        return False

    async def _next(
        self, conn: h11.Connection, reader: asyncio.StreamReader, timeout: float
    ) -> h11.Event | type[h11.PAUSED] | type[h11.NEED_DATA]:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await asyncio.wait_for(reader.read(CHUNK), timeout)
            except (asyncio.TimeoutError, ConnectionError):
                raise _ClientGone from None
            conn.receive_data(data)

    async def _plain(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int, text: str
    ) -> None:
        """A short text/plain answer that ends the connection."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = (text + "\n").encode("utf-8")
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("Cache-Control", "no-store"),
        ]
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    def _check(self, request: h11.Request) -> httpx.URL:
        """The upstream URL the request goes to; _Refused unless it may pass (see the module
        docstring)."""
        headers = {}
        keys = []
        for name, value in request.headers:
            headers[bytes(name)] = bytes(value)
            if name == b"x-token-vault-key":
                keys.append(bytes(value))
        if b"origin" in headers:
            raise _Refused(403, "refused: requests from web pages (Origin) are not served")
        if request.method == b"OPTIONS" and b"access-control-request-method" in headers:
            raise _Refused(403, "refused: CORS preflight requests are not served")
        host = headers.get(b"host", b"").decode("latin-1")
        if not _loopback_host(host):
            raise _Refused(403, "refused: the Host is not a loopback address (DNS rebinding?)")
        expected = self.config.key.encode("ascii")
        if len(keys) != 1 or not hmac.compare_digest(keys[0], expected):
            raise _Refused(403, f"refused: missing or wrong {KEY_HEADER} header")
        if request.method == b"CONNECT" or not request.target.startswith(b"/"):
            raise _Refused(400, "this is a reverse proxy: send origin-form targets (/path)")
        if b"#" in request.target:
            raise _Refused(400, "a request target carries no fragment (#)")
        if _dot_segments(request.target):
            raise _Refused(
                400, "the path holds a dot segment (. or ..), which would leave the upstream's base"
            )
        if b"transfer-encoding" in headers and b"content-length" in headers:
            # RFC 9112 section 6.1: the two framings disagree; a proxy that picked one and
            # passed the other on would frame the request differently upstream (smuggling).
            raise _Refused(400, "a request with both Content-Length and Transfer-Encoding")
        import httpx

        try:
            return self._base.copy_with(raw_path=self._prefix + request.target)
        except httpx.InvalidURL as exc:
            raise _Refused(400, f"the request target cannot be forwarded ({exc})") from None

    async def _exchange(
        self,
        conn: h11.Connection,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        started = time.perf_counter()
        method = request.method.decode("ascii")
        path = request.target.split(b"?", 1)[0].decode("latin-1")
        try:
            url = self._check(request)
        except _Refused as refused:
            log.warning(
                "%s: %s %s -> %d (%s)",
                self.config.account,
                method,
                path,
                refused.status,
                refused.reason,
            )
            await self._plain(conn, writer, refused.status, refused.reason)
            return
        try:
            credential = await self._credential()
        except UserFacingError as exc:
            message = redact(exc.message)
            log.warning("%s: %s %s -> 502 (%s)", self.config.account, method, path, message)
            await self._plain(conn, writer, 502, f"token-vault: {self.config.account}: {message}")
            return
        length = _content_length(request)
        chunked = any(n == b"transfer-encoding" for n, _ in request.headers)
        body: bytes | None = None
        if not chunked and (length or 0) <= REPLAY_LIMIT:
            try:
                body = b"".join([c async for c in self._body(conn, reader, writer)])
            except _ClientGone:
                return
        repeatable = body is not None and method in IDEMPOTENT
        note = ""
        try:
            response = await self._send(request, url, credential, body, conn, reader, writer)
            if response.status_code == 401:
                fresh = await self._after_401(credential)
                if fresh is not None and repeatable:
                    await response.aclose()
                    response = await self._send(request, url, fresh, body, conn, reader, writer)
                    note = " (repeated after a refresh)"
                elif fresh is not None:
                    note = " (token refreshed for the next request)"
        except _Upstream as trouble:
            log.warning(
                "%s: %s %s -> %d (%s)",
                self.config.account,
                method,
                path,
                trouble.status,
                trouble.reason,
            )
            await self._plain(conn, writer, trouble.status, f"token-vault: {trouble.reason}")
            return
        except _ClientGone:
            return
        try:
            await self._relay(conn, response, writer)
        finally:
            await response.aclose()
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "%s: %s %s -> %d%s %.0f ms",
            self.config.account,
            method,
            path,
            response.status_code,
            note,
            elapsed,
        )

    async def _body(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> AsyncIterator[bytes]:
        """The client's request body as it arrives."""
        if conn.client_is_waiting_for_100_continue:
            writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        while True:
            event = await self._next(conn, reader, self.config.deadline)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise _ClientGone

    async def _send(
        self,
        request: h11.Request,
        url: httpx.URL,
        credential: Credential,
        body: bytes | None,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> httpx.Response:
        import httpx

        assert self._transport is not None
        self.requests += 1
        sent = asyncio.Event()  # the whole body has gone upstream
        upstream = httpx.Request(
            request.method.decode("ascii"),
            url,
            headers=_forwarded(request, credential, streamed=body is None),
            content=body if body is not None else self._streamed(conn, reader, writer, sent),
            extensions={"timeout": self._timeouts},
        )
        sending = asyncio.ensure_future(self._transport.handle_async_request(upstream))
        try:
            if body is None:
                # A streamed body takes as long as its client takes to send it (each piece
                # within the deadline); the deadline for the answer counts from its end.
                # httpcore reads the reply only once the body is out.
                ended = asyncio.ensure_future(sent.wait())
                try:
                    await asyncio.wait({sending, ended}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ended.cancel()
            # The reply head within the deadline: httpx's own timeouts are per read, and an
            # upstream that drips its head a byte at a time would never meet one.
            return await asyncio.wait_for(sending, self.config.deadline)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise _Upstream(
                504, f"the upstream did not answer within {self.config.deadline:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise _Upstream(502, f"the upstream cannot be reached ({type(exc).__name__})") from None
        finally:
            if not sending.done():
                sending.cancel()

    async def _streamed(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sent: asyncio.Event,
    ) -> AsyncIterator[bytes]:
        """The client's body as _body gives it; `sent` is set once all of it went out."""
        async for chunk in self._body(conn, reader, writer):
            yield chunk
        sent.set()

    def _local_location(self, value: bytes) -> bytes:
        """A Location header (RFC 9110 section 10.2.2) in the proxy's terms when it points
        into the upstream's base, as a URL of the upstream or an absolute path: a client that
        follows it comes back through the proxy to the same place, with the token added
        again. Anything else (another host, a path outside the base, a relative reference,
        which resolves against the client's own URL) goes back as it came."""
        import httpx

        try:
            text = value.decode("ascii")
            target = httpx.URL(text)
        except (UnicodeDecodeError, httpx.InvalidURL):
            return value
        if target.is_absolute_url:
            origin = (target.scheme, target.host, target.port)
            if origin != (self._base.scheme, self._base.host, self._base.port):
                return value
            start = self.address.encode("ascii")
        elif text.startswith("/") and not text.startswith("//"):
            start = b""
        else:
            return value
        path = target.raw_path  # with the query
        rest = path[len(self._prefix) :]
        if not path.startswith(self._prefix) or rest[:1] not in (b"", b"/", b"?"):
            return value
        if not rest.startswith(b"/"):
            rest = b"/" + rest
        fragment = f"#{target.fragment}".encode("ascii") if target.fragment else b""
        return start + rest + fragment

    async def _relay(
        self, conn: h11.Connection, response: httpx.Response, writer: asyncio.StreamWriter
    ) -> None:
        """The upstream's answer to the client, its body streamed chunk by chunk."""
        import httpx

        dropped = HOP_BY_HOP | _connection_tokens(response.headers.get_list("connection"))
        if "transfer-encoding" in response.headers:
            # RFC 9112 section 6.3: the body was framed by its chunks, and is sent on framed
            # anew; a Content-Length beside them is not its length.
            dropped |= {"content-length"}
        headers = [
            (name, self._local_location(value) if name.lower() == b"location" else value)
            for name, value in response.headers.raw
            if name.lower().decode("latin-1") not in dropped
        ]
        writer.write(
            conn.send(
                h11.Response(
                    status_code=response.status_code,
                    headers=headers,
                    reason=response.reason_phrase.encode("latin-1", "replace"),
                )
            )
        )
        try:
            async for chunk in response.aiter_raw(CHUNK):
                data = conn.send(h11.Data(data=chunk))
                if data:
                    writer.write(data)
                    await writer.drain()
        except httpx.HTTPError as exc:
            # The head is out: all that is left is to cut the connection, so the client sees
            # a truncated body rather than a complete-looking one.
            log.warning(
                "%s: the upstream reply broke off (%s)", self.config.account, type(exc).__name__
            )
            conn.send_failed()
            return
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


class _Upstream(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _loopback_host(host: str) -> bool:
    """Whether a Host header names loopback: `localhost`, `127.x.y.z` or `[::1]`, any port."""
    host = host.strip()
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return False
        port = rest[1:]
    else:
        name, _, port = host.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return False
    return is_loopback_host(name) if name else False


def _quietly(done: asyncio.Future[Credential]) -> None:
    """Retrieve the outcome of a source's answer nobody waited for any more (asyncio would
    log it as never retrieved; the proxy logged the timeout already)."""
    if not done.cancelled():
        done.exception()


def _dot_segments(target: bytes) -> bool:
    """Whether the path of a request target holds a `.` or `..` segment in any spelling an
    upstream may decode (percent-encoded dots or slashes, backslashes as on Windows servers):
    resolved there or by httpx (RFC 3986 section 5.2.4), one would leave the base path."""
    from urllib.parse import unquote_to_bytes

    path = unquote_to_bytes(target.split(b"?", 1)[0]).replace(b"\\", b"/")
    return any(segment in (b".", b"..") for segment in path.split(b"/"))


def _environment_proxy(upstream: httpx.URL) -> str | None:
    """The proxy the environment names for the upstream, read as every request of the app
    reads it (core/proxy_env.py: never for loopback); UserFacingError for a setting that
    cannot be used."""
    from vault_app.core.proxy_env import ProxyEnvironment, ProxyProblem

    try:
        return ProxyEnvironment.from_environ().proxy_for(str(upstream))
    except ProxyProblem as exc:
        raise UserFacingError(str(exc)) from None


def _content_length(request: h11.Request) -> int | None:
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return None


def _connection_tokens(values: list[str]) -> frozenset[str]:
    return frozenset(t.strip().lower() for v in values for t in v.split(",") if t.strip())


def _forwarded(
    request: h11.Request, credential: Credential, *, streamed: bool
) -> list[tuple[bytes, bytes]]:
    """The client's headers minus hop-by-hop ones, Host, the key and the account's own header;
    then the account's header. Content-Length goes on for a streamed body of known length."""
    listed = _connection_tokens(
        [bytes(v).decode("latin-1") for n, v in request.headers if n == b"connection"]
    )
    own = credential.header_name.lower()
    dropped = HOP_BY_HOP | listed | {"host", KEY_HEADER.lower(), own, "content-length"}
    out = [(bytes(n), bytes(v)) for n, v in request.headers if n.decode("latin-1") not in dropped]
    if streamed:
        length = _content_length(request)
        if length is not None:
            out.append((b"Content-Length", str(length).encode()))
    out.append(
        (credential.header_name.encode("latin-1"), credential.header_value.encode("latin-1"))
    )
    return out
