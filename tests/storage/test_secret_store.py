"""SecretStore and the generation switch, against the real Secret Service (gnome-keyring)
through keyring's SecretService backend (DESIGN.md section 4).

Every test uses a fresh vault id, so its items live under their own keyring service, and
removes every item under that service when it ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import SecretService, fail, null

from tests.conftest import REPO, Cli
from vault_app.core.account_store import AccountStore
from vault_app.core.errors import KeyringUnavailableError, VaultFileError
from vault_app.core.model import Account, SecretBundle, TokenSet
from vault_app.core.secret_store import (
    DEFAULT_TIMEOUT,
    MIN_CHUNK_LIMIT,
    MemoryBackend,
    SecretStore,
    configured_timeout,
    owned_by,
    unowned,
)
from vault_app.core.vault import Vault

CHUNK_PREFIX = "token-vault-chunks:v1:"


# -- helpers ---------------------------------------------------------------------------------


def _service(vault_id: str) -> str:
    return f"token-vault:{vault_id}"


def _collection() -> Any:
    backend = keyring.get_keyring()
    assert isinstance(backend, SecretService.Keyring), f"not the Secret Service: {backend!r}"
    return backend.get_preferred_collection()


def _usernames(service: str) -> set[str]:
    """Every keyring item stored under `service`, found by the Secret Service's own search
    (not by guessing keys), so a stray chunk cannot hide."""
    collection = _collection()
    return {
        str(item.get_attributes().get("username"))
        for item in collection.search_items({"service": service})
    }


def _purge(service: str) -> None:
    collection = _collection()
    for item in list(collection.search_items({"service": service})):
        item.delete()


def _bundle(token: str, *, pad: int = 0) -> SecretBundle:
    return SecretBundle(
        secrets={"token": token, "client_secret": "cs-" + secrets.token_hex(8) + "x" * pad},
        tokens=TokenSet(
            access_token=token,
            token_type="Bearer",
            expires_at=time.time() + 3600,
            refresh_token="rt-" + secrets.token_hex(16),
            refresh_expires_at=time.time() + 86400,
            scope="read write",
        ),
    )


@pytest.fixture
def vault_id(secret_service: None) -> Iterator[str]:
    vid = uuid.uuid4().hex
    yield vid
    _purge(_service(vid))


@pytest.fixture
def make_store(vault_id: str) -> Iterator[Callable[..., SecretStore]]:
    """SecretStore(vault_id, None, ...): backend None resolves the real keyring."""
    made: list[SecretStore] = []

    def make(chunk_limit: int = 100_000, timeout: float = 15.0) -> SecretStore:
        store = SecretStore(vault_id, None, chunk_limit=chunk_limit, timeout=timeout)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def purge_vault(vault_home: Path, secret_service: None) -> Iterator[None]:
    """Removes every keyring item of the test's vault (its id is in accounts.json)."""
    yield
    path = vault_home / "accounts.json"
    if path.exists():
        _purge(_service(AccountStore(vault_home).load().vault_id))


def _quiet(cli: Cli, **extra: str) -> Cli:
    env = dict(cli.env)
    env["TOKEN_VAULT_LOG"] = "WARNING"
    env.update(extra)
    return dataclasses.replace(cli, env=env)


def _add_static(home: Path, name: str, token: str, chunk_limit: int | None = None) -> Account:
    """A signed-in static account added through the Vault, as the CLI would."""

    async def add() -> None:
        vault = Vault(home, chunk_limit=chunk_limit)
        try:
            _, failure = await vault.add(name, "static", {}, {"token": token})
            assert failure is None
        finally:
            await vault.aclose()

    asyncio.run(add())
    return _account(home, name)


def _account(home: Path, name: str) -> Account:
    return AccountStore(home).load().find(name)


def _stored(vault_id: str, key: str) -> str | None:
    value: str | None = keyring.get_password(_service(vault_id), key)
    return value


# -- round trip ------------------------------------------------------------------------------


