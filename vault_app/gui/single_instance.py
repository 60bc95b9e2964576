"""One instance per vault home: a second launch asks the first to show its window and exits."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

TIMEOUT_MS = 1000


def server_name(home: Path) -> str:
    """A name unique to this user and vault home (local socket names are global)."""
    key = f"{os.getuid() if hasattr(os, 'getuid') else ''}:{home.resolve()}"
    return "token-vault-" + hashlib.sha256(key.encode()).hexdigest()[:16]


class SingleInstance(QObject):
    show_requested = Signal()

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.name = server_name(home)
        self._server: QLocalServer | None = None

    def notify_running(self) -> bool:
        """True when another instance answered (and was asked to show itself)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(TIMEOUT_MS):
            return False
        socket.write(b"show\n")
        socket.waitForBytesWritten(TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def listen(self) -> bool:
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
