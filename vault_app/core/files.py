"""Reading files a person may have replaced, edited or pointed us at (the metadata file, the
keyring hint beside it, secret and PEM files): never more than a cap, and, for the vault's own
files, only a regular file. A FIFO in a file's place would block `open()` for ever (no writer
ever comes) and `/dev/zero` would fill memory; both are refused or cut short here with an
OSError or FileTooLarge whose message says why."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


class FileTooLarge(ValueError):
    """The file holds more than the caller's cap (`limit` bytes)."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(f"{path} is larger than {size_words(limit)}")
        self.limit = limit


def size_words(limit: int) -> str:
    """`limit` bytes in words: "64 MiB", "64 KiB"."""
    if limit >= 1 << 20:
        return f"{limit / (1 << 20):g} MiB"
    return f"{limit / 1024:g} KiB"


def kind_of(mode: int) -> str:
    """What a file of this st_mode is, in words, for an error ("a named pipe")."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def read_capped(
    path: Path,
    limit: int,
    *,
    regular: bool = True,
    check: Callable[[os.stat_result], None] | None = None,
) -> bytes:
    """The bytes of `path`, at most `limit` of them. With `regular` (the vault's own files)
    anything but a regular file is an OSError saying what it is, raised without blocking (the
    open does not wait for a FIFO's writer); without it, pipes and `/dev/stdin` are read, but
    never past the cap. `check` sees the open file's stat first (ownership, modes). Errors:
    OSError (FileNotFoundError included), FileTooLarge."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if regular:
        flags |= getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if regular and not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{kind_of(info.st_mode)}, not a regular file")
        if check is not None:
            check(info)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data
