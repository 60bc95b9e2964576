"""AccountStore: the metadata file `accounts.json` (DESIGN.md section 4).

Written atomically (temp file in the same folder, fsync, os.replace) with mode 0600 in a 0700
folder; the previous version is kept as `accounts.json.bak`. A file that does not parse or has
a newer schema is never overwritten. Every read-modify-write happens under a cross-process
lock, and each account has its own lock for changes that span the keyring and the network.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from vault_app.core.errors import NoSuchAccountError, UsageError, VaultFileError
from vault_app.core.model import Account

if TYPE_CHECKING:
    from filelock import AsyncFileLock

SCHEMA_VERSION = 1
FILE_NAME = "accounts.json"
# How long a metadata write waits for more changes to join it. Nobody waits on it but the
# refresh that made the change (the next request has its slot already): a long window means
# fewer rewrites of a file that holds every account.
GATHER_SECONDS = 0.1
T = TypeVar("T")

DEFAULT_SETTINGS: dict[str, Any] = {
    "refresh_ahead_fraction": 0.25,
    "refresh_ahead_min_seconds": 60,
    "refresh_jitter_fraction": 0.10,
    "clipboard_seconds": 30,
    "copy_format": "raw",
    "start_minimized": False,
    "autostart": False,
    "notifications": True,
    "colour_scheme": "system",  # system, light or dark (the window)
    "window_geometry": "",  # the window's size and place: Base64 of QWidget.saveGeometry
    "column_widths": {},  # the table's column widths in px, by column title
    "sort_column": "Name",  # the table's sort column, by title
    "sort_order": "ascending",  # or "descending"
    "toolbar_visible": True,
    "pinned_accounts": [],  # account ids the tray's Copy menu always lists, in order
    "recent_accounts": [],  # account ids last copied, newest first (the tray's Copy menu)
}


def default_home() -> Path:
    """$TOKEN_VAULT_HOME when set (tests, several vaults), else the platform config folder."""
    env = os.environ.get("TOKEN_VAULT_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("token-vault", appauthor=False))


@dataclass
class VaultDoc:
    """The parsed metadata file."""

    vault_id: str
    accounts: list[Account] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    # Ids of accounts still shared with AccountStore's cache: find() and by_id() hand out a
    # copy of those instead (copy-on-write), so changing what they return is always safe.
    _shared: set[str] = field(default_factory=set, repr=False, compare=False)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SETTINGS.get(name))

    def find(self, name: str) -> Account:
        for row, account in enumerate(self.accounts):
            if account.name == name:
                return self._own(row, account)
        raise NoSuchAccountError(f"no account named {name!r} (see: token-vault list)")

    def by_id(self, account_id: str) -> Account:
        for row, account in enumerate(self.accounts):
            if account.id == account_id:
                return self._own(row, account)
        raise NoSuchAccountError("the account was removed meanwhile")

    def _own(self, row: int, account: Account) -> Account:
        if self._shared and account.id in self._shared:
            self._shared.discard(account.id)
            account = self.accounts[row] = account.copy()
        return account

    def cow_copy(self) -> VaultDoc:
        """A copy to change, made in microseconds: the account list and settings are new, the
        accounts are copied only when looked up (find, by_id)."""
        return VaultDoc(
            self.vault_id,
            list(self.accounts),
            dict(self.settings),
            {a.id for a in self.accounts},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "vault_id": self.vault_id,
            "accounts": [a.to_json() for a in self.accounts],
            "settings": self.settings,
        }


class AccountStore:
    def __init__(self, home: Path | None = None) -> None:
        self.home = default_home() if home is None else home
        self.path = self.home / FILE_NAME
        self.backup_path = self.home / (FILE_NAME + ".bak")
        self.lock_dir = self.home / "locks"
        self._cache: tuple[tuple[int, int, int], VaultDoc] | None = None
        self._batch: _Batch | None = None
        self._dirs_made = False

    def _ensure_dirs(self) -> None:
        if self._dirs_made and self.lock_dir.is_dir():
            return
        for folder in (self.home, self.lock_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.home, 0o700)
        self._dirs_made = True

    # -- reading --------------------------------------------------------------------------

    def load(self) -> VaultDoc:
        """The vault as stored, for reading: the same objects until the file changes (a stat
        tells), so a refresh engine looking at 2,000 accounts many times a second parses the
        file once per change, not once per look. Never change what it returns: changes go
        through `update`. A missing file is an empty vault (not written until changed)."""
        try:
            stat = self.path.stat()
        except OSError:
            return self._read()  # missing: an empty vault; unreadable: says why
        identity = _identity(stat)
        cached = self._cache
        if cached is not None and cached[0] == identity:
            return cached[1]
        doc = self._read()
        # Unless a writer (on another thread) put its newer version there meanwhile.
        if self._cache is cached:
            self._cache = (identity, doc)
        return doc

    def _read_private(self) -> VaultDoc:
        """The file as stored, as objects the caller may change: a copy of what load() keeps
        when the file is still that, else a fresh parse. Call it under the metadata lock."""
        cached = self._cache
        try:
            if cached is not None and cached[0] == _identity(self.path.stat()):
                return cached[1].cow_copy()
        except OSError:
            pass
        return self._read()

    def _read(self) -> VaultDoc:
        """A fresh parse of the file, private to the caller."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            import uuid  # here, not at the top: the window's start-up path reads, never creates

            return VaultDoc(vault_id=uuid.uuid4().hex)
        except OSError as exc:
            raise VaultFileError(f"cannot read {self.path}: {exc.strerror}") from None
        return self._parse(raw)

    def _refuse(self, what: str) -> VaultFileError:
        backup = (
            f"the previous version is in {self.backup_path}"
            if self.backup_path.exists()
            else "there is no backup"
        )
        return VaultFileError(f"{self.path}: {what}; the file was left untouched ({backup})")

    def _parse(self, raw: bytes) -> VaultDoc:
        try:
            data = json.loads(raw)
        except UnicodeDecodeError:
            raise self._refuse("not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise self._refuse(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise self._refuse("not a Token Vault file (top level is not an object)")
        schema = data.get("schema")
        if not isinstance(schema, int):
            raise self._refuse("not a Token Vault file (no schema version)")
        if schema > SCHEMA_VERSION:
            raise self._refuse(
                f"written by a newer Token Vault (schema {schema}, this one reads {SCHEMA_VERSION})"
            )
        vault_id = data.get("vault_id")
        accounts = data.get("accounts", [])
        settings = data.get("settings", {})
        if not isinstance(vault_id, str) or not vault_id:
            raise self._refuse("no vault id")
        if not isinstance(accounts, list) or not isinstance(settings, dict):
            raise self._refuse("accounts or settings have the wrong shape")
        try:
            parsed = [Account.from_json(item) for item in accounts]
        except (TypeError, ValueError, AttributeError) as exc:
            raise self._refuse(f"an account entry is damaged ({type(exc).__name__})") from None
        return VaultDoc(vault_id=vault_id, accounts=parsed, settings=settings)

    # -- writing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _metadata_lock(self) -> Iterator[None]:
        self._ensure_dirs()
        from filelock import FileLock  # here, not at the top: reading needs no lock

        with FileLock(self.lock_dir / "accounts.lock", timeout=30):
            yield

    def update(self, change: Callable[[VaultDoc], T]) -> T:
        """Re-read the file under the lock, apply `change`, write the result atomically.
        Another process's update in between is never lost."""
        with self._metadata_lock():
            doc = self._read_private()
            result = change(doc)
            self._write(doc)
            return result

    async def aupdate(self, change: Callable[[VaultDoc], T]) -> T:
        """`update` off the event loop, with group commit: the changes that arrive while a
        write is under way are applied together in the next one (one read, one write and one
        fsync for all of them), and each caller resumes once its change is on disk. A storm
        of 1,000 refreshes writes the file tens of times, not 1,000."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._batch is None or self._batch.loop is not loop:
            self._batch = _Batch(self, loop)
        future: asyncio.Future[T] = loop.create_future()
        self._batch.add(change, future)
        return await future

    def _apply_batch(self, changes: list[Callable[[VaultDoc], Any]]) -> list[tuple[bool, Any]]:
        """Apply the changes in order under one lock and write once. A change that raises is
        reported to its caller and left out: the others are applied again to a fresh read,
        so nothing it half-did is written."""
        failed: dict[int, Exception] = {}
        with self._metadata_lock():
            while True:
                doc, results = self._read_private(), {}
                for i, change in enumerate(changes):
                    if i in failed:
                        continue
                    try:
                        results[i] = change(doc)
                    except Exception as exc:
                        failed[i] = exc
                        break
                else:
                    break
            if results:
                self._write(doc)
        return [
            (False, failed[i]) if i in failed else (True, results[i]) for i in range(len(changes))
        ]

    def ensure_created(self) -> VaultDoc:
        """The vault, written to disk if it did not exist (its id names the keyring items)."""
        with self._metadata_lock():
            if self.path.exists():
                return self.load()
            doc = self.load()
            self._write(doc)
            return doc

    def _write(self, doc: VaultDoc) -> None:
        self._ensure_dirs()
        # Compact: with `indent` json falls back to its pure-Python encoder, 10x slower.
        data = json.dumps(doc.to_json(), separators=(",", ":"), sort_keys=True).encode() + b"\n"
        if self.path.exists():
            self._keep_backup()

        def remember(written: os.stat_result) -> None:
            # What is being written is what the next load() would parse: keep it, from before
            # the rename (which keeps inode, mtime and size), so no reader parses it again.
            self._cache = (_identity(written), doc)

        self._atomic_write(self.path, data, remember)

    def _keep_backup(self) -> None:
        """The current file becomes the backup: a second name for the same (already synced)
        data, swapped in atomically; copying would read, write and sync it all again."""
        link = self.home / f".{self.backup_path.name}.link"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        try:
            os.link(self.path, link)
        except OSError:  # no hard links here (some network or FAT file systems): copy
            self._atomic_write(self.backup_path, self.path.read_bytes())
            return
        os.replace(link, self.backup_path)

    def _atomic_write(
        self,
        target: Path,
        data: bytes,
        before_replace: Callable[[os.stat_result], None] | None = None,
    ) -> None:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=self.home)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                if before_replace is not None:
                    before_replace(os.fstat(handle.fileno()))
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.home)

    # -- locks ----------------------------------------------------------------------------

    def async_account_lock(self, account_id: str, timeout: float = 120) -> AsyncFileLock:
        """The cross-process lock held around any change to one account's secrets; waiting
        for it polls instead of blocking the event loop. (Attempts stay on the loop: on a
        worker thread each one waited behind the GIL and other work, and a 1,000-account
        refresh storm took half as long again.)"""
        self._ensure_dirs()
        from filelock import AsyncFileLock

        return AsyncFileLock(
            self.lock_dir / f"{account_id}.lock", timeout=timeout, run_in_executor=False
        )

    def export_definitions(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        doc = self.load()
        chosen = doc.accounts if not names else [doc.find(n) for n in names]
        return [{"name": a.name, "provider": a.provider, "fields": dict(a.fields)} for a in chosen]


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    """Which version of the file this is: an atomic replace brings a new inode, an edit in
    place a new mtime or size. (Not ctime: linking the backup changes it.)"""
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class _Batch:
    """The group commit of AccountStore.aupdate, bound to one event loop."""

    def __init__(self, store: AccountStore, loop: Any) -> None:
        self.store = store
        self.loop = loop
        self.pending: list[tuple[Callable[[VaultDoc], Any], Any]] = []
        self.running = False

    def add(self, change: Callable[[VaultDoc], Any], future: Any) -> None:
        self.pending.append((change, future))
        if not self.running:
            self.running = True
            self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        import asyncio

        try:
            busy = False
            while self.pending:
                if busy:
                    # Changes kept coming while the last write ran: a storm. Let the ones
                    # about to arrive join this write. (A lone change is written at once.)
                    await asyncio.sleep(GATHER_SECONDS)
                busy = True
                batch, self.pending = self.pending, []
                try:
                    outcomes = await asyncio.to_thread(
                        self.store._apply_batch, [change for change, _ in batch]
                    )
                except Exception as exc:  # the lock or the write failed: every caller hears it
                    outcomes = [(False, exc)] * len(batch)
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self.running = False


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(c in name for c in "\n\r\t/\\") or name.startswith("-"):
        raise UsageError(
            f"invalid account name {name!r}: 1 to 64 characters, no slashes, no leading dash"
        )
    return name