def test_round_trip_of_a_bundle_with_tokens(
    make_store: Callable[..., SecretStore], vault_id: str
) -> None:
    store = make_store()
    account_id = uuid.uuid4().hex
    bundle = _bundle("at-" + secrets.token_hex(16))

    store.call(partial(store.write_bundle, account_id, 1, bundle))

    assert store.call(partial(store.read_bundle, account_id, 1)) == bundle
    assert store.call(partial(store.read_current, account_id, 1)) == (1, bundle)
    # One item holds the whole bundle: secrets and tokens together, no chunks.
    assert _usernames(_service(vault_id)) == {f"{account_id}:1"}
    raw = _stored(vault_id, f"{account_id}:1")
    assert raw is not None and not raw.startswith(CHUNK_PREFIX)
    assert bundle.tokens is not None and bundle.tokens.refresh_token is not None
    assert bundle.tokens.access_token in raw and bundle.tokens.refresh_token in raw
    # Another process (a fresh store on the same service) reads the same thing.
    other = make_store()
    assert asyncio.run(other.acall(partial(other.read_bundle, account_id, 1))) == bundle
    # Absent generations read as nothing.
    assert store.call(partial(store.read_bundle, account_id, 2)) is None
    assert store.call(partial(store.read_current, account_id, 0)) == (1, bundle)

    store.call(partial(store.delete_raw, account_id, 1))
    assert _usernames(_service(vault_id)) == set()


# -- chunking --------------------------------------------------------------------------------


def test_value_over_chunk_limit_is_split_read_back_and_fully_deleted(
    make_store: Callable[..., SecretStore], vault_id: str
) -> None:
    limit = MIN_CHUNK_LIMIT
    store = make_store(chunk_limit=limit)
    account_id = uuid.uuid4().hex
    bundle = _bundle("at-" + secrets.token_hex(32), pad=3500)
    raw_length = len(json.dumps(bundle.to_json(), separators=(",", ":"), sort_keys=True))
    chunks = math.ceil(raw_length / limit)
    assert chunks >= 25

    store.call(partial(store.write_bundle, account_id, 3, bundle))

    head = _stored(vault_id, f"{account_id}:3")
    assert head is not None and head.startswith(f"{CHUNK_PREFIX}{chunks}:")
    keys = {f"{account_id}:3:{i}" for i in range(1, chunks + 1)}
    assert _usernames(_service(vault_id)) == keys | {f"{account_id}:3"}
    for key in keys:
        part = _stored(vault_id, key)
        assert part is not None and 0 < len(part) <= limit
    assert _stored(vault_id, f"{account_id}:3:{chunks + 1}") is None

    assert store.call(partial(store.read_bundle, account_id, 3)) == bundle
    # A store with a different limit (e.g. another platform's setting) still reads it.
    other = make_store()
    assert other.call(partial(other.read_bundle, account_id, 3)) == bundle

    store.call(partial(store.delete_raw, account_id, 3))

    assert _stored(vault_id, f"{account_id}:3") is None
    for key in keys:
        assert keyring.get_password(_service(vault_id), key) is None, key
    assert _usernames(_service(vault_id)) == set()


def test_chunk_limit_below_the_head_size_is_refused(vault_id: str) -> None:
    with pytest.raises(ValueError, match="cannot hold a chunk header"):
        SecretStore(vault_id, chunk_limit=MIN_CHUNK_LIMIT - 1)


@pytest.mark.parametrize("limit", [MIN_CHUNK_LIMIT, 1200])
def test_every_item_fits_the_chunk_limit(
    make_store: Callable[..., SecretStore], vault_id: str, limit: int
) -> None:
    """The limit stands for the backend's size limit: no item, head included, may exceed it.
    The smallest limit the constructor accepts must work too."""
    store = make_store(chunk_limit=limit)
    account_id = uuid.uuid4().hex
    bundle = _bundle("at-" + secrets.token_hex(32), pad=600)

    store.call(partial(store.write_bundle, account_id, 1, bundle))

    assert store.call(partial(store.read_bundle, account_id, 1)) == bundle
    too_long = {}
    for key in _usernames(_service(vault_id)):
        value = _stored(vault_id, key)
        assert value is not None
        if len(value) > limit:
            too_long[key] = len(value)
    assert too_long == {}, f"items over the {limit}-character limit: {too_long}"


