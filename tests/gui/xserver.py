"""A private Xvfb display, optionally with `trayer` as its system-tray host, for tests that
need a tray (the shared display of scripts/test has none, so the no-tray path is tested there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import REPO


@contextmanager
def private_display(tray: bool, screen: str = "1280x800") -> Iterator[str]:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{screen}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        display = ":" + pipe.readline().strip()
    host = None
    try:
        if tray:
            env = dict(os.environ, DISPLAY=display)
            host = subprocess.Popen(
                [
                    "trayer",
                    "--edge",
                    "top",
                    "--align",
                    "right",
                    "--widthtype",
                    "request",
                    "--height",
                    "24",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tempfile.gettempdir(),
            )
            # Qt sees the tray once trayer owns _NET_SYSTEM_TRAY_S0; callers wait for that.
        yield display
    finally:
        for proc in (host, xvfb):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


def run_probe(module: str, *args: str, screen: str, scale: int, timeout: float) -> dict[str, Any]:
    """Run `python -m module args` on a private display of `screen` ("1024x768") at
    QT_SCALE_FACTOR `scale` (it must be set before Qt starts, hence the child process) and
    return the JSON object it prints last."""
    with private_display(tray=False, screen=screen) as display:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", QT_SCALE_FACTOR=str(scale))
        env.pop("WAYLAND_DISPLAY", None)
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
