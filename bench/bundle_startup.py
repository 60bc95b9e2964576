"""Launch to visible window, PyInstaller bundle against the pip install: alternate launches of
the bundle (packaging/build) and of .venv/bin/token-vault on the same vault, medians side by
side, and the bundle's size on disk. Needs an X display and a keyring, as bench/run makes:

    python -m bench.bundle_startup [BUNDLE_EXE] [--runs N] [--pip PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import median, vault_with_accounts

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0


def window_shown() -> bool:
    """A window titled "Token Vault" is on the X display (xwininfo, x11-utils)."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False
    ).stdout
    return '"Token Vault"' in tree


def launch_once(exe: Path, home: Path) -> float:
    env = dict(os.environ, TOKEN_VAULT_HOME=str(home), QT_QPA_PLATFORM="xcb")
    started = time.perf_counter()
    app = subprocess.Popen(
        [str(exe)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=home
    )
    try:
        while not window_shown():
            if app.poll() is not None:
                raise RuntimeError(f"{exe} exited with {app.returncode} before its window showed")
            if time.perf_counter() - started > TIMEOUT:
                raise RuntimeError(f"{exe}: no window within {TIMEOUT:g} s")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        app.terminate()
        app.wait(10)
        while window_shown():  # the next launch must not see this one's window
            time.sleep(0.01)


def disk_usage(folder: Path) -> str:
    """Size on disk as `du -sh` reports it (symbolic links not followed)."""
    proc = subprocess.run(["du", "-sh", str(folder)], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return proc.stdout.split()[0]
    size = sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())
    return f"{size / 2**20:.0f}M"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bundle_startup")
    parser.add_argument(
        "bundle", nargs="?", default=str(REPO / "dist" / "token-vault" / "token-vault")
    )
    parser.add_argument("--pip", default=str(REPO / ".venv" / "bin" / "token-vault"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--accounts", type=int, nargs="+", default=[0, 100])
    args = parser.parse_args()
    apps = {"bundle": Path(args.bundle).resolve(), "pip": Path(args.pip)}
    for name, exe in apps.items():
        if not os.access(exe, os.X_OK):
            parser.error(f"{name}: {exe} is not an executable (packaging/build makes the bundle)")

    print(f"bundle: {apps['bundle']} ({disk_usage(apps['bundle'].parent)} on disk)")
    print(f"pip:    {apps['pip']}")
    print(f"launch to visible window, median of {args.runs} alternating runs each")
    print(f"{'accounts':>8}  {'bundle':>20}  {'pip install':>20}  bundle/pip")
    for count in args.accounts:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "vault"
            vault_with_accounts(home, count)
            for exe in apps.values():  # untimed: load both from disk into the page cache
                launch_once(exe, home)
            times: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(args.runs):
                for name, exe in apps.items():
                    times[name].append(launch_once(exe, home))
        cells = {
            name: f"{median(t):.3f} s ({min(t):.2f}-{max(t):.2f})" for name, t in times.items()
        }
        ratio = median(times["bundle"]) / median(times["pip"])
        print(f"{count:>8}  {cells['bundle']:>20}  {cells['pip']:>20}  {ratio:.2f}")


if __name__ == "__main__":
    main()
