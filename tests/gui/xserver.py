"""A private Xvfb display, optionally with `trayer` as its system-tray host, for tests that
need a tray (the shared display of scripts/test has none, so the no-tray path is tested there)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


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
