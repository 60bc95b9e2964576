"""Reading files a person may have replaced, edited or pointed us at (the metadata file, the
keyring hint beside it, secret and PEM files): never more than a cap, and, for the vault's own
files, only a regular file. A FIFO in a file's place would block `open()` for ever (no writer
ever comes) and `/dev/zero` would fill memory; both are refused or cut short here with an
OSError or FileTooLarge whose message says why.

Writing the files that hold account data (the metadata file, its backup, an export): all at
once and private from creation (`write_atomically`)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

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
    try:
        handle = os.fdopen(fd, "rb")
    except BaseException:  # a folder (IsADirectoryError): the descriptor is still ours
        os.close(fd)
        raise
    with handle:
        info = os.fstat(fd)
        if regular and not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{kind_of(info.st_mode)}, not a regular file")
        if check is not None:
            check(info)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data


def write_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o600,
    before_replace: Callable[[os.stat_result], None] | None = None,
) -> None:
    """Replace `path` with `data` all at once, with `mode` (by default readable by its owner
    only): a temporary file beside it, created 0600 (never readable by others, not for a
    moment, whatever it ends as), written and synced, given `mode`, then renamed over `path`,
    and the folder synced. `before_replace` sees the written file's stat just before the
    rename. On any failure the temporary file is removed and a file at `path` before is left
    as it was. Errors: OSError (a failure of `before_replace` is raised as it is)."""
    import tempfile

    # mkstemp creates the file 0600 with O_EXCL: no other user can open it in between.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the platform's mkstemp did
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if mode != 0o600:
                os.fchmod(handle.fileno(), mode)
            if before_replace is not None:
                before_replace(os.fstat(handle.fileno()))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        _fsync_dir(path.parent)
    except OSError as exc:  # replaced already: the change is made, if not yet durable
        log.warning("cannot sync %s: %s", path.parent, exc.strerror or type(exc).__name__)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
