"""Nothing is left behind in the keyring and nothing is lost (issue 10.10, 10.11): an add whose
metadata write fails takes its secret back; a remove whose keyring deletes fail can be run
again until every item is gone; `remove --leftovers` deletes what no account owns and never
what one does; a refresh whose metadata cannot be written keeps its tokens; an edit that
cannot be recorded changes nothing.

Each test runs on the real Secret Service (the session scripts/test starts) and on the
in-memory backend, through a wrapper that can refuse deletes. The metadata write is refused
where the operating system would refuse it (tempfile.mkstemp: ENOSPC), so the real atomic
write path runs up to that point.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vault_app.core.account_store import AccountStore
from vault_app.core.errors import (
    KeyringUnavailableError,
    NoSuchAccountError,
    SignInNeededError,
    VaultFileError,
)
from vault_app.core.model import Leftover, SecretBundle, TokenSet
from vault_app.core.secret_store import MemoryBackend, SecretStore, _KeyringBackend, unowned
from vault_app.core.vault import Vault

T = TypeVar("T")


class Refusing:
    """A backend whose deletes fail while `refuse_deletes` is set (a keyring that is stuck,
    or answers D-Bus errors); everything else goes to the real one."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.refuse_deletes = False

    def get_password(self, service: str, username: str) -> str | None:
        value: str | None = self.inner.get_password(service, username)
        return value

    def set_password(self, service: str, username: str, password: str) -> None:
        self.inner.set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        if self.refuse_deletes:
            raise RuntimeError("org.freedesktop.DBus.Error.NoReply: no reply")
        self.inner.delete_password(service, username)

    def usernames(self, service: str) -> list[str]:
        names: list[str] = self.inner.usernames(service)
        return names


@pytest.fixture(params=["memory", "secret-service"])
def backend(request: pytest.FixtureRequest, vault_home: Path) -> Iterator[Refusing]:
    if request.param == "memory":
        yield Refusing(MemoryBackend())
        return
    request.getfixturevalue("secret_service")
    wrapper = Refusing(_KeyringBackend())
    yield wrapper
    if (vault_home / "accounts.json").exists():
        service = f"token-vault:{AccountStore(vault_home).load().vault_id}"
        for username in wrapper.usernames(service):
            wrapper.inner.delete_password(service, username)


def run(backend: Refusing, home: Path, work: Callable[[Vault], Awaitable[T]]) -> T:
    async def main() -> T:
        vault = Vault(home, backend=backend)
        try:
            return await work(vault)
        finally:
            await vault.aclose()

    return asyncio.run(main())


def _names(backend: Refusing, home: Path) -> list[str]:
    service = f"token-vault:{AccountStore(home).load().vault_id}"
    return sorted(backend.usernames(service))


def _orphans(backend: Refusing, home: Path) -> list[str]:
    doc = AccountStore(home).load()
    return unowned(_names(backend, home), {a.id: a.generation for a in doc.accounts})


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """disk_full(True): every new file in any folder fails with ENOSPC, as on a full disk."""
    real = tempfile.mkstemp

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    def set_full(on: bool) -> None:
        monkeypatch.setattr(tempfile, "mkstemp", full if on else real)

    return set_full


def _add(vault: Vault, name: str, token: str, **fields: str) -> Awaitable[Any]:
    return vault.add(name, "static", fields, {"token": token})


# -- add ---------------------------------------------------------------------------------------


def test_an_add_whose_metadata_write_fails_takes_its_secret_back(
    backend: Refusing, vault_home: Path, disk_full: Callable[[bool], None]
) -> None:
    run(backend, vault_home, lambda v: _add(v, "first", "token-first-1"))
    before = _names(backend, vault_home)

    async def second(vault: Vault) -> None:
        disk_full(True)
        with pytest.raises(VaultFileError, match="No space left on device"):
            await _add(vault, "second", "token-second-2")
        disk_full(False)

    run(backend, vault_home, second)

    assert _names(backend, vault_home) == before
    assert [a.name for a in AccountStore(vault_home).load().accounts] == ["first"]
    locks = {p.name for p in (vault_home / "locks").iterdir()}
    first = AccountStore(vault_home).load().find("first")
    assert locks == {"accounts.lock", f"{first.id}.lock"}