@pytest.mark.parametrize("damage", ["altered", "shortened", "deleted", "head"])
def test_damaged_chunk_is_detected_not_returned(
    make_store: Callable[..., SecretStore], vault_id: str, damage: str
) -> None:
    store = make_store(chunk_limit=MIN_CHUNK_LIMIT)
    account_id = uuid.uuid4().hex
    bundle = _bundle("at-" + secrets.token_hex(32), pad=500)
    store.call(partial(store.write_bundle, account_id, 1, bundle))
    service = _service(vault_id)
    key = f"{account_id}:1:2"
    original = keyring.get_password(service, key)
    assert original is not None and len(original) == MIN_CHUNK_LIMIT

    if damage == "altered":  # same length, one character different
        flipped = "A" if original[50] != "A" else "B"
        keyring.set_password(service, key, original[:50] + flipped + original[51:])
    elif damage == "shortened":
        keyring.set_password(service, key, original[:60])
    elif damage == "deleted":
        keyring.delete_password(service, key)
    else:
        keyring.set_password(service, f"{account_id}:1", CHUNK_PREFIX + "x:deadbeef")

    with pytest.raises(VaultFileError, match=f"{account_id}:1"):
        store.call(partial(store.read_bundle, account_id, 1))
    with pytest.raises(VaultFileError):
        store.call(partial(store.read_current, account_id, 1))
    with pytest.raises(VaultFileError):
        asyncio.run(store.acall(partial(store.read_current, account_id, 0)))


def test_damaged_chunk_through_vault_and_cli(cli: Cli, vault_home: Path, purge_vault: None) -> None:
    """A damaged chunk is an error for `token`, never a garbled token."""
    token = "tok-" + secrets.token_hex(300)  # 604 characters: the bundle takes ~15 chunks

    account = _add_static(vault_home, "big", token, chunk_limit=MIN_CHUNK_LIMIT)
    vault_id = AccountStore(vault_home).load().vault_id
    assert _quiet(cli)("token", "big").out.strip() == token
    key = f"{account.id}:{account.generation}:3"
    part = _stored(vault_id, key)
    assert part is not None
    keyring.set_password(_service(vault_id), key, part[::-1])

    async def read() -> None:
        vault = Vault(vault_home, chunk_limit=MIN_CHUNK_LIMIT)
        try:
            with pytest.raises(VaultFileError):
                await vault.token("big")
            with pytest.raises(VaultFileError):
                vault.read_current_sync(account)
        finally:
            await vault.aclose()

    asyncio.run(read())
    result = _quiet(cli)("token", "big")
    assert result.code == VaultFileError.exit_code
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert token[:40] not in result.err


# -- the generation switch -------------------------------------------------------------------


def test_edit_switches_generation_and_deletes_the_old_one(
    vault_home: Path, purge_vault: None
) -> None:
    old_token = "tok-old-" + secrets.token_hex(12)
    new_token = "tok-new-" + secrets.token_hex(12)

    async def scenario() -> tuple[Account, Account, Account]:
        vault = Vault(vault_home)
        try:
            added, failure = await vault.add("api", "static", {}, {"token": old_token})
            assert failure is None
            before = _account(vault_home, "api")
            edited, failure = await vault.edit("api", {}, {"token": new_token})
            assert failure is None
            return added, before, edited
        finally:
            await vault.aclose()

    added, before, edited = asyncio.run(scenario())
    vault_id = AccountStore(vault_home).load().vault_id
    service = _service(vault_id)
    after = _account(vault_home, "api")
    old, new = before.generation, after.generation

    assert added.generation == old >= 1
    assert edited.generation == new
    assert new > old
    stored_old = keyring.get_password(service, f"{before.id}:{old}")
    assert stored_old is None, "the replaced generation is still in the keyring"
    # Nothing but the current generation remains for the account.
    assert _usernames(service) == {f"{after.id}:{new}"}
    reader = SecretStore(vault_id, None, timeout=15)
    try:
        bundle = reader.call(partial(reader.read_bundle, after.id, new))
    finally:
        reader.close()
    assert bundle is not None
    assert bundle.secrets["token"] == new_token
    assert bundle.tokens is not None and bundle.tokens.access_token == new_token
    assert old_token not in (keyring.get_password(service, f"{after.id}:{new}") or "")


