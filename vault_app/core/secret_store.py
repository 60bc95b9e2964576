"""SecretStore: every account's secrets and tokens in the OS keyring (DESIGN.md section 4).

One keyring item per account per generation holds a `SecretBundle` as JSON. Changing secrets
writes generation N+1, reads it back, and only then lets the metadata switch to N+1 and delete
N; an N+1 found beside metadata N is a crash leftover holding the newest tokens and is adopted.
Values longer than the backend's limit are split over numbered items; the head item is written
last, so a head that exists always has all its chunks.

Keyring calls block (about 15 ms on GNOME Keyring, unbounded while an unlock prompt is open),
so they run on one dedicated daemon thread with a timeout: never on the caller's thread, and
never waited for at exit.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from vault_app.core import bounds, redact
from vault_app.core.errors import KeyringUnavailableError, VaultFileError
from vault_app.core.model import SecretBundle

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
DIRECT_HINT = "keyring-backend"  # beside accounts.json: see fast_read.py
# Windows Credential Manager holds about 1,280 characters per item (2,560 bytes of UTF-16);
# other backends take far more, but one limit everywhere keeps the stored layout portable.
DEFAULT_CHUNK_LIMIT = 1200 if sys.platform == "win32" else 100_000
_CHUNK_PREFIX = "token-vault-chunks:v1:"
RETRY_PAUSE = 0.5  # seconds before the one retry of a failed keyring call
# Generations written without the metadata catching up (a full disk under a refreshing app)
# that read_current looks through; far more than a disk stays full for.
MAX_UNRECORDED = 1000
# The head item "<prefix><count>:<sha256 hex>" must itself fit under the limit.
MIN_CHUNK_LIMIT = 128


class Backend(Protocol):
    """The three calls the store needs from a keyring: keyring's own API shape."""

    name: str

    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


@runtime_checkable
class Listing(Protocol):
    """A backend that can name the items it holds under a service (for leftovers: items of
    this vault that no account owns). The Secret Service and MemoryBackend can; keyring's
    own API cannot, so other backends report that they cannot."""

    def usernames(self, service: str) -> list[str]: ...


class MemoryBackend:
    """An in-process keyring for --demo and fast unit tests; gone when the process ends."""

    name = "memory (demo, nothing is saved)"

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self.items.pop((service, username), None) is None:
                raise KeyError(username)

    def usernames(self, service: str) -> list[str]:
        with self._lock:
            return [user for (where, user) in self.items if where == service]


class _KeyringBackend:
    """The system keyring through the `keyring` package, refusing backends that would not
    keep a secret (fail, null, anything of priority < 1)."""

    def __init__(self) -> None:
        import keyring
        from keyring.backends import chainer, fail, null

        chosen = keyring.get_keyring()
        self.name = _backend_name(chosen)
        backends = chosen.backends if isinstance(chosen, chainer.ChainerBackend) else [chosen]
        usable = [
            b
            for b in backends
            if not isinstance(b, (fail.Keyring, null.Keyring)) and _priority(b) >= 1
        ]
        if not usable or isinstance(chosen, (fail.Keyring, null.Keyring)):
            raise KeyringUnavailableError(
                f"no usable keyring (keyring chose {self.name}): install and unlock a Secret "
                "Service such as gnome-keyring or KWallet (Linux), or use the Windows "
                "Credential Manager / macOS Keychain; Token Vault never stores secrets in "
                "plain text"
            )
        self._keyring = chosen
        # fast_read.py reads these items itself only when keyring would look exactly there.
        self.direct_read = (
            type(chosen).__module__ == "keyring.backends.SecretService"
            and getattr(chosen, "scheme", "default") == "default"
            and not hasattr(chosen, "preferred_collection")
        )

    def get_password(self, service: str, username: str) -> str | None:
        value: str | None = self._keyring.get_password(service, username)
        return value

    def set_password(self, service: str, username: str, password: str) -> None:
        self._keyring.set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._keyring.delete_password(service, username)

    def usernames(self, service: str) -> list[str]:
        """Every item of `service`, found by the attributes keyring's SecretService backend
        gives its items (its scheme's `service` and `username`), in the collection it uses."""
        backend = self._secret_service()
        if backend is None:
            raise KeyringUnavailableError(f"{self.name} cannot list the items it holds")
        from contextlib import closing

        scheme = backend.schemes[backend.scheme]
        collection = backend.get_preferred_collection()
        with closing(collection.connection):
            items = collection.search_items({scheme["service"]: service})
            return [str(item.get_attributes().get(scheme["username"], "")) for item in items]

    def _secret_service(self) -> Any:
        from keyring.backends import SecretService, chainer

        chosen = self._keyring
        backends = chosen.backends if isinstance(chosen, chainer.ChainerBackend) else [chosen]
        for backend in backends:
            if isinstance(backend, SecretService.Keyring):
                return backend
        return None


