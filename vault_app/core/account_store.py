"""AccountStore: the metadata file `accounts.json` (DESIGN.md section 4).

Written atomically (temp file in the same folder, fsync, os.replace) with mode 0600 in a 0700
folder; the previous version is kept as `accounts.json.bak`. The whole document is checked
against its schema (vault_schema.py) on every load: a file that does not parse, has a newer
schema, or fails the schema's types, is never overwritten. A vault folder or file that another
user owns, or that group or others may write, is refused with the command that fixes it (as
ssh does for its keys). Operating-system errors (read-only folder, full disk, unreadable file)
become one-line VaultFileErrors naming the file and the reason, with nothing changed. Every
read-modify-write happens under a cross-process lock, and each account has its own lock for
changes that span the keyring and the network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from vault_app.core import files
from vault_app.core.errors import NoSuchAccountError, UsageError, UserFacingError, VaultFileError
from vault_app.core.model import ACCOUNT_TIMES, ID_PATTERN, TEXT_MAX, Account, Leftover
from vault_app.core.settings import DEFAULT_SETTINGS
from vault_app.core.text import first_unprintable

if TYPE_CHECKING:
    from vault_app.core.account_lock import AccountLock

__all__ = ["DEFAULT_SETTINGS", "FILE_NAME", "SCHEMA_VERSION", "AccountStore", "VaultDoc"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # vault_schema.SCHEMA_VERSION, without importing msgspec to read it
FILE_NAME = "accounts.json"
# 2,000 accounts take about 2 MiB: a file this large was not written by Token Vault.
MAX_FILE_BYTES = 64 * 1024 * 1024
# How long a metadata write waits for more changes to join it. Nobody waits on it but the
# refresh that made the change (the next request has its slot already): a long window means
# fewer rewrites of a file that holds every account.
GATHER_SECONDS = 0.1
# How long a metadata change waits for another process's change to finish.
LOCK_TIMEOUT = 30.0
NAME_MAX = 64
T = TypeVar("T")


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
    # Keyring items of removed accounts that could not be deleted yet (see Vault.remove).
    leftovers: list[Leftover] = field(default_factory=list)
    # Ids of accounts still shared with AccountStore's cache: find() and by_id() hand out a
    # copy of those instead (copy-on-write), so changing what they return is always safe.
    _shared: set[str] = field(default_factory=set, repr=False, compare=False)
    # Account id -> its place in `accounts`, checked on every use and rebuilt when stale
    # (callers may reorder, append or replace the list): by_id in O(1) for 2,000 accounts.
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SETTINGS.get(name))

    def find(self, name: str) -> Account:
        for row, account in enumerate(self.accounts):
            if account.name == name:
                return self._own(row, account)
        raise NoSuchAccountError(f"no account named {name!r} (see: token-vault list)")

    def by_id(self, account_id: str) -> Account:
        row = self._index.get(account_id)
        accounts = self.accounts
        if row is None or row >= len(accounts) or accounts[row].id != account_id:
            self._index = {}
            for place, account in enumerate(accounts):
                self._index.setdefault(account.id, place)  # the first, as a scan finds
            row = self._index.get(account_id)
            if row is None:
                raise NoSuchAccountError("the account was removed meanwhile")
        return self._own(row, accounts[row])

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
            list(self.leftovers),
            {a.id for a in self.accounts},
        )


class AccountStore:
    def __init__(self, home: Path | None = None) -> None:
        self.home = default_home() if home is None else home
        self.path = self.home / FILE_NAME
        self.backup_path = self.home / (FILE_NAME + ".bak")
        self.lock_dir = self.home / "locks"
        self._cache: tuple[Identity, VaultDoc] | None = None
        self._batch: _Batch | None = None
        self._dirs_made = False

    def _ensure_dirs(self) -> None:
        if self._dirs_made and self.lock_dir.is_dir():
            return
        for folder in (self.home, self.lock_dir):
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise VaultFileError(f"cannot create {folder}: {_reason(exc)}") from None
        with contextlib.suppress(OSError):
            # Private, never more open: a folder its owner made read-only stays read-only.
            mode = stat.S_IMODE(os.stat(self.home).st_mode)
            if mode & 0o077:
                os.chmod(self.home, mode & 0o700)
        self._dirs_made = True

    # -- reading --------------------------------------------------------------------------

    def load(self) -> VaultDoc:
        """The vault as stored, for reading: the same objects until the file changes (a stat
        tells), so a refresh engine looking at 2,000 accounts many times a second parses the
        file once per change, not once per look. Never change what it returns: changes go
        through `update`. A missing file is an empty vault (not written until changed)."""
        try:
            identity = self._identity()
        except OSError:
            return self._read()  # missing: an empty vault; unreadable: says why
        cached = self._cache
        if cached is not None and cached[0] == identity:
            return cached[1]
        doc = self._read()
        # Unless a writer (on another thread) put its newer version there meanwhile.
        if self._cache is cached:
            self._cache = (identity, doc)
        return doc

    def preview(self) -> tuple[list[Account], dict[str, Any]] | None:
        """The accounts and settings as stored, read for the window's first paint with the
        standard library's json alone (the schema check's msgspec costs the first frame more
        than reading 2,000 accounts does). A folder or file others could change is refused
        as load() refuses it; anything unusual gives None. For display only: load() reads
        the file properly right after, and its word is final (a damaged file is reported
        then, and the preview taken away). A missing file is an empty vault."""
        try:
            _check_private(self.home, os.stat(self.home), is_folder=True)
            raw = files.read_capped(
                self.path,
                MAX_FILE_BYTES,
                check=lambda info: _check_private(self.path, info, is_folder=False),
            )
            return _previewed(json.loads(raw), time.time())
        except FileNotFoundError:
            return [], {}
        except (OSError, ValueError, TypeError, AttributeError, RecursionError, UserFacingError):
            return None  # a nesting too deep for json is RecursionError

    def _identity(self) -> Identity:
        return _identity(self.path.stat(), os.stat(self.home))

    def _read_private(self) -> VaultDoc:
        """The file as stored, as objects the caller may change: a copy of what load() keeps
        when the file is still that, else a fresh parse. Call it under the metadata lock."""
        cached = self._cache
        try:
            if cached is not None and cached[0] == self._identity():
                return cached[1].cow_copy()
        except OSError:
            pass
        return self._read()

    def _read(self) -> VaultDoc:
        """A fresh parse of the file, private to the caller. A missing file (or folder) is an
        empty vault; a folder or file others could change is refused before it is read."""
        try:
            folder = os.stat(self.home)
        except FileNotFoundError:
            return self._empty()
        except OSError as exc:
            raise VaultFileError(f"cannot read {self.home}: {_reason(exc)}") from None
        _check_private(self.home, folder, is_folder=True)
        try:
            raw = files.read_capped(
                self.path,
                MAX_FILE_BYTES,
                check=lambda info: _check_private(self.path, info, is_folder=False),
            )
        except FileNotFoundError:
            return self._empty()
        except OSError as exc:
            raise VaultFileError(f"cannot read {self.path}: {_reason(exc)}") from None
        except files.FileTooLarge:
            raise self._refuse(
                f"larger than {files.size_words(MAX_FILE_BYTES)}, which no vault needs"
            ) from None
        return self._parse(raw)

    @staticmethod
    def _empty() -> VaultDoc:
        import uuid  # here, not at the top: the window's start-up path reads, never creates

        return VaultDoc(vault_id=uuid.uuid4().hex)

    def _refuse(self, what: str) -> VaultFileError:
        backup = (
            f"the previous version is in {self.backup_path}"
            if self.backup_path.exists()
            else "there is no backup"
        )
        return VaultFileError(f"{self.path}: {what}; the file was left untouched ({backup})")

    def _parse(self, raw: bytes) -> VaultDoc:
        # Here, not at the top: msgspec is not needed before the window's first paint.
        from vault_app.core import vault_schema

        try:
            decoded = vault_schema.decode(raw)
        except vault_schema.SchemaError as exc:
            raise self._refuse(exc.problem) from None
        return VaultDoc(
            vault_id=decoded.vault_id,
            accounts=decoded.accounts,
            settings=decoded.settings,
            leftovers=decoded.leftovers,
        )

    # -- writing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _metadata_lock(self) -> Iterator[None]:
        self._ensure_dirs()
        from filelock import FileLock, Timeout  # here, not at the top: reading needs no lock

        path = self.lock_dir / "accounts.lock"
        lock = FileLock(path, timeout=LOCK_TIMEOUT)
        try:
            lock.acquire()
        except Timeout:
            raise UserFacingError(
                f"another Token Vault process has held {path} for {LOCK_TIMEOUT:g} s; try again"
            ) from None
        except OSError as exc:
            raise VaultFileError(f"cannot lock {path}: {_reason(exc)}") from None
        try:
            yield
        finally:
            lock.release()

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
        """Write `doc` atomically, or raise VaultFileError with the file as it was: a change
        that does not fit the schema, or the operating system refusing the write."""
        from vault_app.core import vault_schema

        self._ensure_dirs()
        now = time.time()
        for account in doc.accounts:
            if account.id in doc._shared:
                continue  # as loaded, and checked then
            for name in vault_schema.insane_times(account, now):
                # Defence in depth: callers check times where they enter; none is stored
                # that the next load would have to ignore.
                log.warning("account %s: %s out of range; stored as unknown", account.id, name)
                setattr(account, name, None)
        try:
            data = vault_schema.encode(doc.vault_id, doc.accounts, doc.settings, doc.leftovers)
        except vault_schema.SchemaError as exc:
            raise VaultFileError(
                f"{self.path} was not written: the change would leave it {exc.problem}"
            ) from None

        def remember(written: os.stat_result) -> None:
            # What is being written is what the next load() would parse: keep it, from before
            # the rename (which keeps inode, mtime and size), so no reader parses it again.
            self._cache = (_identity(written, os.stat(self.home)), doc)

        try:
            if self.path.exists():
                self._keep_backup()
            files.write_atomically(self.path, data, before_replace=remember)
        except OSError as exc:
            raise VaultFileError(
                f"cannot write {self.path}: {_reason(exc)}; it was left as it was"
            ) from None

    def _keep_backup(self) -> None:
        """The current file becomes the backup: a second name for the same (already synced)
        data, swapped in atomically; copying would read, write and sync it all again."""
        link = self.home / f".{self.backup_path.name}.link"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        try:
            os.link(self.path, link)
        except OSError:  # no hard links here (some network or FAT file systems): copy
            files.write_atomically(self.backup_path, self.path.read_bytes())
            return
        os.replace(link, self.backup_path)

    # -- locks ----------------------------------------------------------------------------

    def async_account_lock(self, account_id: str, timeout: float = 120) -> AccountLock:
        """The cross-process lock held around any change to one account's secrets; waiting
        for it polls instead of blocking the event loop (account_lock.py). (Attempts stay on
        the loop: on a worker thread each one waited behind the GIL and other work, and a
        1,000-account refresh storm took half as long again.)"""
        self._ensure_dirs()
        from vault_app.core.account_lock import AccountLock

        return AccountLock(self.lock_dir / f"{account_id}.lock", timeout)

    def export_definitions(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        doc = self.load()
        chosen = doc.accounts if not names else [doc.find(n) for n in names]
        return [{"name": a.name, "provider": a.provider, "fields": dict(a.fields)} for a in chosen]


Identity = tuple[int, int, int, int, int, int, int]


def _previewed(data: Any, now: float) -> tuple[list[Account], dict[str, Any]] | None:
    """AccountStore.preview's reading of the parsed file: the fields the window shows, with
    times as vault_schema reads them (bounds.moment); None for anything vault_schema would
    refuse, whose checks are repeated here in plain Python (a first frame that showed a
    damaged file as fine would be a lie, however soon load() took it back)."""
    from vault_app.core import bounds
    from vault_app.core.model import Status

    if not isinstance(data, dict) or not _is_int(data.get("schema")):
        return None
    accounts_data = data.get("accounts", [])
    settings, leftovers = data.get("settings", {}), data.get("leftovers", [])
    if not (
        1 <= data["schema"] <= SCHEMA_VERSION
        and _is_id(data.get("vault_id"))
        and isinstance(accounts_data, list)
        and isinstance(settings, dict)
        and all(_setting_ok(name, value) for name, value in settings.items())
        and isinstance(leftovers, list)
        and all(_leftover_ok(item) for item in leftovers)
    ):
        return None
    accounts = []
    for item in accounts_data:
        if not isinstance(item, dict):
            return None
        texts: list[Any] = [item.get(key) for key in ("id", "name", "provider")]
        fields, secret_fields = item.get("fields", {}), item.get("secret_fields", [])
        last_error, generation = item.get("last_error"), item.get("generation", 0)
        status = item.get("status", Status.SIGNED_OUT.value)
        if not (
            _is_id(texts[0])
            and all(_is_text(text) for text in texts[1:])
            and isinstance(fields, dict)
            and all(isinstance(v, str) for v in fields.values())
            and isinstance(secret_fields, list)
            and all(isinstance(name, str) for name in secret_fields)
            and (last_error is None or isinstance(last_error, str))
            and _is_int(generation)
            and 0 <= generation <= 2**53
            and isinstance(status, str)
            and all(item.get(key) is None or _is_number(item[key]) for key in ACCOUNT_TIMES)
        ):
            return None
        times = {key: bounds.moment(item.get(key), now) for key in ACCOUNT_TIMES}
        accounts.append(
            Account(
                id=texts[0],
                name=texts[1],
                provider=texts[2],
                fields=fields,
                status=Status(status),
                last_error=last_error,
                generation=generation,
                secret_fields=secret_fields,
                **times,
            )
        )
    if len({a.id for a in accounts}) != len(accounts):
        return None
    if len({a.name for a in accounts}) != len(accounts):
        return None
    return accounts, settings


# What vault_schema checks, for _previewed (which must not import msgspec): its Id pattern
# (searched, as msgspec does) and NonEmpty's length.
_ID = re.compile(ID_PATTERN)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A JSON number msgspec reads as a float (an int too large for one is refused)."""
    if isinstance(value, float):
        return True
    if not _is_int(value):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.search(value) is not None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= TEXT_MAX