def test_leftover_next_generation_is_adopted(cli: Cli, vault_home: Path, purge_vault: None) -> None:
    """A crash after writing N+1 and before switching the metadata: N+1 holds the newest
    tokens and must be served; the next change writes N+2 and deletes both N and N+1."""
    old_token = "tok-gen-n-" + secrets.token_hex(12)
    newer_token = "tok-gen-n1-" + secrets.token_hex(12)

    account = _add_static(vault_home, "api", old_token)
    vault_id = AccountStore(vault_home).load().vault_id
    service = _service(vault_id)
    n = account.generation
    assert keyring.get_password(service, f"{account.id}:{n}") is not None

    # The "crash": N+1 written in full (as _commit does before switching), metadata still N.
    writer = SecretStore(vault_id, None, timeout=15)
    newer = SecretBundle(
        secrets={"token": newer_token},
        tokens=TokenSet(access_token=newer_token, token_type="Bearer", expires_at=None),
    )
    try:
        writer.call(partial(writer.write_bundle, account.id, n + 1, newer))
    finally:
        writer.close()
    assert _account(vault_home, "api").generation == n

    async def read_and_refresh() -> tuple[str | None, str, str]:
        vault = Vault(vault_home)
        try:
            sync = vault.read_current_sync(account)
            _, tokens = await vault.token("api")
            refreshed_account, refreshed = await vault.refresh("api")
            assert refreshed_account.generation == n + 2
            return (
                sync.tokens.access_token if sync and sync.tokens else None,
                tokens.access_token,
                refreshed.access_token,
            )
        finally:
            await vault.aclose()

    # The CLI first, while the leftover is still a leftover.
    result = _quiet(cli)("token", "api")
    assert (result.code, result.out.strip()) == (0, newer_token), result.err

    sync_token, vault_token, refreshed_token = asyncio.run(read_and_refresh())
    assert sync_token == newer_token
    assert vault_token == newer_token
    assert refreshed_token == newer_token

    after = _account(vault_home, "api")
    assert after.generation == n + 2
    assert keyring.get_password(service, f"{account.id}:{n}") is None
    assert keyring.get_password(service, f"{account.id}:{n + 1}") is None
    assert _usernames(service) == {f"{account.id}:{n + 2}"}
    current = keyring.get_password(service, f"{account.id}:{n + 2}")
    assert current is not None and newer_token in current and old_token not in current
    assert _quiet(cli)("token", "api").out.strip() == newer_token


def test_a_chain_of_unrecorded_generations_is_followed(
    cli: Cli, vault_home: Path, purge_vault: None
) -> None:
    """Refreshes whose metadata could not be written (a full disk) leave N+1, N+2, ...: the
    newest is served, and the next recorded change deletes all of them."""
    account = _add_static(vault_home, "api", "tok-gen-n-" + secrets.token_hex(12))
    vault_id = AccountStore(vault_home).load().vault_id
    service = _service(vault_id)
    n = account.generation
    newest = ""
    writer = SecretStore(vault_id, None, timeout=15)
    try:
        for step in (1, 2, 3):
            newest = f"tok-gen-n{step}-" + secrets.token_hex(12)
            bundle = SecretBundle(secrets={"token": newest}, tokens=TokenSet(access_token=newest))
            writer.call(partial(writer.write_bundle, account.id, n + step, bundle))
        found = writer.call(partial(writer.read_current, account.id, n))
    finally:
        writer.close()
    assert found is not None and found[0] == n + 3

    result = _quiet(cli)("token", "api")
    assert (result.code, result.out.strip()) == (0, newest), result.err
    assert _quiet(cli)("refresh", "api").code == 0
    assert _usernames(service) == {f"{account.id}:{n + 4}"}
    assert _account(vault_home, "api").generation == n + 4


