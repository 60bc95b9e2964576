"""A scriptable HTTP server on 127.0.0.1 for tests: each route answers with a canned reply or
misbehaves on purpose (status codes, delays, malformed JSON, dropping the connection after the
request arrived, never answering), and every request is recorded for wire-level assertions."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

# A hung reply waits for the server to stop, but never longer than this (a forgotten server).
HANG_LIMIT = 300.0
# Fault path that matches every route.
ANY_PATH = "*"

_Server = TypeVar("_Server", bound="FakeServer")


@dataclass
class Request:
    """One request as it arrived: `path` without the query, `target` exactly as sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, list[str]] = field(default_factory=dict)
    target: str = ""
    status: int | None = None  # what the server answered; None when dropped or hung
    fault: str = ""  # the fault that shaped the answer, if any

    def json(self) -> Any:
        """The body parsed as JSON (raises on a non-JSON body)."""
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """The body parsed as application/x-www-form-urlencoded."""
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower())


# Writes a whole raw HTTP response itself (status line, headers, body, timing); the event is
# set when the server stops, so a slow writer can give up.
Writer = Callable[[BufferedIOBase, threading.Event], None]


@dataclass
class Reply:
    """A canned answer; `action` "drop" closes without answering, "hang" never answers; a
    `writer` sends the raw response bytes itself (hostile framing, timing, no Date header)."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str = ""
    writer: Writer | None = None


Route = Callable[[Request], Reply]
# Shapes the answer to a request from the genuine reply (None when the route did not run).
Transform = Callable[[Request, "Reply | None"], Reply]

_HTML_PAGE = (
    "<html><head><title>{status} Error</title></head>"
    "<body><h1>{status} Error</h1><p>The upstream server misbehaved.</p></body></html>"
)


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour; build it with the class methods, arm it with inject()."""

    kind: str  # "reply", "malformed", "incomplete", "delay", "drop", "hang", "transform"
    reply: Reply | None = None
    delay: float = 0.0  # seconds to wait before answering
    after_processing: bool = False  # run the real handler first (state changes), then misbehave
    transform: Transform | None = None

    @classmethod
    def status(
        cls,
        code: int,
        body: bytes | str | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        after_processing: bool = False,
    ) -> Fault:
        """Answer `code` with `body` (default a small JSON error) instead of the real reply."""
        payload = body if body is not None else {"error": "fault", "message": f"HTTP {code}"}
        reply = Reply(code, payload, dict(headers or {}))
        return cls("reply", reply, delay, after_processing)

    @classmethod
    def server_error(cls, *, delay: float = 0.0, after_processing: bool = False) -> Fault:
        """500 with a JSON error body."""
        body = {"error": "server_error", "message": "Internal Server Error"}
        return cls.status(500, body, delay=delay, after_processing=after_processing)

    @classmethod
    def html(cls, code: int = 502, *, delay: float = 0.0, after_processing: bool = False) -> Fault:
        """An HTML error page (a proxy's 502 by default), Content-Type text/html."""
        page = _HTML_PAGE.format(status=code)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        return cls.status(code, page, headers, delay=delay, after_processing=after_processing)

    @classmethod
    def rate_limited(
        cls, retry_after: int | str = 7, *, delay: float = 0.0, after_processing: bool = False
    ) -> Fault:
        """429 with a Retry-After header (seconds or an HTTP date) and a JSON body."""
        body = {"error": "rate_limited", "message": "Too Many Requests"}
        headers = {"Retry-After": str(retry_after)}
        return cls.status(429, body, headers, delay=delay, after_processing=after_processing)

    @classmethod
    def unavailable(
        cls,
        retry_after: int | str | None = None,
        *,
        delay: float = 0.0,
        after_processing: bool = False,
    ) -> Fault:
        """503 with a JSON body and, when given, a Retry-After header."""
        body = {"error": "temporarily_unavailable", "message": "Service Unavailable"}
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls.status(503, body, headers, delay=delay, after_processing=after_processing)

    @classmethod
    def malformed_json(cls, *, delay: float = 0.0, after_processing: bool = False) -> Fault:
        """200, Content-Type application/json, a truncated JSON body."""
        reply = Reply(200, b'{"access_token": "eyJ', {"Content-Type": "application/json"})
        return cls("malformed", reply, delay, after_processing)

    @classmethod
    def incomplete(cls, *, delay: float = 0.0, after_processing: bool = False) -> Fault:
        """200 with valid JSON that lacks the token fields (the server decides the body)."""
        return cls("incomplete", None, delay, after_processing)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait `seconds`, then answer normally."""
        return cls("delay", None, seconds, False)

    @classmethod
    def drop(cls, *, delay: float = 0.0, after_processing: bool = False) -> Fault:
        """Read the whole request, then close the connection without any answer."""
        return cls("drop", None, delay, after_processing)

    @classmethod
    def hang(cls, *, after_processing: bool = False) -> Fault:
        """Read the whole request, then never answer (until the server stops)."""
        return cls("hang", None, 0.0, after_processing)

    @classmethod
    def transformed(cls, transform: Transform, *, after_processing: bool = True) -> Fault:
        """Answer with `transform(request, genuine)`: the genuine reply of the route (which
        ran, with its state changes, when `after_processing`) reshaped at will."""
        return cls("transform", None, 0.0, after_processing, transform)


@dataclass
class _Armed:
    fault: Fault
    remaining: int | None  # None: until cleared


class FakeServer:
    """Routes `(method, path)` to handlers; faults armed per path override them."""

    def __init__(self, tls: ssl.SSLContext | None = None, *, host: str = "127.0.0.1") -> None:
        self.host = host  # any loopback address: 127.0.0.0/8 or ::1
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Request] = []
        self.errors: list[str] = []  # exceptions raised by route handlers (a bug in a fake)
        self.lock = threading.RLock()  # held while a route handler runs
        self._faults: dict[str, list[_Armed]] = {}
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._tls = tls
        self._stack: ExitStack | None = None
        self.scheme = "http"

    # -- configuration -----------------------------------------------------------------------

    def route(self, method: str, path: str, handler: Route | Reply) -> None:
        """Answer `method path` with a handler or a fixed Reply."""
        self.routes[(method, path)] = handler if callable(handler) else (lambda _r: handler)

    def inject(self, path: str, fault: Fault, times: int | None = 1) -> None:
        """Apply `fault` to the next `times` requests to `path` (None: all, until cleared)."""
        with self.lock:
            self._faults.setdefault(path, []).append(_Armed(fault, times))

    def clear_faults(self, path: str | None = None) -> None:
        """Disarm the faults of `path`, or of every path."""
        with self.lock:
            if path is None:
                self._faults.clear()
            else:
                self._faults.pop(path, None)

    # -- inspection --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:41234."""
        assert self._httpd is not None, "server not running"
        host, port = self._httpd.server_address[:2]
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"{self.scheme}://{shown}:{port}"

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        """The recorded requests to `path` (and `method` when given)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.path == path and (method is None or r.method == method)
            ]

    # -- hooks for subclasses ----------------------------------------------------------------

    def now(self) -> float:
        """The server's clock: what its Date headers say (provider fakes can move it)."""
        return time.time()

    def guard(self, request: Request) -> Reply | None:
        """Called before faults and routes; a Reply here answers at once (default: none)."""
        return None

    def incomplete_reply(self, request: Request) -> Reply:
        """The body of an `incomplete` fault: valid JSON without token fields."""
        return Reply(200, {})

    # -- machinery ---------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        for key in (path, ANY_PATH):
            armed = self._faults.get(key)
            while armed:
                first = armed[0]
                if first.remaining is None:
                    return first.fault
                if first.remaining > 0:
                    first.remaining -= 1
                    if first.remaining == 0:
                        armed.pop(0)
                    return first.fault
                armed.pop(0)
        return None

    def _dispatch(self, request: Request) -> Reply:
        route = self.routes.get((request.method, request.path))
        if route is None:
            allowed = sorted(m for (m, p) in self.routes if p == request.path)
            if allowed:
                body = {"error": "method_not_allowed", "message": f"use {', '.join(allowed)}"}
                return Reply(405, body, {"Allow": ", ".join(allowed)})
            return Reply(404, {"error": "not_found", "message": f"no route {request.path}"})
        try:
            return route(request)
        except Exception as exc:  # a bug in a fake must be visible, not a hung test
            self.errors.append(f"{request.method} {request.path}: {exc!r}")
            return Reply(500, {"error": "fake_crashed", "message": repr(exc)})

    def _answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            guarded = self.guard(request)
            if guarded is not None:
                return guarded
            fault = self._take_fault(request.path)
            if fault is None:
                return self._dispatch(request)
            request.fault = fault.kind
            real = None
            if fault.after_processing or fault.kind == "delay":
                real = self._dispatch(request)
            if fault.kind == "incomplete":
                real = self.incomplete_reply(request)
            if fault.kind == "transform":
                assert fault.transform is not None
                try:
                    return fault.transform(request, real)
                except Exception as exc:  # a bug in a test's transform must be visible
                    self.errors.append(f"transform for {request.path}: {exc!r}")
                    return Reply(500, {"error": "fake_crashed", "message": repr(exc)})
        if fault.delay:
            self._release.wait(fault.delay)
        if fault.kind in ("drop", "hang"):
            return Reply(action=fault.kind)
        if fault.kind in ("delay", "incomplete"):
            assert real is not None
            return real
        assert fault.reply is not None
        return Reply(fault.reply.status, fault.reply.body, dict(fault.reply.headers))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        request = Request(
            method=handler.command,
            path=split.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=_read_body(handler),
            query=parse_qs(split.query, keep_blank_values=True),
            target=handler.path,
        )
        reply = self._answer(request)
        if reply.writer is not None:
            request.status = reply.status
            handler.close_connection = True
            try:
                reply.writer(handler.wfile, self._release)
                handler.wfile.flush()
            except OSError:
                pass  # the client gave up (a cap or a deadline): that is the point
            return
        if reply.action == "drop":
            handler.close_connection = True
            return
        if reply.action == "hang":
            self._release.wait(HANG_LIMIT)
            handler.close_connection = True
            return
        body = reply.body
        headers = dict(reply.headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        data = body.encode() if isinstance(body, str) else body
        request.status = reply.status
        handler.send_response_only(reply.status)
        handler.send_header("Server", handler.version_string())
        if not any(k.lower() == "date" for k in headers):  # a reply may bring its own Date
            handler.send_header("Date", handler.date_time_string())
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @contextmanager
    def running(self, tls: ssl.SSLContext | None = None) -> Iterator[FakeServer]:
        """Serve on 127.0.0.1 (a free port) in a background thread while the block runs."""
        server = self
        tls = tls if tls is not None else self._tls

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

            def do_PUT(self) -> None:
                server._handle(self)

            def do_PATCH(self) -> None:
                server._handle(self)

            def do_DELETE(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

            def date_time_string(self, timestamp: float | None = None) -> str:
                # The Date header comes from the same clock as the server's tokens.
                return super().date_time_string(server.now() if timestamp is None else timestamp)

        server_class = _IPv6Server if ":" in self.host else ThreadingHTTPServer
        httpd = server_class((self.host, 0), Handler)
        httpd.daemon_threads = True
        if tls is not None:
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
            self.scheme = "https"
        self._release = threading.Event()
        self._httpd = httpd
        thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._release.set()
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self: _Server) -> _Server:
        """Start serving (see running())."""
        self._stack = ExitStack()
        self._stack.enter_context(self.running())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving; hung and delayed replies are released."""
        assert self._stack is not None
        self._stack.close()
        self._stack = None


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, by Content-Length or chunked transfer coding."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""
