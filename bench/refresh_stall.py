"""The longest event-loop stall while N accounts refresh: the window open, a 10 ms heartbeat
timer on the GUI thread, N OAuth2 accounts refreshed at once against the built-in demo server.
Run through bench/run."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.demo.server import REPORTS_CLIENT_ID, REPORTS_CLIENT_SECRET, DemoServer
from vault_app.gui.app import App


async def measure(count: int, home: Path, url: str) -> tuple[float, float]:
    vault = Vault(home, backend=None if "--keyring" in sys.argv else MemoryBackend())
    for i in range(count):
        _, failure = await vault.add(
            f"svc-{i:03d}",
            "oauth2",
            {
                "token_url": f"{url}/oauth/token",
                "client_id": REPORTS_CLIENT_ID,
                "scope": "reports:read",
            },
            {"client_secret": REPORTS_CLIENT_SECRET},
            sign_in=False,
        )
        assert failure is None
    closing = asyncio.Event()
    app = App(vault, minimized=False, request_quit=closing.set)
    app.show()
    await asyncio.sleep(1)
    worst = 0.0
    last = time.perf_counter()

    def beat() -> None:
        nonlocal worst, last
        now = time.perf_counter()
        worst = max(worst, now - last - 0.010)
        last = now

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    started = time.perf_counter()
    outcome = await app.engine.refresh_now(vault.load().accounts)
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    ok = sum(e.kind.value == "refresh_succeeded" for e in outcome.values())
    assert ok == count, f"{ok} of {count} refreshed"
    await app.shutdown()
    return elapsed, worst


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200
    qt = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    with DemoServer() as server, tempfile.TemporaryDirectory() as tmp, loop:
        elapsed, worst = loop.run_until_complete(measure(count, Path(tmp) / "v", server.url))
    print(
        f"{count} accounts refreshed in {elapsed:.2f} s; longest event-loop stall "
        f"{worst * 1000:.1f} ms (10 ms heartbeat)"
    )


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    # Skip interpreter teardown: Qt objects alive at exit can crash PySide's finaliser, and a
    # benchmark has nothing left to clean up.
    os._exit(0)