def test_usernames_lists_every_item_of_the_vault(
    make_store: Callable[..., SecretStore], vault_id: str
) -> None:
    store = make_store(chunk_limit=MIN_CHUNK_LIMIT)
    store.call(partial(store.write_bundle, "one", 1, _bundle("at-" + secrets.token_hex(8))))
    store.call(partial(store.write_bundle, "two", 4, _bundle("at-x", pad=300)))

    listed = store.call(store.usernames)

    assert sorted(listed) == sorted(_usernames(_service(vault_id)))
    assert "one:1" in listed and "two:4" in listed and "two:4:1" in listed
    assert unowned(listed, {"one": 1, "two": 4}) == []
    assert unowned(listed, {"one": 2}) == sorted(listed)
    assert store.call(partial(store.has, "two", 4))
    assert not store.call(partial(store.has, "two", 5))


def test_unowned() -> None:
    names = ["a:1", "a:2", "a:3", "a:3:1", "b:7", "c:1", "junk", "a:x", "a:"]
    assert unowned(names, {"a": 2, "b": 7}) == ["a:", "a:1", "a:x", "c:1", "junk"]
    assert owned_by(["a:3", "a:3:1", "a:3:2", "b:1", "ab:1"], "a") == ["a:3:1", "a:3:2", "a:3"]


