"""The window's first paint: launch.py waits for it before importing the rest, and when
$TOKEN_VAULT_FIRST_PAINT names a file the wall-clock time of it is appended there (the in-app
half of the start-up benchmark in bench/)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

ENV = "TOKEN_VAULT_FIRST_PAINT"


class FirstPaintWatcher(QObject):
    def __init__(self, widget: QWidget, then: Callable[[], None] | None) -> None:
        super().__init__(widget)
        self.widget = widget
        self.then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.widget.removeEventFilter(self)
            path = os.environ.get(ENV)
            if path:
                _note(path)
            if self.then is not None:
                # After this paint has been delivered, not inside it.
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, self.then)
        return False


def _note(path: str) -> None:
    """Append the time to the benchmark's file. A path that cannot be written is logged: an
    exception here would leave a Qt virtual (aborting PySide6) and the first paint unseen."""
    try:
        with open(path, "a", encoding="ascii") as out:
            out.write(f"{time.time():.6f}\n")
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write %s=%s: %s", ENV, path, exc.strerror)


def watch(widget: QWidget, then: Callable[[], None] | None = None) -> None:
    """Call `then` once the widget has first been painted."""
    FirstPaintWatcher(widget, then)
