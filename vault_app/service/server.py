"""The CLI socket's server: a Unix socket in this user's private runtime folder (paths.py),
speaking protocol.py, on the running app's event loop.

- One server per vault: it holds an exclusive lock (flock) on `<key>.lock` while it serves, so
  a socket file found by a server that got the lock is stale (its app was killed) and replaced;
  a second app of the same vault finds the lock taken and does not serve.
- Every connection's peer uid is read with SO_PEERCRED and must be ours; another user's
  connection gets a `forbidden` reply and is closed, whatever the folder's permissions are.
- A request must arrive within READ_TIMEOUT seconds and fit in protocol.MAX_REQUEST bytes; a
  malformed, oversized or unknown one gets a one-line error reply. The work itself is bounded
  by REQUEST_DEADLINE seconds.

Linux only for now: systems without SO_PEERCRED (macOS, the BSDs) and Windows (a named pipe
with the user's ACL would be its equivalent) get ServiceUnavailableError, and the app works
there as before, without a socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from vault_app.core.errors import UserFacingError
from vault_app.core.redact import redact
from vault_app.service import paths, protocol

log = logging.getLogger(__name__)

READ_TIMEOUT = 10.0  # seconds for a connected client to send its request line
REQUEST_DEADLINE = 120.0  # seconds for the work (a refresh may wait on the account lock)
MAX_CONNECTIONS = 128
SKIP_TIMEOUT = 1.0  # seconds a refused client has to finish sending its request

Handler = Callable[[protocol.Request], Awaitable[dict[str, Any]]]


class ServiceUnavailableError(UserFacingError):
    """The socket cannot be served here (platform, folder, another app serving the vault)."""


def supported() -> str | None:
    """None when this system can serve the socket; otherwise why not."""
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return "the CLI socket is not implemented on Windows"
    if not hasattr(socket, "SO_PEERCRED"):
        return "the CLI socket needs SO_PEERCRED to check its peers (Linux)"
    return None


class SocketServer:
    """Serves one vault's socket; `handler` answers parsed requests with a reply's fields."""

    def __init__(
        self, home: Path, handler: Handler, activity: Callable[[], None] | None = None
    ) -> None:
        self.home = home
        self.handler = handler
        # Called when a connection ends whose request never reached `handler` (refused,
        # busy, malformed, gone): the window's collector looks then too (gui/collector.py).
        self.activity = activity
        self._handled: set[asyncio.Task[None]] = set()
        self.path = paths.socket_path(home)
        self._lock_fd: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._inode: tuple[int, int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0  # connections of other users refused, for the log and tests
        self.busy = 0  # connections answered `busy`

    async def start(self) -> None:
        """Listen, or ServiceUnavailableError saying why not (nothing is left behind)."""
        why = supported()
        if why:
            raise ServiceUnavailableError(why)
        if len(os.fsencode(self.path)) > paths.MAX_SOCKET_PATH:
            raise ServiceUnavailableError(
                f"the socket path {self.path} is too long for a Unix socket; "
                "set XDG_RUNTIME_DIR to a shorter folder"
            )
        try:
            paths.make_private(self.path.parent)
        except (OSError, paths.UnsafeFolderError) as exc:
            raise ServiceUnavailableError(f"cannot serve the CLI socket: {exc}") from None
        self._take_lock()
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # we hold the lock: whoever made it is gone
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(os.fspath(self.path))
                os.chmod(self.path, 0o600)
                info = os.stat(self.path)
                self._inode = (info.st_dev, info.st_ino)
                self._server = await asyncio.start_unix_server(
                    self._connection, sock=sock, limit=protocol.MAX_REQUEST
                )
            except BaseException:
                sock.close()
                raise
        except OSError as exc:
            self._release_lock()
            raise ServiceUnavailableError(f"cannot serve the CLI socket: {exc}") from None
        except BaseException:
            self._release_lock()
            raise
        log.info("serving the CLI socket %s", self.path)

    def _take_lock(self) -> None:
        import fcntl

        lock = paths.lock_file(self.home)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise ServiceUnavailableError(f"cannot serve the CLI socket: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise ServiceUnavailableError(
                "another Token Vault app already serves this vault"
                + (f" (pid {other})" if other.isdigit() else "")
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    async def stop(self) -> None:
        """Stop listening, end open exchanges, remove the socket (only if still ours)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            info = os.stat(self.path)
            if (info.st_dev, info.st_ino) == self._inode:
                os.unlink(self.path)
        self._release_lock()

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            reply = await self._answer(reader, writer)
            writer.write(protocol.encode(reply))
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            if task not in self._handled and self.activity is not None:
                self.activity()
            self._handled.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> dict[str, Any]:
        sock = writer.get_extra_info("socket")
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        if uid != os.getuid():
            self.refused += 1
            log.warning("refused a CLI socket connection from uid %d (pid %d)", uid, pid)
            await _skip_request(reader)
            return protocol.error(
                "forbidden", f"refused: this socket serves uid {os.getuid()} only", 1
            )
        if len(self._tasks) > MAX_CONNECTIONS:
            self.busy += 1
            await _skip_request(reader)
            return protocol.error("busy", "too many connections at once; try again", 5)
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\n"), READ_TIMEOUT)
        except asyncio.LimitOverrunError:
            return protocol.error(
                "too_large", f"the request is larger than {protocol.MAX_REQUEST} bytes", 2
            )
        except asyncio.IncompleteReadError as exc:
            if len(exc.partial) >= protocol.MAX_REQUEST:
                return protocol.error(
                    "too_large", f"the request is larger than {protocol.MAX_REQUEST} bytes", 2
                )
            return protocol.error("bad_request", "the request ended before its newline", 2)
        except asyncio.TimeoutError:
            return protocol.error("timeout", f"no request within {READ_TIMEOUT:g} s", 2)
        try:
            request = protocol.parse_request(line)
        except protocol.ProtocolError as exc:
            log.info("bad CLI socket request: %s", exc.message)
            return protocol.error(exc.code, exc.message, 2)
        task = asyncio.current_task()
        assert task is not None
        self._handled.add(task)  # the handler reports its own activity
        try:
            return protocol.ok(**await asyncio.wait_for(self.handler(request), REQUEST_DEADLINE))
        except UserFacingError as exc:
            return protocol.error_from(exc, redact(exc.message))
        except asyncio.TimeoutError:
            return protocol.error(
                "timeout", f"the app could not answer within {REQUEST_DEADLINE:g} s", 5
            )
        except Exception as exc:
            log.exception("CLI socket request failed unexpectedly")
            return protocol.error("failed", f"unexpected {type(exc).__name__} in the app", 1)


async def _skip_request(reader: asyncio.StreamReader) -> None:
    """Read (and drop) the request a refused client is sending, for a moment at most: closing
    a Unix socket with unread data in it resets the connection, and the client would lose
    the refusal written to it."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(reader.readuntil(b"\n"), SKIP_TIMEOUT)
