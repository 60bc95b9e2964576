"""Where a vault's CLI socket lives: `$XDG_RUNTIME_DIR/token-vault/<key>.sock`, beside the lock
file `<key>.lock` its server holds while it serves. `<key>` is a digest of the vault's home, so
several vaults ($TOKEN_VAULT_HOME) never share a socket. Without $XDG_RUNTIME_DIR the folder is
`$TMPDIR/token-vault-<uid>` (or /tmp), as tmux does. Either folder must be a real directory
owned by this user with no access for anyone else (mode 0700); a server creates it so, and
neither side uses one that is not.

Light on purpose: `token-vault token` asks the socket before anything else is imported (no
pathlib, hashlib or account_store here; plain strings and os.path)."""

from __future__ import annotations

import contextlib
import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from pathlib import Path

try:  # the interpreter's own SHA-256: hashlib would load OpenSSL first (3 ms per `token`)
    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,no-redef,unused-ignore]

FOLDER = "token-vault"
# sockaddr_un.sun_path holds 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107


class UnsafeFolderError(Exception):
    """The runtime folder exists but is not private to this user; the message says how."""


def default_home() -> str:
    """The vault home as core/account_store.py's default_home() finds it ($TOKEN_VAULT_HOME,
    else the platform config folder), without importing the account store; a test holds the
    two to the same answer."""
    env = os.environ.get("TOKEN_VAULT_HOME")
    if env:
        return os.path.expanduser(env)
    import platformdirs

    return str(platformdirs.user_config_dir("token-vault", appauthor=False))


def vault_key(home: str | os.PathLike[str]) -> str:
    """16 hex digits naming the vault whose home is `home` (resolved, so two spellings of one
    folder share a socket; os.path.realpath is what Path.resolve uses)."""
    resolved = os.path.realpath(os.fspath(home))
    digest: str = sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()
    return digest[:16]


def runtime_folder() -> str:
    """The folder that holds this user's sockets (which may not exist yet)."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isabs(base):
        return os.path.join(base, FOLDER)
    tmp = os.environ.get("TMPDIR", "")
    return os.path.join(tmp if os.path.isabs(tmp) else "/tmp", f"{FOLDER}-{os.getuid()}")  # noqa: S108


def socket_file(home: str | os.PathLike[str]) -> str:
    return os.path.join(runtime_folder(), f"{vault_key(home)}.sock")


def lock_file(home: str | os.PathLike[str]) -> str:
    return os.path.join(runtime_folder(), f"{vault_key(home)}.lock")


def socket_path(home: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(socket_file(home))


def check_private(folder: str | os.PathLike[str]) -> None:
    """UnsafeFolderError unless `folder` is a directory (not a symlink) owned by this user and
    closed to group and others; FileNotFoundError when it does not exist."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolderError(f"{os.fspath(folder)} is not a directory")
    if info.st_uid != os.getuid():
        raise UnsafeFolderError(f"{os.fspath(folder)} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise UnsafeFolderError(
            f"{os.fspath(folder)} is open to other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}, needs 0700)"
        )


def make_private(folder: str | os.PathLike[str]) -> None:
    """Create `folder` with mode 0700 when missing (its parent must exist), then check it."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    check_private(folder)
