"""What the vault holds of an account's secrets between refreshes (vault._Held): a refresh does
not read back from the keyring what this process wrote there itself, and a change by another
process (seen by the stamp in the account's lock file) makes it read them again."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from pathlib import Path

import pytest

from tests.cli.support import assert_ok
from tests.conftest import Cli, PrivateKeyring
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.traderevolution import TraderEvolutionFake
from tests.providers.wire import changed_elsewhere
from vault_app.core.errors import UserFacingError
from vault_app.core.model import Status
from vault_app.core.secret_service import SecretServiceBackend
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault

LOGIN, PASSWORD = "held", "held-password-0001"
SIGN_IN, REFRESH = "/auth/token", "/auth/token/refresh"


class Counting:
    """A backend that counts the calls made to it."""

    def __init__(self, inner: MemoryBackend | SecretServiceBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: collections.Counter[str] = collections.Counter()

    def get_password(self, service: str, username: str) -> str | None:
        self.calls["get"] += 1
        return self.inner.get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls["set"] += 1
        self.inner.set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.calls["delete"] += 1
        self.inner.delete_password(service, username)

    def usernames(self, service: str) -> list[str]:
        return self.inner.usernames(service)


def _fake() -> TraderEvolutionFake:
    fake = TraderEvolutionFake(access_lifetime=600)
    fake.add_user(LOGIN, PASSWORD)
    return fake


async def _add(vault: Vault, fake: TraderEvolutionFake) -> None:
    """Add account "te" signing in to `fake` as LOGIN."""
    await vault.add(
        "te", "traderevolution", {"base_url": fake.base_url, "login": LOGIN},
        {"password": PASSWORD},
    )  # fmt: skip


def test_a_refresh_reads_back_only_to_verify_its_write(vault_home: Path) -> None:
    backend = Counting(MemoryBackend())
    vault = Vault(vault_home, backend=backend)

    async def scenario(fake: TraderEvolutionFake) -> None:
        try:
            await _add(vault, fake)
            await vault.refresh("te")  # the first refresh after add reads what add wrote
            backend.calls.clear()
            for _ in range(3):
                account, tokens = await vault.refresh("te")
            # Per refresh: write N+1, read it back to compare, delete N; nothing else.
            assert backend.calls == {"set": 3, "get": 3, "delete": 3}
            assert account.status is Status.OK and fake.is_active(tokens.access_token)
            stored = vault.read_current_sync(account)
            assert stored is not None and stored.tokens == tokens
            assert sorted(backend.inner.usernames(vault.secrets().service)) == [
                f"{account.id}:{account.generation}"
            ]
        finally:
            await vault.aclose()

    with _fake() as fake:
        asyncio.run(scenario(fake))
        refreshes = [r.path for r in fake.requests]
        assert refreshes == [SIGN_IN, REFRESH, REFRESH, REFRESH, REFRESH]


def test_a_change_by_another_process_is_read_again(vault_home: Path) -> None:
    backend = Counting(MemoryBackend())
    vault = Vault(vault_home, backend=backend)

    async def scenario(fake: TraderEvolutionFake) -> None:
        try:
            await _add(vault, fake)
            await vault.refresh("te")
            backend.calls.clear()
            await vault.refresh("te")
            assert backend.calls["get"] == 1  # held: only the read-back of its write
            # Another process held the account's lock (and left its stamp there).
            changed_elsewhere(vault, vault.load().find("te").id)
            backend.calls.clear()
            await vault.refresh("te")
            # Read again: a look for a newer generation, the current one, the read-back.
            assert backend.calls["get"] == 3
            backend.calls.clear()
            await vault.refresh("te")
            assert backend.calls["get"] == 1
        finally:
            await vault.aclose()

    with _fake() as fake:
        asyncio.run(scenario(fake))


def test_a_refresh_by_another_process_is_never_undone(cli: Cli, vault_home: Path) -> None:
    """The CLI, a real second process on the same vault and Secret Service, refreshes (the
    server rotates the refresh token) between two refreshes of this process: this process
    reads what the CLI stored and sends the newest refresh token. Sending the one it wrote
    itself would trip the server's reuse detection and force a sign-in."""

    async def scenario(fake: TraderEvolutionFake) -> None:
        backend = Counting(SecretServiceBackend())
        vault = Vault(vault_home, backend=backend)
        try:
            await _add(vault, fake)
            await vault.refresh("te")
            await vault.refresh("te")
            held_reads = backend.calls["get"]
            await vault.refresh("te")
            assert backend.calls["get"] - held_reads == 1  # the read-back only
            assert_ok(await asyncio.to_thread(cli, "refresh", "te"))
            before = len(fake.requests)
            reads = backend.calls["get"]
            account, tokens = await vault.refresh("te")
            assert backend.calls["get"] - reads >= 2  # it read the other process's item
            assert [r.path for r in fake.requests[before:]] == [REFRESH]
            assert account.status is Status.OK and fake.is_active(tokens.access_token)
        finally:
            await vault.aclose()

    with _fake() as fake:
        asyncio.run(scenario(fake))
        assert SIGN_IN not in [r.path for r in fake.requests[1:]]


def _lock_the_keyring() -> None:
    """Lock the default collection, as `secret-tool lock` or a screen lock would."""
    import secretstorage

    with contextlib.closing(secretstorage.dbus_init()) as connection:
        secretstorage.get_default_collection(connection).lock()


@pytest.mark.parametrize("fault", ["locked", "daemon gone"])
def test_a_keyring_unusable_between_refreshes_never_costs_the_rotated_token(
    on_private_keyring: PrivateKeyring, vault_home: Path, fault: str
) -> None:
    """The keyring is locked, or its daemon gone, while this process holds an account's
    secrets (vault._Held). The next refresh must not send the refresh token unless it can
    store the one the server rotates in: a rotated token that cannot be written is lost,
    and the one still stored is spent (reuse detection then revokes the whole grant)."""

    async def scenario(fake: OAuth2Fake) -> None:
        vault = Vault(vault_home, backend=SecretServiceBackend(), keyring_timeout=10)
        try:
            first = fake.issue_refresh_token("held-client", "erin")
            fields = {"token_url": fake.token_url, "grant": "refresh_token"}
            await vault.add(
                "o", "oauth2", {**fields, "client_id": "held-client"},
                {"client_secret": "held-secret-0001", "refresh_token": first},
            )  # fmt: skip
            await vault.refresh("o")  # held from here on
            if fault == "locked":
                await asyncio.to_thread(_lock_the_keyring)
            else:
                await asyncio.to_thread(on_private_keyring.stop_daemon)
            with contextlib.suppress(UserFacingError):  # refused, or unlocked and stored
                await vault.refresh("o")
            await asyncio.to_thread(on_private_keyring.restart)  # back, unlocked
            account, tokens = await vault.refresh("o")
            assert account.status is Status.OK and fake.is_active(tokens.access_token)
        finally:
            await vault.aclose()

    with OAuth2Fake(access_lifetime=600) as fake:
        fake.add_client("held-client", "held-secret-0001")
        asyncio.run(scenario(fake))
        assert fake.reuses == []
