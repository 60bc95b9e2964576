"""The window's first paint, and the first paint that shows its accounts: launch.py waits for
the first before importing the rest, and when $TOKEN_VAULT_FIRST_PAINT names a file the
wall-clock time of each is appended there as a line "paint <time>" or "rows <time>" (the
in-app half of the start-up benchmark in bench/)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

ENV = "TOKEN_VAULT_FIRST_PAINT"


def mark(name: str) -> None:
    """Append "<name> <wall-clock time>" to the marker file, when there is one. A path that
    cannot be written is logged: this runs inside a paint event filter (a Qt virtual), where
    an exception aborts PySide6 and the first paint would go unseen."""
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="ascii") as out:
            out.write(f"{name} {time.time():.6f}\n")
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write %s=%s: %s", ENV, path, exc.strerror)


class FirstPaintWatcher(QObject):
    def __init__(self, widget: QWidget, then: Callable[[], None] | None, name: str) -> None:
        super().__init__(widget)
        self.widget = widget
        self.then = then
        self.name = name
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.widget.removeEventFilter(self)
            mark(self.name)
            if self.then is not None:
                # After this paint has been delivered, not inside it.
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, self.then)
        return False


def watch(widget: QWidget, then: Callable[[], None] | None = None, name: str = "paint") -> None:
    """Call `then` once the widget has first been painted (and mark it as `name`)."""
    FirstPaintWatcher(widget, then, name)