def test_a_failed_rollback_leaves_an_orphan_that_leftovers_finds_and_deletes(
    backend: Refusing, vault_home: Path, disk_full: Callable[[bool], None]
) -> None:
    run(backend, vault_home, lambda v: _add(v, "first", "token-first-1"))

    async def second(vault: Vault) -> None:
        disk_full(True)
        backend.refuse_deletes = True
        with pytest.raises(VaultFileError):
            await _add(vault, "second", "token-second-2")
        disk_full(False)
        backend.refuse_deletes = False

    run(backend, vault_home, second)
    [orphan] = _orphans(backend, vault_home)
    assert orphan.endswith(":1")
    assert run(backend, vault_home, lambda v: asyncio.to_thread(v.leftovers)) == [orphan]

    deleted = run(backend, vault_home, lambda v: v.remove_leftovers())

    assert deleted == [orphan]
    assert _orphans(backend, vault_home) == []
    assert run(backend, vault_home, lambda v: v.token("first"))[1].access_token == "token-first-1"


# -- remove ------------------------------------------------------------------------------------


def test_a_remove_whose_deletes_fail_can_be_retried_until_everything_is_gone(
    backend: Refusing, vault_home: Path
) -> None:
    account, _ = run(backend, vault_home, lambda v: _add(v, "api", "token-api-1"))
    mine = [n for n in _names(backend, vault_home) if n.startswith(account.id)]
    assert mine

    backend.refuse_deletes = True
    with pytest.raises(KeyringUnavailableError) as caught:
        run(backend, vault_home, lambda v: v.remove("api"))
    assert "api is removed from the vault, but not all of its keyring items" in str(caught.value)
    assert "run 'token-vault remove api' again" in str(caught.value)
    doc = AccountStore(vault_home).load()
    assert doc.accounts == []
    [record] = doc.leftovers
    assert (record.id, record.name) == (account.id, "api")
    assert _orphans(backend, vault_home) == mine

    # Still refused: the record stays, and says so again.
    with pytest.raises(KeyringUnavailableError):
        run(backend, vault_home, lambda v: v.remove("api"))
    assert AccountStore(vault_home).load().leftovers == [record]

    backend.refuse_deletes = False
    run(backend, vault_home, lambda v: v.remove("api"))

    assert _names(backend, vault_home) == []
    assert AccountStore(vault_home).load().leftovers == []
    with pytest.raises(NoSuchAccountError):
        run(backend, vault_home, lambda v: v.remove("api"))


def test_a_new_account_with_the_name_of_a_leftover_is_removed_with_it(
    backend: Refusing, vault_home: Path
) -> None:
    run(backend, vault_home, lambda v: _add(v, "api", "token-old-1"))
    backend.refuse_deletes = True
    with pytest.raises(KeyringUnavailableError):
        run(backend, vault_home, lambda v: v.remove("api"))
    backend.refuse_deletes = False
    run(backend, vault_home, lambda v: _add(v, "api", "token-new-2"))

    run(backend, vault_home, lambda v: v.remove("api"))

    assert _names(backend, vault_home) == []
    doc = AccountStore(vault_home).load()
    assert (doc.accounts, doc.leftovers) == ([], [])


