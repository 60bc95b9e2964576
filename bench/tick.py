"""One countdown tick with 2,000 accounts: the real MainWindow on the Xvfb display, its model
filled through a Vault on MemoryBackend and the adapter, shown and painted. The 1 Hz timers
are stopped; each sample moves the clock the app reads on by one second and calls the tick
handler (what the 1 s QTimer runs: MainWindow.tick,
or AccountModel.tick in earlier versions) and processes events until the table's viewport
has repainted. Median and p95 of `ticks` samples after a few discarded ones; the handler's
own share (signals, proxy, view bookkeeping) separately. Prints one JSON line
(bench.common.run_json)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.common import (
    emit,
    median,
    percentile,
    refs_left,
    singleton_ballast,
    vault_with_accounts,
)
from vault_app.core.engine import Refresher
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.gui.adapter import VaultAdapter
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow

WARMUP = 5


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def settle(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def measure(accounts: int, ticks: int) -> dict[str, Any]:
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
        home = Path(tmp) / "vault"
        vault_with_accounts(home, accounts)
        vault = Vault(home, backend=MemoryBackend())
        adapter = VaultAdapter(vault, Refresher(vault))
        window = MainWindow(adapter, SecretClipboard())
        # The samples drive the 1 Hz tick themselves: stop its timers, call its handler (the
        # window's when it has one, else the model's, as the app has had both).
        for timer in window.findChildren(QTimer):
            if timer.interval() == 1000:
                timer.stop()
        tick = getattr(window, "tick", None) or window.model.tick
        adapter.load()
        assert window.model.rowCount() == accounts
        window.show()
        assert QTest.qWaitForWindowExposed(window, 10000)
        settle(app, 0.5)  # first paint, row buttons, layout
        viewport = window.table.viewport()
        painted = PaintCounter()
        viewport.installEventFilter(painted)
        samples: list[float] = []
        handler: list[float] = []  # the tick handler alone (signals, proxy, view bookkeeping)
        # A tick repaints what changed since the last one; back to back, nothing would. Each
        # sample therefore sees the wall clock one second later, as the 1 Hz timer does.
        real_time, offset = time.time, [0.0]
        time.time = lambda: real_time() + offset[0]  # type: ignore[assignment]
        for i in range(WARMUP + ticks):
            offset[0] += 1.0
            before = painted.count
            started = time.perf_counter()
            tick()
            emitted = time.perf_counter() - started
            while painted.count == before:
                app.processEvents()
                if time.perf_counter() - started > 2:
                    raise RuntimeError("the tick caused no repaint within 2 s")
            elapsed = time.perf_counter() - started
            if i >= WARMUP:
                samples.append(elapsed)
                handler.append(emitted)
            settle(app, 0.01)  # let anything the paint queued run outside the sample
        visible = window.table.rowAt(viewport.height() - 1) - window.table.rowAt(0) + 1
        window.close()
    return {
        "accounts": accounts,
        "handler": tick.__qualname__,
        "visible_rows": visible,
        "median_s": median(samples),
        "p95_s": percentile(samples, 95),
        "max_s": max(samples),
        "handler_median_s": median(handler),
        "samples_s": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--ticks", type=int, default=100)
    args = parser.parse_args()
    leaked, ballast = singleton_ballast()  # alive until os._exit below
    result = measure(args.accounts, args.ticks)
    result.update(pyside_leaks=leaked, refs_left=refs_left(ballast))
    print(
        f"  tick with {args.accounts} accounts: median {result['median_s'] * 1000:.2f} ms, "
        f"p95 {result['p95_s'] * 1000:.2f} ms (tick handler alone: median "
        f"{result['handler_median_s'] * 1000:.2f} ms)",
        file=sys.stderr,
    )
    emit(result)
    # Skip interpreter teardown: Qt objects alive at exit can crash PySide's finaliser.
    os._exit(0)


if __name__ == "__main__":
    main()
