"""Copying secrets: the data is marked as secret for clipboard managers, and wiped after a
timeout only if the clipboard still holds our value (and on quit, under the same rule)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QClipboard, QGuiApplication

# Per platform, the marker clipboard managers and history tools honour (DESIGN.md section 7).
if sys.platform == "win32":
    SECRET_MARKERS = {
        'application/x-qt-windows-mime;value="ExcludeClipboardContentFromMonitorProcessing"': b"1"
    }
elif sys.platform == "darwin":
    SECRET_MARKERS = {"application/x-nspasteboard-concealed-type": b"secret"}
else:
    SECRET_MARKERS = {"x-kde-passwordManagerHint": b"secret"}


class SecretClipboard(QObject):
    countdown = Signal(int)  # seconds until the wipe; 0 when nothing is pending

    def __init__(self, clipboard: QClipboard | None = None) -> None:
        super().__init__()
        self._clipboard = clipboard or QGuiApplication.clipboard()
        self._value: str | None = None
        self._left = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    def copy(self, text: str, wipe_after: int) -> None:
        data = QMimeData()
        data.setText(text)
        for mime, value in SECRET_MARKERS.items():
            data.setData(mime, value)
        self._clipboard.setMimeData(data)
        self._value = text
        self._left = max(int(wipe_after), 0)
        if self._left:
            self._timer.start()
        self.countdown.emit(self._left)

    def _tick(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self.wipe()
        else:
            self.countdown.emit(self._left)

    def holds_ours(self) -> bool:
        return self._value is not None and self._clipboard.text() == self._value

    def wipe(self) -> None:
        """Clear the clipboard if it still holds what we put there; leave it alone otherwise."""
        self._timer.stop()
        if self.holds_ours():
            self._clipboard.clear()
        self._value = None
        self._left = 0
        self.countdown.emit(0)