def _leftover_ok(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and _is_id(item.get("id"))
        and isinstance(item.get("name"), str)
        and all(_is_int(item.get(key)) and 0 <= item[key] <= 2**53 for key in ("first", "last"))
    )


def _setting_ok(name: str, value: Any) -> bool:
    """Whether vault_schema.check_setting takes `value` for setting `name` (settings.py);
    a setting of a kind not known here counts as refused."""
    from vault_app.core.settings import SETTINGS

    spec = SETTINGS.get(name)
    if spec is None:
        return True
    if spec.kind is bool:
        return isinstance(value, bool)
    if spec.kind is str:
        return isinstance(value, str) and (not spec.choices or value in spec.choices)
    if spec.kind in (int, float):
        if not (_is_int(value) if spec.kind is int else _is_number(value)):
            return False
        low = -math.inf if spec.low is None else spec.low
        high = math.inf if spec.high is None else spec.high
        return bool(low <= value <= high)
    if spec.kind == dict[str, int]:
        return isinstance(value, dict) and all(_is_int(v) for v in value.values())
    if spec.kind == list[str]:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return False


def _identity(file: os.stat_result, folder: os.stat_result) -> Identity:
    """Which version of the file this is: an atomic replace brings a new inode, an edit in
    place a new mtime or size (not ctime: linking the backup changes it). With the modes and
    owners of the file and its folder, so a chmod or chown is checked as soon as it is made."""
    return (
        file.st_ino,
        file.st_mtime_ns,
        file.st_size,
        file.st_mode,
        file.st_uid,
        folder.st_mode,
        folder.st_uid,
    )


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


