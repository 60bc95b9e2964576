"""Python's cyclic garbage collector, run on the GUI thread only.

Python collects reference cycles in whichever thread happens to allocate when a threshold is
passed: here that may be the keyring thread, the network thread or an executor's. A cycle that
holds a Qt object (a dialog whose signal connections capture it, a timer) is then destroyed
outside the thread that owns it, which Qt reports as "QObject::~QObject: Timers cannot be
stopped from another thread" and which, for a widget, can end the process. So while the app
runs, automatic collection is off and the GUI thread collects by the same thresholds, as
calibre's GarbageCollector does for the same reason.

When it looks: on every `check()` (the window's 1 Hz tick while shown, each engine event, each
request the CLI socket or a local proxy answers) and every 5 minutes otherwise, so the tray app
stays asleep between its deadlines. A look that finds nothing to collect costs one
`gc.get_count()`.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

FALLBACK_MS = 300_000  # the longest cycles wait when nothing else asks for a look


class GuiThreadCollector(QObject):
    """Owns the collector while it lives: `install()` turns automatic collection off,
    `uninstall()` gives it back as it was. Create, install and check on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.collections = [0, 0, 0]  # per generation, for tests and the debug log
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(FALLBACK_MS)
        self._timer.timeout.connect(self.check)

    def install(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        # What exists by now (modules, Qt wrappers, the window) lives as long as the app:
        # kept out of every later collection, a full one looks at what came after only
        # (in the tray a full collection took 50-150 ms of the idle minute without this).
        gc.freeze()
        self._timer.start()

    def uninstall(self) -> None:
        self._timer.stop()
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()

    def check(self, *_args: object) -> None:
        """Collect the generations whose thresholds are passed, as automatic collection would
        have (the youngest first, an older one only when its own count is passed too)."""
        try:
            first, second, third = self.thresholds
            young, middle, old = gc.get_count()
            if first <= 0 or young <= first:
                return
            generation = 0
            if middle > second:
                generation = 2 if old > third else 1
            gc.collect(generation)
            self.collections[generation] += 1
        except Exception:  # called from Qt timers and engine events: never let it escape
            log.exception("garbage collection on the GUI thread failed")
