"""Idle in the tray: Token Vault with 50 accounts, none due within the hour, started with
`--minimized` on a display that has a tray host (its own Xvfb with `trayer`), so its window stays
hidden in the tray; next to it, at the same time, the bare tray app (bench/bare_tray.py).

After a settling time (start-up, the keyring check, the engine's first pass) both are watched
for `seconds`:
- CPU time: utime + stime of the process (all its threads) from /proc/PID/stat;
- wake-ups: the growth of voluntary_ctxt_switches summed over every thread of the process
  (/proc/PID/task/*/status). A thread that sleeps (poll, a futex, a timer) and is woken runs
  until it sleeps again, which is one voluntary context switch: so the count is how often any
  thread of the process was woken. Involuntary switches (preemption by other work on the
  machine) are reported apart and not counted as wake-ups. A thread that ends inside the
  window takes its count with it; none does in an idle app.
Prints one JSON line (bench.common.run_json)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REPO, TOKEN_VAULT, emit
from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.model import Account, Status

TICKS = os.sysconf("SC_CLK_TCK")


def seed(home: Path, count: int) -> None:
    """`count` OAuth2 client-credentials accounts with an hour-long token just refreshed:
    nothing is due for 45 minutes (metadata only: nothing reads the keyring until then)."""
    now = time.time()
    fields = {
        "token_url": "http://127.0.0.1:9/token",
        "client_id": "idle",
        "grant": "client_credentials",
        "client_auth": "basic",
    }

    def fill(doc: VaultDoc) -> None:
        doc.accounts = [
            Account(
                id=uuid.uuid4().hex,
                name=f"idle-{i:03d}",
                provider="oauth2",
                fields=dict(fields),
                status=Status.OK,
                access_expires_at=now + 3600,
                last_refresh_at=now,
                generation=1,
                secret_fields=["client_secret"],
            )
            for i in range(count)
        ]

    AccountStore(home).update(fill)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def switches(pid: int) -> tuple[int, int, int]:
    """(voluntary, involuntary, threads) summed over the process's threads."""
    voluntary = involuntary = threads = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "status").read_text()
        except OSError:
            continue  # ended meanwhile
        threads += 1
        voluntary += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
        involuntary += int(
            re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1)  # type: ignore[union-attr]
        )
    return voluntary, involuntary, threads


def private_display_with_tray() -> tuple[str, list[subprocess.Popen[bytes]]]:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        display = ":" + pipe.readline().strip()
    env = dict(os.environ, DISPLAY=display)
    trayer = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
    )
    check = (
        "import sys, time\n"
        "from PySide6.QtWidgets import QApplication, QSystemTrayIcon\n"
        "app = QApplication([])\n"
        "end = time.monotonic() + 15\n"
        "while not QSystemTrayIcon.isSystemTrayAvailable() and time.monotonic() < end:\n"
        "    time.sleep(0.1)\n"
        "sys.exit(0 if QSystemTrayIcon.isSystemTrayAvailable() else 1)\n"
    )
    if subprocess.run([PYTHON, "-c", check], env=env, check=False).returncode != 0:
        raise RuntimeError("trayer did not provide a system tray")
    return display, [trayer, xvfb]


def viewable_windows(display: str, pid: int) -> list[str]:
    """Top-level windows of process `pid` that are on screen (should be none)."""
    env = dict(os.environ, DISPLAY=display)
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True, check=False
    ).stdout
    shown = []
    for window in re.findall(r"^\s+(0x[0-9a-f]+) ", tree, re.M):
        info = subprocess.run(
            ["xwininfo", "-id", window], env=env, capture_output=True, text=True, check=False
        ).stdout
        if "IsViewable" not in info:
            continue
        owner = subprocess.run(
            ["xprop", "-id", window, "_NET_WM_PID", "WM_NAME"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if f"= {pid}" in owner and "Token Vault" in owner:
            shown.append(window)
    return shown


def measure(accounts: int, seconds: float, settle: float) -> dict[str, Any]:
    display, helpers = private_display_with_tray()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
            home = Path(tmp) / "vault"
            seed(home, accounts)
            env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
            env.pop("TOKEN_VAULT_FIRST_PAINT", None)
            procs["app"] = subprocess.Popen(
                [TOKEN_VAULT, "--minimized"],
                env=dict(env, TOKEN_VAULT_HOME=str(home)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=REPO,
            )
            procs["bare"] = subprocess.Popen(
                [PYTHON, str(REPO / "bench" / "bare_tray.py")],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=REPO,
            )
            time.sleep(settle)
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"idle: {name} exited early ({proc.returncode})")
            on_screen = viewable_windows(display, procs["app"].pid)
            before = {n: (cpu_seconds(p.pid), switches(p.pid)) for n, p in procs.items()}
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            after = {n: (cpu_seconds(p.pid), switches(p.pid)) for n, p in procs.items()}
    finally:
        for proc in [*procs.values(), *helpers]:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    result: dict[str, Any] = {
        "accounts": accounts,
        "seconds": elapsed,
        "settle_s": settle,
        "app_windows_on_screen": len(on_screen),
    }
    for name in procs:
        (cpu0, (vol0, inv0, _)), (cpu1, (vol1, inv1, threads)) = before[name], after[name]
        result[name] = {
            "cpu_s": cpu1 - cpu0,
            "wakeups": vol1 - vol0,
            "involuntary": inv1 - inv0,
            "threads": threads,
            "wakeups_per_5s": (vol1 - vol0) * 5 / elapsed,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=8.0)
    args = parser.parse_args()
    result = measure(args.accounts, args.seconds, args.settle)
    app, bare = result["app"], result["bare"]
    print(
        f"  idle {result['seconds']:.0f} s, {args.accounts} accounts in the tray: CPU "
        f"{app['cpu_s']:.2f} s, {app['wakeups']} wake-ups ({app['threads']} threads); bare tray "
        f"app: CPU {bare['cpu_s']:.2f} s, {bare['wakeups']} wake-ups",
        file=sys.stderr,
    )
    emit(result)


if __name__ == "__main__":
    main()
