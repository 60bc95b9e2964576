"""Real proxies on 127.0.0.1 that record what passes through them: an HTTP forward proxy
(absolute-form requests and CONNECT tunnels, RFC 9110 section 9.3.6) and a SOCKS5 proxy
(RFC 1928, CONNECT with no authentication or RFC 1929 user/password).

Names the tests use (api.example.test) resolve through `routes` to loopback fakes, so a
request for a remote host really travels client -> proxy -> server on this machine only."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

_CHUNK = 65536


@dataclass
class Passage:
    """One connection through a proxy: where the client asked to go, and how."""

    via: str  # "connect", "forward", "socks5"
    host: str
    port: int
    request_line: str = ""  # forward: the request line as the proxy received it
    head: bytes = b""  # forward: the request's headers and body as far as read
    user: str | None = None  # socks5: the user name given, if any
    refused: str = ""  # why the proxy refused it ("" when it tunnelled)


@dataclass
class _Proxy:
    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    port: int = 0
    _sock: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, host: str, port: int, target: tuple[str, int]) -> None:
        """Send connections for host:port to `target` (a loopback address and port)."""
        self.routes[(host.lower(), port)] = target

    def _target(self, host: str, port: int) -> tuple[str, int] | None:
        return self.routes.get((host.lower(), port))

    def _record(self, passage: Passage) -> None:
        with self._lock:
            self.passages.append(passage)

    @property
    def url(self) -> str:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[_Proxy]:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(32)
        listener.settimeout(0.1)
        self._sock, self.port = listener, listener.getsockname()[1]
        self._stop.clear()
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(5)
            listener.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            conn.settimeout(30)
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn: socket.socket) -> None:
        try:
            with suppress(OSError):
                self._serve(conn)
        finally:
            conn.close()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes."""

        def one_way(src: socket.socket, dst: socket.socket) -> None:
            try:
                while not self._stop.is_set():
                    data = src.recv(_CHUNK)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    with suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=one_way, args=(upstream, client), daemon=True)
        back.start()
        one_way(client, upstream)
        back.join(30)
        upstream.close()


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(_CHUNK)
        if not piece:
            break
        data += piece
    return data


class HttpProxy(_Proxy):
    """An HTTP forward proxy: CONNECT tunnels, and absolute-form requests forwarded as they
    came (so a test sees what a proxy would see in clear)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        data = _read_head(conn)
        line, _, rest = data.partition(b"\r\n")
        parts = line.decode("latin-1").split(" ")
        if len(parts) != 3:
            return
        method, target, _version = parts
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            passage = Passage("connect", host.strip("[]"), int(port_text))
            destination = self._target(passage.host, passage.port)
            if destination is None:
                passage.refused = "no route"
                self._record(passage)
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            self._record(passage)
            upstream = socket.create_connection(destination, timeout=30)
            conn.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            self._pipe(conn, upstream)
            return
        # Absolute form: http://host:port/path
        without = target.split("://", 1)[-1]
        authority, _, path = without.partition("/")
        host, _, port_text = (
            authority.rpartition(":") if ":" in authority else (authority, "", "80")
        )
        passage = Passage(
            "forward", host.strip("[]"), int(port_text or 80), line.decode("latin-1"), rest
        )
        self._record(passage)
        destination = self._target(passage.host, passage.port)
        if destination is None:
            passage.refused = "no route"
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(destination, timeout=30)
        upstream.sendall(f"{method} /{path} HTTP/1.1\r\n".encode() + rest)
        self._pipe(conn, upstream)


class Socks5Proxy(_Proxy):
    """A SOCKS5 proxy (RFC 1928) for CONNECT; with `credentials` it demands RFC 1929
    user/password authentication."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def _recv(self, conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            piece = conn.recv(size - len(data))
            if not piece:
                raise OSError("client went away")
            data += piece
        return data

    def _serve(self, conn: socket.socket) -> None:
        version, count = self._recv(conn, 2)
        if version != 5:
            return
        methods = self._recv(conn, count)
        user = None
        if self.credentials is not None:
            if 2 not in methods:
                conn.sendall(b"\x05\xff")
                return
            conn.sendall(b"\x05\x02")
            _, length = self._recv(conn, 2)
            user = self._recv(conn, length).decode()
            (length,) = self._recv(conn, 1)
            password = self._recv(conn, length).decode()
            ok = (user, password) == self.credentials
            conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        else:
            if 0 not in methods:
                conn.sendall(b"\x05\xff")
                return
            conn.sendall(b"\x05\x00")
        _, command, _, kind = self._recv(conn, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, self._recv(conn, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, self._recv(conn, 16))
        else:
            (length,) = self._recv(conn, 1)
            host = self._recv(conn, length).decode()
        (port,) = struct.unpack("!H", self._recv(conn, 2))
        passage = Passage("socks5", host, port, user=user)
        destination = self._target(host, port)
        if command != 1 or destination is None:
            passage.refused = "no route" if destination is None else "not CONNECT"
            self._record(passage)
            conn.sendall(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
            return
        self._record(passage)
        upstream = socket.create_connection(destination, timeout=30)
        conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
        self._pipe(conn, upstream)
