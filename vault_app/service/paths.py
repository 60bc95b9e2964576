"""Where a vault's CLI socket lives: `$XDG_RUNTIME_DIR/token-vault/<key>.sock`, beside the lock
file `<key>.lock` its server holds while it serves. `<key>` is a digest of the vault's home, so
several vaults ($TOKEN_VAULT_HOME) never share a socket. Without $XDG_RUNTIME_DIR the folder is
`$TMPDIR/token-vault-<uid>` (or /tmp), as tmux does. Either folder must be a real directory
owned by this user with no access for anyone else (mode 0700); a server creates it so, and
neither side uses one that is not.

Light on purpose: `token-vault token` imports this before anything else."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

FOLDER = "token-vault"
# sockaddr_un.sun_path holds 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107


class UnsafeFolderError(Exception):
    """The runtime folder exists but is not private to this user; the message says how."""


def vault_key(home: Path) -> str:
    """16 hex digits naming the vault whose home is `home` (resolved, so two spellings of one
    folder share a socket)."""
    return hashlib.sha256(str(home.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def runtime_folder() -> Path:
    """The folder that holds this user's sockets (which may not exist yet)."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isabs(base):
        return Path(base) / FOLDER
    tmp = os.environ.get("TMPDIR", "")
    return Path(tmp if os.path.isabs(tmp) else "/tmp") / f"{FOLDER}-{os.getuid()}"  # noqa: S108


def socket_path(home: Path) -> Path:
    return runtime_folder() / f"{vault_key(home)}.sock"


def lock_path(home: Path) -> Path:
    return runtime_folder() / f"{vault_key(home)}.lock"


def check_private(folder: Path) -> None:
    """UnsafeFolderError unless `folder` is a directory (not a symlink) owned by this user and
    closed to group and others; FileNotFoundError when it does not exist."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolderError(f"{folder} is not a directory")
    if info.st_uid != os.getuid():
        raise UnsafeFolderError(f"{folder} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise UnsafeFolderError(
            f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):04o}, needs 0700)"
        )


def make_private(folder: Path) -> None:
    """Create `folder` with mode 0700 when missing (its parent must exist), then check it."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    check_private(folder)