def test_remove_leftovers_deletes_only_what_no_account_owns(
    backend: Refusing, vault_home: Path
) -> None:
    a, _ = run(backend, vault_home, lambda v: _add(v, "a", "token-a-1"))
    b, _ = run(backend, vault_home, lambda v: _add(v, "b", "token-b-2"))
    vault_id = AccountStore(vault_home).load().vault_id
    store = SecretStore(vault_id, backend, chunk_limit=128)
    bundle = SecretBundle({"token": "x" * 300}, TokenSet(access_token="x" * 300))
    try:
        store.call(partial(store.write_bundle, a.id, a.generation - 1, bundle))  # stale
        store.call(partial(store.write_bundle, b.id, b.generation + 1, bundle))  # newer
        ghost = uuid.uuid4().hex
        store.call(partial(store.write_bundle, ghost, 1, bundle))  # no such account
        backend.set_password(store.service, "not-ours", "x")
        backend.set_password(store.service, "../../escape:1", "x")  # never a lock path
    finally:
        store.close()
    kept = {f"{a.id}:{a.generation}", f"{b.id}:{b.generation}", f"{b.id}:{b.generation + 1}"}

    deleted = run(backend, vault_home, lambda v: v.remove_leftovers())

    assert f"{a.id}:{a.generation - 1}" in deleted and f"{ghost}:1" in deleted
    assert "not-ours" in deleted and "../../escape:1" in deleted
    assert not (vault_home.parent / "escape.lock").exists()
    assert {n for n in _names(backend, vault_home) if ":" in n and n.count(":") == 1} == kept
    assert _orphans(backend, vault_home) == []
    # The newer generation of b is what b serves now (adopted, never deleted).
    assert run(backend, vault_home, lambda v: v.token("b"))[1].access_token == "x" * 300


# -- refresh, edit and failures when the metadata cannot be written ---------------------------


def test_a_refresh_whose_metadata_write_fails_keeps_its_tokens(
    backend: Refusing, vault_home: Path, disk_full: Callable[[bool], None]
) -> None:
    account, _ = run(backend, vault_home, lambda v: _add(v, "api", "token-api-1"))
    n = account.generation

    async def refresh(vault: Vault) -> list[str]:
        disk_full(True)
        try:
            _, tokens = await vault.refresh("api")
        finally:
            disk_full(False)
        assert tokens.access_token == "token-api-1"
        return list(vault.warnings)

    [warning] = run(backend, vault_home, refresh)

    assert warning.startswith("api: the change reached the keyring but could not be recorded")
    assert "No space left on device" in warning
    assert AccountStore(vault_home).load().find("api").generation == n
    assert f"{account.id}:{n + 1}" in _names(backend, vault_home)
    # The next load adopts it; the next recorded change cleans up behind it.
    refreshed, _ = run(backend, vault_home, lambda v: v.refresh("api"))
    assert refreshed.generation == n + 2
    assert _names(backend, vault_home) == [f"{account.id}:{n + 2}"]


def test_an_edit_whose_metadata_write_fails_changes_nothing(
    backend: Refusing, vault_home: Path, disk_full: Callable[[bool], None]
) -> None:
    run(backend, vault_home, lambda v: _add(v, "api", "token-old-1"))
    names = _names(backend, vault_home)

    async def edit(vault: Vault) -> None:
        disk_full(True)
        try:
            with pytest.raises(VaultFileError, match="No space left on device"):
                await vault.edit("api", {}, {"token": "token-new-2"})
        finally:
            disk_full(False)

    run(backend, vault_home, edit)

    assert _names(backend, vault_home) == names
    assert run(backend, vault_home, lambda v: v.token("api"))[1].access_token == "token-old-1"


def test_a_failure_that_cannot_be_recorded_is_still_the_error_reported(
    backend: Refusing, vault_home: Path, disk_full: Callable[[bool], None]
) -> None:
    async def scenario(vault: Vault) -> list[str]:
        await vault.add(
            "api", "static", {"expires_at": "2020-01-01"}, {"token": "t-1234"}, sign_in=False
        )
        disk_full(True)
        try:
            with pytest.raises(SignInNeededError, match="expired"):
                await vault.token("api")
        finally:
            disk_full(False)
        return list(vault.warnings)

    [warning] = run(backend, vault_home, scenario)
    assert warning.startswith("could not record the outcome: cannot write ")


def test_leftover_records_survive_a_reload(vault_home: Path) -> None:
    """The record is part of the metadata file (schema field `leftovers`)."""
    store = AccountStore(vault_home)
    store.update(lambda doc: doc.leftovers.append(Leftover("abc", "gone", 1, 3)))
    assert AccountStore(vault_home).load().leftovers == [Leftover("abc", "gone", 1, 3)]
