"""Helpers for the service tests: `token-vault serve` as a real process, an asyncio loop on a
thread of its own (for the proxy and the service while the test uses blocking clients), and a
CLI environment whose keyring cannot be used (so whatever works, came from the app)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import REPO, Cli

T = TypeVar("T")
FAIL_KEYRING = "keyring.backends.fail.Keyring"


def without_keyring(cli: Cli) -> Cli:
    """The same vault, with keyring's `fail` backend: a CLI that had to read the keyring (or
    refresh, which writes it) would fail with exit 6."""
    return Cli(cli.home, {**cli.env, "PYTHON_KEYRING_BACKEND": FAIL_KEYRING})


@dataclass
class Served:
    proc: subprocess.Popen[str]
    ready: str  # the line `serve` printed once its socket listened
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


@contextmanager
def serving(cli: Cli, log: Path, *extra_env: tuple[str, str]) -> Iterator[Served]:
    """`token-vault serve` for the cli's vault, from the moment its socket listens. Its stderr
    (DEBUG logs under the cli fixture) goes to `log`, never to a pipe nobody reads."""
    env = {**cli.env, **dict(extra_env)}
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault_app", "serve"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            cwd=REPO,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # returns at the ready line, or at exit
    served = Served(proc, line, log)
    try:
        assert line.startswith("serving the vault"), (
            f"serve did not start (exit {proc.poll()}): {line!r} {log.read_text()[-2000:]}"
        )
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()


class LoopThread:
    """An event loop running on its own thread: `run(coro)` waits for the result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    try:
        yield thread
    finally:
        thread.close()
