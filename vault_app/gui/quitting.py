"""Quitting within 5 s whatever a worker thread is blocked on (a keyring waiting on a prompt,
DNS, a file on a hung mount, the HTTP client being built).

Three parts:
- `DaemonExecutor`: the event loop's default executor (asyncio.to_thread, getaddrinfo). Its
  threads are daemons and nobody waits for them, unlike ThreadPoolExecutor's (joined at
  interpreter exit) or qasync's QThreads (waited for by loop.close()).
- `SignalWakeup`: SIGTERM, SIGINT and SIGHUP reach a watcher thread through Python's wakeup fd,
  which the C-level handler writes even when the GUI thread is stuck in a system call. The
  watcher arms the deadline and asks the loop to quit.
- `ExitDeadline`: once a quit starts, a daemon thread ends the process with os._exit when the
  orderly shutdown has not finished in time.
- `application.QuitAwareApplication` (its own module: the window imports it before its
  first paint): Qt's own quit request (a session ending) starts the same orderly quit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from vault_app.core.daemon_executor import DaemonExecutor

__all__ = ["DaemonExecutor", "ExitDeadline", "SignalWakeup"]

log = logging.getLogger(__name__)
T = TypeVar("T")

QUIT_DEADLINE = 4.0  # s from a quit request to a forced exit (the promise is 5 s)
SHUTDOWN_BUDGET = 2.5  # s the orderly shutdown may take before it gives up waiting
QUIT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


class ExitDeadline:
    """Ends the process `seconds` after `arm` unless it has ended by then."""

    def __init__(self, seconds: float = QUIT_DEADLINE) -> None:
        self.seconds = seconds
        self._armed = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self) -> None:
        if self._armed.is_set():
            return
        self._armed.set()
        self._thread = threading.Thread(target=self._wait, name="exit-deadline", daemon=True)
        self._thread.start()

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def _wait(self) -> None:
        threading.Event().wait(self.seconds)
        names = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        with contextlib.suppress(Exception):  # stderr may be gone; exit regardless
            sys.stderr.write(
                f"token-vault: quit did not finish in {self.seconds:.0f} s (threads: "
                f"{', '.join(names)}); exiting now\n"
            )
            sys.stderr.flush()
        os._exit(0)


class SignalWakeup:
    """Quit signals delivered to a watcher thread (see the module's docstring)."""

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self.on_signal = on_signal
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(True)
        self._writer.setblocking(False)
        self._previous: dict[int, Any] = {}
        self._old_fd = -1
        self._thread = threading.Thread(target=self._watch, name="quit-signals", daemon=True)

    def install(self) -> None:
        """From the main thread, before the loop runs."""
        self._old_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for sig in QUIT_SIGNALS:
            # A Python handler, so the C handler writes the number to the wakeup fd; the
            # handler itself does nothing (the watcher acts, even if this thread is stuck).
            self._previous[sig] = signal.signal(sig, _noted)
        self._thread.start()

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
        signal.set_wakeup_fd(self._old_fd)

    def _watch(self) -> None:
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for number in data:
                if number in QUIT_SIGNALS:
                    try:
                        self.on_signal(number)
                    except Exception:
                        log.exception("handling signal %d failed", number)


def _noted(_signum: int, _frame: object) -> None:
    return None
