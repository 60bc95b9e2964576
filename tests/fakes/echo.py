"""An upstream API on 127.0.0.1 for the proxy tests: it answers every request with what it
received (method, path, query, headers, body size and SHA-256) and misbehaves on request:

- a token in `rejected` gets 401 (every token does while `reject_all` is set);
- a path ending in `/hang` never answers (until the server stops);
- a path ending in `/redirect` answers 302 to another host; `/redirect-same` to a URL of this
  upstream, `/redirect-path` to an absolute path of it (both `/base/landing?from=1`);
- a path ending in `/set-cookie` answers with a session cookie;
- a path ending in `/both-framings` answers with a Content-Length beside a chunked body
  (RFC 9112 section 6.3: the chunked framing wins) whose length differs from it;
- a path ending in `/drip-head` sends its status line, then one byte of a header every
  DRIP seconds, never ending the head (until the server stops);
- a path ending in `/download` with `?size=N` streams N bytes; with `&gate=1` it sends the
  first chunk, then waits for
  `download_gate` (the test sets it once that chunk came through the proxy);
- every request body is read as it arrives (Content-Length or chunked): `first_chunk` is set
  once the first piece of a body is here, before the rest is read.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024
WAIT = 60.0  # the longest any scripted wait lasts (a forgotten test must not hang forever)
DRIP = 0.05  # seconds between the bytes of a dripping reply head


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body_size: int = 0
    body_sha256: str = ""

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class EchoUpstream:
    rejected: set[str] = field(default_factory=set)
    reject_all: bool = False
    seen: list[Seen] = field(default_factory=list)
    first_chunk: threading.Event = field(default_factory=threading.Event)
    download_gate: threading.Event = field(default_factory=threading.Event)
    gate_opened_in_time: bool | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> EchoUpstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    self.close_connection = True
                    return
                upstream._handle(self)
                self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release.set()
        self.download_gate.set()
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    # -- handling ---------------------------------------------------------------------------

    def _read_body(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        digest = hashlib.sha256()

        def take(data: bytes) -> None:
            if data:
                digest.update(data)
                seen.body_size += len(data)
                self.first_chunk.set()

        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                left = size
                while left:
                    data = handler.rfile.read(min(left, CHUNK))
                    if not data:
                        raise ConnectionError("body cut short")
                    take(data)
                    left -= len(data)
                handler.rfile.readline()
        else:
            left = int(handler.headers.get("Content-Length") or 0)
            while left:
                data = handler.rfile.read1(min(left, CHUNK))
                if not data:
                    raise ConnectionError("body cut short")
                take(data)
                left -= len(data)
        seen.body_sha256 = digest.hexdigest()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        seen = Seen(handler.command, handler.path, list(handler.headers.items()))
        with self._lock:
            self.seen.append(seen)
        self._read_body(handler, seen)
        parts = urlsplit(handler.path)
        auth = " ".join(seen.all("Authorization") + seen.all("X-Api-Key"))
        if self.reject_all or any(token and token in auth for token in self.rejected):
            self._json(handler, 401, {"error": "invalid_token"})
        elif parts.path.endswith("/hang"):
            self._release.wait(WAIT)
            handler.close_connection = True
        elif parts.path.endswith(("/redirect-same", "/redirect-path")):
            origin = self.url if parts.path.endswith("/redirect-same") else ""
            handler.send_response(302)
            handler.send_header("Location", f"{origin}/base/landing?from=1")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif parts.path.endswith("/redirect"):
            handler.send_response(302)
            handler.send_header("Location", "http://elsewhere.invalid/landing")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif parts.path.endswith("/both-framings"):
            handler.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n"
            )
        elif parts.path.endswith("/drip-head"):
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            handler.wfile.flush()
            while not self._release.wait(DRIP):
                handler.wfile.write(b"z")
                handler.wfile.flush()
            handler.close_connection = True
        elif parts.path.endswith("/set-cookie"):
            body = b"{}"
            handler.send_response(200)
            handler.send_header("Set-Cookie", "session=upstream-session-0001; Path=/")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        elif parts.path.endswith("/download"):
            query = parse_qs(parts.query)
            self._download(handler, int(query["size"][0]), "gate" in query)
        else:
            self._json(
                handler,
                200,
                {
                    "method": seen.method,
                    "target": seen.target,
                    "headers": seen.headers,
                    "body_size": seen.body_size,
                    "body_sha256": seen.body_sha256,
                },
            )

    def _json(self, handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _download(self, handler: BaseHTTPRequestHandler, size: int, gated: bool) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        sent = 0
        block = bytes(range(256)) * (CHUNK // 256)
        while sent < size:
            piece = block[: min(CHUNK, size - sent)]
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            handler.wfile.flush()
            sent += len(piece)
            if gated and self.gate_opened_in_time is None:
                self.gate_opened_in_time = self.download_gate.wait(WAIT)
        handler.wfile.write(b"0\r\n\r\n")


def download_digest(size: int) -> str:
    """The SHA-256 of what `/download?size=N` sends."""
    block = bytes(range(256)) * (CHUNK // 256)
    digest = hashlib.sha256()
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        digest.update(piece)
        sent += len(piece)
    return digest.hexdigest()
