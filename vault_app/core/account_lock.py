"""One account's cross-process lock, held around any change to its secrets (DESIGN.md section 4).

It is flock(2) on `locks/<account id>.lock`, which is what the filelock package does on Unix, so
processes of either kind exclude each other. An attempt never blocks: a lock another process
holds is tried again after a short sleep on the event loop, so the window keeps drawing while a
CLI refresh finishes. (filelock's own AsyncFileLock costs about 0.5 ms of event-loop time per
acquisition in directory probes and executor plumbing: a tenth of a refresh storm.) Where
flock(2) does not exist (Windows) or the file system refuses it, filelock does the job.

The holder writes a stamp into the file, unique to this process and acquisition, and reads the
one it found there first (`found`). A process that finds the stamp it wrote itself at its last
acquisition knows that no other process has held the lock since, so nothing of the account's in
the keyring has changed behind its back: vault.py keeps what it last read or wrote there instead
of reading it again.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import secrets
import time
from pathlib import Path
from typing import Any

POLL_FIRST = 0.005  # seconds between attempts on a held lock, doubling up to POLL_MAX
POLL_MAX = 0.1
STAMP_BYTES = 128  # the most of a stamp that is read back
_PROCESS = secrets.token_hex(8)  # with the pid: a reused pid never matches an old stamp
_serial = itertools.count(1)


class AccountLock:
    """`await acquire()` then `await release()`; TimeoutError after `timeout` seconds,
    OSError when the file cannot be opened or locked."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.found = b""  # the stamp the last holder left (b"" when unknown)
        self.stamp = b""  # the stamp this acquisition wrote
        self._fd: int | None = None
        self._fallback: Any = None

    @property
    def lock_file(self) -> str:
        return str(self.path)

    async def acquire(self) -> None:
        if self._fallback is not None or os.name != "posix":
            await self._acquire_with_filelock()
            return
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        pause = POLL_FIRST
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                except OSError as exc:
                    if exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK):
                        os.close(fd)
                        fd = -1
                        await self._acquire_with_filelock()
                        return
                    raise
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{self.path} is held by another process")
                await asyncio.sleep(pause)
                pause = min(pause * 2, POLL_MAX)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            raise
        self._fd = fd
        self._stamp(fd)

    def _stamp(self, fd: int) -> None:
        try:
            self.found = os.pread(fd, STAMP_BYTES, 0)
            self.stamp = f"{os.getpid()}:{_PROCESS}:{next(_serial)}\n".encode()
            os.pwrite(fd, self.stamp, 0)
            os.ftruncate(fd, len(self.stamp))
        except OSError:  # a read-only lock file still locks; only the stamp is lost
            self.found, self.stamp = b"", b""

    async def _acquire_with_filelock(self) -> None:
        from filelock import AsyncFileLock

        if self._fallback is None:
            self._fallback = AsyncFileLock(self.path, timeout=self.timeout, run_in_executor=False)
        await self._fallback.acquire()
        self.found, self.stamp = b"", b""  # no stamps here: never "unchanged"

    async def release(self) -> None:
        if self._fallback is not None:
            await self._fallback.release()
            return
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the flock

    def unchanged_since(self, stamp: bytes) -> bool:
        """Whether the lock file still holds `stamp` (what this process wrote when it last
        held it): nobody else has held the lock since."""
        return bool(stamp) and self.found == stamp
