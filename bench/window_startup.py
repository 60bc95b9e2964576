"""Start-up to first paint, and resident memory, of Token Vault with 0, 500 and 2,000 accounts
next to a bare PySide6 window (bench/bare_window.py), each a real process on the Xvfb display.

Launches alternate (bare, 0, 500, 2000, bare, 0, ...) after one discarded warm-up round. Each
launch is timed two ways from a wall-clock stamp taken just before spawning:
- outside: the MapNotify of the process's top-level window on the X display, read from one
  long-running `xev -root -event substructure` (no polling); the window is matched to the
  process by its _NET_WM_PID afterwards;
- inside: the markers the program appends to $TOKEN_VAULT_FIRST_PAINT: "paint <time>" at the
  window's first paint and "rows <time>" at the first paint that shows its accounts (or, with
  none, its first-run page). The bare window writes both at its first paint: its empty table
  is all it ever shows.
In the first `memory_rounds` rounds the bare window, 0 and 2,000 accounts also stay up until
`settle` seconds after their first paint, and VmRSS is read. Every program is then stopped
with SIGTERM and waited for before the next starts (one Token Vault per vault home raises the
running one instead of starting)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REPO, TOKEN_VAULT, median, rss_kib, vault_with_accounts

VARIANTS: tuple[str, ...] = ("bare", "0", "500", "2000")
MEMORY_VARIANTS = ("bare", "0", "2000")
LAUNCH_TIMEOUT = 30.0


class MapWatcher:
    """One `xev` on the root window; every MapNotify of a top-level window, time-stamped on
    arrival, goes to a queue."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[float, str]] = queue.Queue()
        self._xev = subprocess.Popen(
            ["stdbuf", "-oL", "xev", "-root", "-event", "substructure"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        # xev prints nothing until an event comes: map and unmap a window of our own.
        self._probe()

    def _read(self) -> None:
        assert self._xev.stdout is not None
        pending: float | None = None
        for line in self._xev.stdout:
            if line.startswith("MapNotify event"):
                pending = time.time()
            elif pending is not None:
                found = re.search(r"\bwindow (0x[0-9a-f]+)", line)
                if found:
                    self.events.put((pending, found.group(1)))
                pending = None

    def _probe(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.Popen(
                ["xmessage", "-timeout", "1", "probe"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                self.events.get(timeout=2)
                return
            except queue.Empty:
                continue
            finally:
                probe.terminate()
                probe.wait()
        raise RuntimeError("xev reports no MapNotify events")

    def drain(self) -> None:
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        self._xev.terminate()
        self._xev.wait()


def window_pid(window: str) -> int | None:
    out = subprocess.run(
        ["xprop", "-id", window, "_NET_WM_PID"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"= (\d+)", out)
    return int(found.group(1)) if found else None


@dataclass
class Samples:
    mapped: list[float] = field(default_factory=list)  # seconds from spawn
    painted: list[float] = field(default_factory=list)
    rows: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)


def launch(
    variant: str,
    homes: dict[str, Path],
    watcher: MapWatcher,
    marker: Path,
    settle: float | None,
) -> tuple[float, float, float, int | None]:
    """One start: seconds to MapNotify, to the first paint and to the first paint with the
    accounts, and VmRSS when `settle` is set."""
    if variant == "bare":
        command = [PYTHON, str(REPO / "bench" / "bare_window.py")]
        env = dict(os.environ)
    else:
        command = [TOKEN_VAULT]
        env = dict(os.environ, TOKEN_VAULT_HOME=str(homes[variant]))
    env.update(QT_QPA_PLATFORM="xcb", TOKEN_VAULT_FIRST_PAINT=str(marker))
    marker.unlink(missing_ok=True)
    watcher.drain()
    with tempfile.TemporaryFile() as log:
        started = time.time()
        app = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=REPO)
        try:
            marks = wait_for_paint(app, marker, log, variant)
            mapped_at = mapped_time(app.pid, watcher)
            rss = None
            if settle is not None:
                time.sleep(max(marks["rows"] + settle - time.time(), 0))
                rss = rss_kib(app.pid)
            return mapped_at - started, marks["paint"] - started, marks["rows"] - started, rss
        finally:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()


def wait_for_paint(
    app: subprocess.Popen[bytes], marker: Path, log: Any, variant: str
) -> dict[str, float]:
    """The wall-clock times the program wrote to its marker file: "paint" and "rows"."""
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while True:
        if time.monotonic() > deadline or app.poll() is not None:
            log.seek(0)
            raise RuntimeError(
                f"{variant}: no first paint with rows within {LAUNCH_TIMEOUT:g} s "
                f"(exit {app.poll()}): {log.read()[-2000:].decode(errors='replace')}"
            )
        text = marker.read_text() if marker.exists() else ""
        marks = {}
        for line in text.splitlines(keepends=True):
            if line.endswith("\n") and len(line.split()) == 2:
                name, when = line.split()
                marks.setdefault(name, float(when))
        if "paint" in marks and "rows" in marks:
            return marks
        time.sleep(0.005)


def mapped_time(pid: int, watcher: MapWatcher) -> float:
    """When the first window of process `pid` was mapped (it is mapped before it is painted,
    but its MapNotify may still be on its way through xev)."""
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            seen.append(watcher.events.get(timeout=0.1))
            while True:
                seen.append(watcher.events.get_nowait())
        for at, window in seen:
            if window_pid(window) == pid:
                return at
        seen.clear()
    raise RuntimeError(f"no window of process {pid} was mapped")


def run(runs: int = 7, memory_rounds: int = 3, settle: float = 2.0) -> dict[str, Any]:
    results: dict[str, Samples] = {v: Samples() for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        homes = {}
        for variant in VARIANTS[1:]:
            homes[variant] = work / f"vault-{variant}"
            vault_with_accounts(homes[variant], int(variant))
        watcher = MapWatcher()
        try:
            for variant in VARIANTS:  # warm-up: page cache, font cache, .pyc files
                launch(variant, homes, watcher, work / "marker", None)
            for round_ in range(runs):
                for variant in VARIANTS:
                    settle_for = (
                        settle if round_ < memory_rounds and variant in MEMORY_VARIANTS else None
                    )
                    mapped, painted, rows, rss = launch(
                        variant, homes, watcher, work / "marker", settle_for
                    )
                    samples = results[variant]
                    samples.mapped.append(mapped)
                    samples.painted.append(painted)
                    samples.rows.append(rows)
                    if rss is not None:
                        samples.rss_kib.append(rss)
                    print(
                        f"  start-up {variant:>4}: mapped {mapped * 1000:6.0f} ms, "
                        f"painted {painted * 1000:6.0f} ms, rows {rows * 1000:6.0f} ms"
                        + (f", RSS {rss / 1024:.0f} MiB" if rss else ""),
                        file=sys.stderr,
                    )
        finally:
            watcher.close()
    return {
        variant: {
            "mapped_median_s": median(s.mapped),
            "painted_median_s": median(s.painted),
            "rows_median_s": median(s.rows),
            "rss_median_kib": median([float(r) for r in s.rss_kib]) if s.rss_kib else None,
            "mapped_s": s.mapped,
            "painted_s": s.painted,
            "rows_s": s.rows,
            "rss_kib": s.rss_kib,
        }
        for variant, s in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="?", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.runs), indent=2))


if __name__ == "__main__":
    main()