def _priority(backend: Any) -> float:
    try:
        return float(backend.priority)
    except Exception:
        return 0.0


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}".removeprefix("keyring.backends.")


def configured_timeout() -> float:
    """$TOKEN_VAULT_KEYRING_TIMEOUT seconds when set to a sane lifetime (finite, positive, at
    most a day), else the default."""
    try:
        value = bounds.duration(float(os.environ.get("TOKEN_VAULT_KEYRING_TIMEOUT", "") or 0))
    except ValueError:
        value = None
    return value if value is not None and value <= 86400 else DEFAULT_TIMEOUT


class _DaemonExecutor:
    """One daemon worker thread: a stuck keyring call never blocks interpreter exit, unlike
    ThreadPoolExecutor, whose workers are joined at shutdown."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            future, fn = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((future, fn))
        return future

    def shutdown(self) -> None:
        """Stop taking work; does not wait for a call in progress."""
        self._queue.put(None)


class SecretStore:
    """Generational, chunked storage of `SecretBundle`s under one vault's keyring service."""

    def __init__(
        self,
        vault_id: str,
        backend: Backend | None = None,
        *,
        chunk_limit: int = DEFAULT_CHUNK_LIMIT,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 1,
        hint_file: Path | None = None,
    ) -> None:
        """`hint_file`: where to note whether the resolved keyring allows the direct read of
        fast_read.py (None: nowhere). `retries`: extra tries of a failed call."""
        if chunk_limit < MIN_CHUNK_LIMIT:
            raise ValueError(
                f"chunk_limit below {MIN_CHUNK_LIMIT} characters cannot hold a chunk header"
            )
        self.vault_id = vault_id
        self.chunk_limit = chunk_limit
        self.timeout = timeout
        self._backend: Backend | None = backend
        self.retries = retries
        self.hint_file = hint_file
        self._executor = _DaemonExecutor("keyring")
        # Heads this process wrote or read that hold their value itself (not a chunk list),
        # so deleting a superseded generation needs no read first. Keyring thread only.
        self._plain_heads: set[str] = set()

    @property
    def service(self) -> str:
        """The keyring service every item of this vault is stored under."""
        return f"token-vault:{self.vault_id}"

    # -- running calls off the caller's thread -------------------------------------------

    def _guarded(self, fn: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            for attempt in range(self.retries + 1):
                try:
                    return fn()
                except (KeyringUnavailableError, VaultFileError):
                    raise
                except Exception as exc:
                    error = _map_keyring_error(exc)
                    # Every operation here is idempotent, and gnome-keyring occasionally
                    # loses an item under concurrent writers ("Item does not exist") or
                    # aborts and is restarted by its supervisor: one more try after a pause
                    # (on this thread, never the caller's). A locked keyring will not unlock
                    # itself, so that is final.
                    if attempt == self.retries or "locked" in error.message:
                        raise error from None
                    log.info("keyring call failed (%s); trying once more", type(exc).__name__)
                    time.sleep(RETRY_PAUSE)
            raise AssertionError("unreachable")

        return run

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the keyring thread and wait for it, at most `timeout` seconds."""
        future = self._executor.submit(self._guarded(fn))
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            raise self._timeout_error() from None

    async def acall(self, fn: Callable[[], T]) -> T:
        """Like `call`, for coroutines: the event loop keeps running meanwhile."""
        import asyncio  # not at the top: `token-vault token` reads without an event loop

        future = self._executor.submit(self._guarded(fn))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            raise self._timeout_error() from None

    def _timeout_error(self) -> KeyringUnavailableError:
        return KeyringUnavailableError(
            f"the keyring did not answer within {self.timeout:g} s "
            "(locked, or waiting on an unlock prompt?)"
        )

    def close(self) -> None:
        """Stop the keyring thread after what it was given (its connection closed); does
        not wait."""
        backend = self._backend
        if backend is not None and hasattr(backend, "close"):
            self._executor.submit(backend.close)
        self._executor.shutdown()

    # -- blocking primitives: run only on the keyring thread -------------------------------

    def backend(self) -> Backend:
        """The backend given, else the system keyring as keyring resolves it: where that is
        its SecretService backend as configured by default, the same items over one kept
        connection (secret_service.py), else keyring's own API."""
        if self._backend is None:
            resolved = _KeyringBackend()
            if self.hint_file is not None:
                _note_direct_read(self.hint_file, resolved.direct_read)
            if resolved.direct_read:
                from vault_app.core.secret_service import SecretServiceBackend

                self._backend = SecretServiceBackend(resolved.name)
            else:
                self._backend = resolved
        return self._backend

    def ready(self) -> None:
        """Raise (KeyringUnavailableError through `call`) when the backend could not store a
        write now, where it can tell cheaply (the kept Secret Service connection: secret_service
        .py); others have nothing to check."""
        check = getattr(self.backend(), "ready", None)
        if check is not None:
            check()

    async def aready(self) -> None:
        """`ready` on the keyring thread; no trip there for a backend with nothing to check."""
        if self._backend is not None and not hasattr(self._backend, "ready"):
            return
        await self.acall(self.ready)

    def _key(self, account_id: str, generation: int, chunk: int | None = None) -> str:
        base = f"{account_id}:{generation}"
        return base if chunk is None else f"{base}:{chunk}"

    def read_raw(self, account_id: str, generation: int) -> str | None:
        backend = self.backend()
        head_key = self._key(account_id, generation)
        head = backend.get_password(self.service, head_key)
        if head is None or not head.startswith(_CHUNK_PREFIX):
            if head is not None:
                self._plain_heads.add(head_key)
            return head
        self._plain_heads.discard(head_key)
        try:
            count_text, digest = head[len(_CHUNK_PREFIX) :].split(":", 1)
            count = int(count_text)
        except ValueError:
            raise VaultFileError(f"keyring item {account_id}:{generation} is damaged") from None
        parts = []
        for index in range(1, count + 1):
            part = backend.get_password(self.service, self._key(account_id, generation, index))
            if part is None:
                raise VaultFileError(
                    f"keyring item {account_id}:{generation} is missing chunk {index} of {count}"
                )
            parts.append(part)
        value = "".join(parts)
        if hashlib.sha256(value.encode()).hexdigest() != digest:
            raise VaultFileError(f"keyring item {account_id}:{generation} fails its checksum")
        return value

    def write_raw(self, account_id: str, generation: int, value: str) -> None:
        backend = self.backend()
        head_key = self._key(account_id, generation)
        self._plain_heads.discard(head_key)
        if len(value) <= self.chunk_limit:
            backend.set_password(self.service, head_key, value)
            self._plain_heads.add(head_key)
            return
        parts = [value[i : i + self.chunk_limit] for i in range(0, len(value), self.chunk_limit)]
        for index, part in enumerate(parts, start=1):
            backend.set_password(self.service, self._key(account_id, generation, index), part)
        digest = hashlib.sha256(value.encode()).hexdigest()
        backend.set_password(self.service, head_key, f"{_CHUNK_PREFIX}{len(parts)}:{digest}")

    def delete_raw(self, account_id: str, generation: int, *, strict: bool = False) -> None:
        """Remove a generation: its chunks first (all of them, even under a damaged head),
        then the head, so a half-done delete never leaves a head without its chunks.
        `strict`: an item that stays after its delete raises (KeyringUnavailableError through
        `call`); otherwise deleting is best effort (a stale generation nobody reads)."""
        backend = self.backend()
        head_key = self._key(account_id, generation)
        if head_key in self._plain_heads and not strict:
            # Written or read by this process as a plain value: no chunks to find first.
            self._plain_heads.discard(head_key)
            _delete(backend, self.service, head_key, strict)
            return
        self._plain_heads.discard(head_key)
        head = backend.get_password(self.service, head_key)
        if head is None:
            return
        if head.startswith(_CHUNK_PREFIX):
            index = 1
            while True:
                key = self._key(account_id, generation, index)
                if backend.get_password(self.service, key) is None:
                    break
                _delete(backend, self.service, key, strict)
                index += 1
        _delete(backend, self.service, head_key, strict)

    def has(self, account_id: str, generation: int) -> bool:
        """Whether the head item of that generation exists (its value is not checked)."""
        key = self._key(account_id, generation)
        return self.backend().get_password(self.service, key) is not None

    def delete_item(self, username: str) -> None:
        """Remove one item by its keyring username (a leftover found by `usernames`);
        raises when it stays."""
        backend = self.backend()
        if backend.get_password(self.service, username) is not None:
            _delete(backend, self.service, username, True)

    def usernames(self) -> list[str]:
        """The keyring usernames of every item stored under this vault's service
        (`ACCOUNT:GENERATION` heads and `ACCOUNT:GENERATION:CHUNK` chunks); raises
        KeyringUnavailableError when the backend cannot list its items."""
        backend = self.backend()
        if not isinstance(backend, Listing):
            name = getattr(backend, "name", type(backend).__name__)
            raise KeyringUnavailableError(f"{name} cannot list the items it holds")
        return backend.usernames(self.service)

    def read_bundle(self, account_id: str, generation: int) -> SecretBundle | None:
        raw = self.read_raw(account_id, generation)
        if raw is None:
            return None
        try:
            bundle = SecretBundle.from_json(json.loads(raw))
        except (ValueError, TypeError, AttributeError):
            raise VaultFileError(
                f"keyring item {account_id}:{generation} does not hold Token Vault data"
            ) from None
        redact.register(bundle.values(), owner=account_id)
        return bundle

    def write_bundle(self, account_id: str, generation: int, bundle: SecretBundle) -> None:
        """Write one generation and read it back; a mismatch removes it and raises."""
        raw = json.dumps(bundle.to_json(), separators=(",", ":"), sort_keys=True)
        redact.register(bundle.values(), owner=account_id)
        self.write_raw(account_id, generation, raw)
        if self.read_raw(account_id, generation) != raw:
            self.delete_raw(account_id, generation)
            raise KeyringUnavailableError(
                "the keyring did not return what was written; nothing was changed"
            )

    def read_current(self, account_id: str, generation: int) -> tuple[int, SecretBundle] | None:
        """The newest bundle for metadata generation N: the last of N+1, N+2, ... when a
        crash or a failed metadata write left them (each was written after the one before and
        holds newer tokens), else N. Usually one read finds no N+1."""
        newest: tuple[int, SecretBundle] | None = None
        for ahead in range(generation + 1, generation + 1 + MAX_UNRECORDED):
            leftover = self.read_bundle(account_id, ahead)
            if leftover is None:
                break
            newest = (ahead, leftover)
        if newest is not None:
            return newest
        if generation == 0:
            return None
        current = self.read_bundle(account_id, generation)
        return None if current is None else (generation, current)


def owned_by(usernames: Iterable[str], account_id: str) -> list[str]:
    """The usernames that belong to `account_id`, chunks before heads (the order to delete
    them in: a head never stays without its chunks)."""
    mine = [u for u in usernames if u.partition(":")[0] == account_id]
    return sorted(mine, key=lambda u: (-u.count(":"), u))


def unowned(usernames: Iterable[str], generations: Mapping[str, int]) -> list[str]:
    """The usernames no account owns, given each account's metadata generation N: those of
    unknown accounts, generations before N, and anything not of our `ID:GEN[:CHUNK]` shape.
    N and above are owned: the current item and newer ones the next load adopts."""
    out = []
    for username in usernames:
        account_id, _, rest = username.partition(":")
        number = rest.partition(":")[0]
        current = generations.get(account_id)
        if current is None or not (number.isascii() and number.isdigit()) or int(number) < current:
            out.append(username)
    return sorted(out)


def read_hint(hint: Path) -> str | None:
    """What the hint file says ("SecretService"), or None when there is none or it is not a
    short ASCII text file (a hand-edited or replaced hint only loses the speed-up)."""
    from vault_app.core import files

    try:
        return files.read_capped(hint, 256).decode("ascii").strip()
    except (OSError, ValueError):  # FileTooLarge, UnicodeDecodeError
        return None


def _note_direct_read(hint: Path, possible: bool) -> None:
    """Keep the hint file in step with the keyring's choice; written only when it changes."""
    from vault_app.core import files

    current = read_hint(hint)
    try:
        if possible and current != "SecretService":
            hint.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # before the first save
            files.write_atomically(hint, b"SecretService\n")
        elif not possible and current is not None:
            hint.unlink()
    except OSError as exc:  # only a speed-up is lost
        log.debug("cannot update %s: %s", hint, exc.strerror)


def _delete(backend: Backend, service: str, key: str, strict: bool) -> None:
    try:
        backend.delete_password(service, key)
    except Exception:
        # Gone already (keyring says so with an error) is what was wanted. Otherwise a best
        # effort delete of an item that holds nothing current lets it be; --self-check
        # reports what is left behind.
        if strict and backend.get_password(service, key) is not None:
            raise
        log.debug("keyring delete of %s failed; left for --self-check", key)


def _map_keyring_error(exc: Exception) -> KeyringUnavailableError:
    name = type(exc).__name__
    if "Locked" in name or "Dismissed" in name:
        return KeyringUnavailableError(
            "the keyring is locked: unlock it (e.g. log in to the desktop session) and try again"
        )
    detail = " ".join(redact.redact(str(exc)).split())[:160]
    return KeyringUnavailableError(f"keyring error ({name}){': ' + detail if detail else ''}")