def check_name(name: str) -> str:
    """An account name as typed, stripped; UsageError unless it has 1 to NAME_MAX printable
    characters (no control, format or bidi characters: see text.py), no slash or backslash
    and no leading dash (it would read as an option)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        problem = f"1 to {NAME_MAX} characters"
    elif first_unprintable(name) is not None:
        problem = f"no control, format or bidi characters (found {first_unprintable(name)})"
    elif "/" in name or "\\" in name:
        problem = "no slashes"
    elif name.startswith("-"):
        problem = "no leading dash"
    else:
        return name
    raise UsageError(f"invalid account name {name[:80]!r}: {problem}")


def _reason(exc: OSError) -> str:
    """What the operating system said, in words ("No space left on device")."""
    return exc.strerror or type(exc).__name__


def _check_private(path: Path, info: os.stat_result, *, is_folder: bool) -> None:
    """Refuse a vault folder or file that belongs to another user or that group or others
    may write: anyone who can change it can point an account at their own server."""
    if os.name != "posix":
        return
    import shlex

    me = os.getuid()
    if info.st_uid != me:
        owner, user = _user_name(info.st_uid), _user_name(me)
        raise VaultFileError(
            f"{path} belongs to {owner}, not to {user}: refusing to use a vault another user "
            f"can change; if it is yours, run: sudo chown -R {user}: {shlex.quote(str(path))}"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = stat.S_IMODE(info.st_mode)
        private = "700" if is_folder else "600"
        raise VaultFileError(
            f"{path} can be changed by other users (mode {mode:04o}): refusing to use it; "
            f"fix it with: chmod {private} {shlex.quote(str(path))}"
        )


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
