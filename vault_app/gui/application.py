"""The application object of the window and the tray."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)


class QuitAwareApplication(QApplication):
    """The QApplication whose own quit request (QEvent.Quit, which QCoreApplication.quit
    sends as a session manager ending the session calls it) becomes ours when `on_quit` is
    set, so the engine and the HTTP client are stopped before the event loop ends.

    An override of event() sees only the events sent to the application object. An event
    filter installed on the application would see every event of every object, a call into
    Python and a wrapper for each: in the tray, idle, that was most of the CPU time."""

    on_quit: Callable[[], None] | None = None

    def event(self, event: QEvent) -> bool:
        try:
            if event.type() == QEvent.Type.Quit and self.on_quit is not None:
                self.on_quit()
                return True
        except Exception:  # a Qt virtual: never let it escape
            log.exception("handling the quit request failed")
        return super().event(event)
