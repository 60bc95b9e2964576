"""Launch to visible window: `token-vault` with N accounts, measured from outside (the window
appearing on the X display), several runs, median. Run through bench/run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import median, vault_with_accounts

REPO = Path(__file__).resolve().parent.parent


def window_shown() -> bool:
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False
    ).stdout
    return '"Token Vault"' in tree


def launch_once(home: Path) -> float:
    env = dict(os.environ, TOKEN_VAULT_HOME=str(home), QT_QPA_PLATFORM="xcb")
    started = time.perf_counter()
    app = subprocess.Popen(
        [sys.executable, "-m", "vault_app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not window_shown():
            if time.perf_counter() - started > 30:
                raise RuntimeError("no window within 30 s")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        app.terminate()
        app.wait(10)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for count in (0, 500):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "vault"
            vault_with_accounts(home, count)
            times = [launch_once(home) for _ in range(runs)]
        print(
            f"window visible with {count} accounts: median {median(times):.3f} s "
            f"over {runs} runs (min {min(times):.3f}, max {max(times):.3f})"
        )


if __name__ == "__main__":
    main()