class _StickyBackend(MemoryBackend):
    """Deletes that fail while `stuck` is set, as a keyring that refuses them would."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck = True

    def delete_password(self, service: str, username: str) -> None:
        if self.stuck:
            raise RuntimeError("org.freedesktop.DBus.Error.NoReply")
        super().delete_password(service, username)


def test_strict_delete_raises_while_the_item_stays() -> None:
    backend = _StickyBackend()
    store = SecretStore("v", backend, retries=0)
    try:
        store.call(partial(store.write_bundle, "acct", 1, _bundle("at-one")))
        store.call(partial(store.delete_raw, "acct", 1))  # best effort: quiet
        assert store.call(partial(store.has, "acct", 1))
        with pytest.raises(KeyringUnavailableError, match="NoReply"):
            store.call(partial(store.delete_raw, "acct", 1, strict=True))
        backend.stuck = False
        store.call(partial(store.delete_raw, "acct", 1, strict=True))
        assert backend.items == {}
        # Deleting what is gone already is what was asked for.
        store.call(partial(store.delete_item, "acct:1"))
    finally:
        store.close()


def test_keyring_timeout_from_the_environment_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, expected in [
        ("5", 5.0),
        ("nan", DEFAULT_TIMEOUT),
        ("inf", DEFAULT_TIMEOUT),
        ("-1", DEFAULT_TIMEOUT),
        ("1e400", DEFAULT_TIMEOUT),
        ("soon", DEFAULT_TIMEOUT),
        ("100000", DEFAULT_TIMEOUT),
    ]:
        monkeypatch.setenv("TOKEN_VAULT_KEYRING_TIMEOUT", text)
        assert configured_timeout() == expected, text


# -- refused backends ------------------------------------------------------------------------


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.mark.parametrize("backend_class", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_fail_and_null_backends_raise_keyring_unavailable(
    restore_keyring: None, backend_class: type[Any]
) -> None:
    keyring.set_keyring(backend_class())
    store = SecretStore(uuid.uuid4().hex, None, timeout=5)
    try:
        with pytest.raises(KeyringUnavailableError, match="keyring") as caught:
            store.call(store.backend)
        assert "\n" not in str(caught.value)
        with pytest.raises(KeyringUnavailableError):
            store.call(partial(store.read_bundle, "acct", 1))
        with pytest.raises(KeyringUnavailableError):
            store.call(partial(store.write_bundle, "acct", 1, SecretBundle({"token": "t"})))
    finally:
        store.close()


NULL_BACKEND = "keyring.backends.null.Keyring"


def test_cli_refuses_null_backend_and_creates_no_vault(cli: Cli, vault_home: Path) -> None:
    result = _quiet(cli, PYTHON_KEYRING_BACKEND=NULL_BACKEND)(
        "add", "api", "--provider", "static", "--secret", "token", stdin="tok-null-backend\n"
    )

    assert result.code == 6, (result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert "keyring" in lines[0]
    assert "tok-null-backend" not in result.err + result.out
    assert not (vault_home / "accounts.json").exists(), "a vault was created without a keyring"


def test_cli_token_refuses_null_backend(cli: Cli, vault_home: Path, purge_vault: None) -> None:
    token = "tok-" + secrets.token_hex(12)
    added = _quiet(cli)(
        "add", "api", "--provider", "static", "--secret", "token", stdin=token + "\n"
    )
    assert added.code == 0, added.err
    before = (vault_home / "accounts.json").read_bytes()

    result = _quiet(cli, PYTHON_KEYRING_BACKEND=NULL_BACKEND)("token", "api")

    assert result.code == 6
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert (vault_home / "accounts.json").read_bytes() == before
    assert _quiet(cli)("token", "api").out.strip() == token


# -- a keyring that does not answer -----------------------------------------------------------


class HangingBackend:
    name = "hanging test backend"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.entered.set()
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


def test_hanging_keyring_call_times_out() -> None:
    backend = HangingBackend()
    store = SecretStore(uuid.uuid4().hex, backend, timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(KeyringUnavailableError, match="did not answer"):
            store.call(partial(store.read_bundle, "acct", 1))
        elapsed = time.monotonic() - started
        assert backend.entered.is_set(), "the call never reached the backend"
        assert 0.25 <= elapsed < 1.5, elapsed
    finally:
        backend.release.set()
        store.close()


def test_hanging_keyring_call_times_out_in_a_coroutine() -> None:
    backend = HangingBackend()
    store = SecretStore(uuid.uuid4().hex, backend, timeout=0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    async def scenario() -> float:
        task = asyncio.create_task(ticker())
        started = time.monotonic()
        try:
            with pytest.raises(KeyringUnavailableError, match="did not answer"):
                await store.acall(partial(store.write_bundle, "acct", 1, SecretBundle()))
            return time.monotonic() - started
        finally:
            task.cancel()

    try:
        elapsed = asyncio.run(scenario())
        assert 0.25 <= elapsed < 1.5, elapsed
        assert ticks >= 5, "the event loop was blocked while the keyring hung"
    finally:
        backend.release.set()
        store.close()


_STUCK_SCRIPT = """
import asyncio, time
from vault_app.core.errors import KeyringUnavailableError
from vault_app.core.secret_store import SecretStore

class Stuck:
    name = "stuck"
    def get_password(self, service, username):
        time.sleep(3600)
    def set_password(self, service, username, password):
        time.sleep(3600)
    def delete_password(self, service, username):
        time.sleep(3600)

store = SecretStore("stuck-vault", Stuck(), timeout=0.2)
try:
    store.call(lambda: store.read_raw("acct", 1))
except KeyringUnavailableError:
    print("sync timed out", flush=True)
try:
    asyncio.run(store.acall(lambda: store.read_raw("acct", 2)))
except KeyringUnavailableError:
    print("async timed out", flush=True)
# No close(): even a forgotten store must not keep the process alive.
"""


def test_stuck_keyring_thread_does_not_block_exit() -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _STUCK_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["sync timed out", "async timed out"]
    assert elapsed < 5, f"the process took {elapsed:.1f} s to exit"
