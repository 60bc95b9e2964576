"""One instance per vault home: a second launch asks the first to show its window and exits.

The first listens on a QLocalServer. On Unix the second asks through a plain Unix socket at
the server's full path, so it finds out before loading QtNetwork: that keeps about 10 ms off
every launch's way to the window."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

TIMEOUT_MS = 1000


def server_name(home: Path) -> str:
    """A name unique to this user and vault home (local socket names are global)."""
    key = f"{os.getuid() if hasattr(os, 'getuid') else ''}:{home.resolve()}"
    return "token-vault-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def socket_address(home: Path) -> str:
    """What QLocalServer listens on: a full path in Qt's temporary folder on Unix (as Qt itself
    would choose for a bare name), a pipe name on Windows."""
    name = server_name(home)
    if sys.platform == "win32":
        return name
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", name)  # noqa: S108 (QDir::tempPath)


class SingleInstance(QObject):
    show_requested = Signal()

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home
        self.name = socket_address(home)
        self._server: Any = None

    def notify_running(self) -> bool:
        """True when another instance answered (and was asked to show itself)."""
        if sys.platform == "win32":
            return self._notify_through_pipe()
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
            unix.settimeout(TIMEOUT_MS / 1000)
            try:
                unix.connect(self.name)
                unix.sendall(b"show\n")
            except OSError:
                return False  # nobody there, or a stale socket of a crashed instance
        return True

    def _notify_through_pipe(self) -> bool:
        from PySide6.QtNetwork import QLocalSocket

        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(TIMEOUT_MS):
            return False
        socket.write(b"show\n")
        socket.waitForBytesWritten(TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def listen(self) -> bool:
        from PySide6.QtNetwork import QLocalServer

        server = QLocalServer(self)
        if not server.listen(self.name):
            # A stale socket from a crashed instance: nobody answered, so take it over.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return False
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _on_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            # The message is one short line sent right after connecting: wait for it here
            # rather than keep per-connection slots alive.
            arrived = socket.bytesAvailable() or socket.waitForReadyRead(TIMEOUT_MS)
            if arrived and bytes(socket.readAll().data()).strip() == b"show":
                self.show_requested.emit()
            socket.disconnectFromServer()
            socket.deleteLater()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
