"""The generation protocol step by step, on the in-memory backend (fast; the same flows run
against the real Secret Service in tests/storage)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vault_app.core.errors import SignInNeededError, UsageError
from vault_app.core.model import Status
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault


def _keys(backend: MemoryBackend) -> set[str]:
    return {username for _service, username in backend.items}


def test_each_change_leaves_exactly_one_generation(vault_home: Path) -> None:
    backend = MemoryBackend()

    async def scenario() -> None:
        vault = Vault(vault_home, backend=backend)
        try:
            account, failure = await vault.add("m", "static", {}, {"token": "first-token-1"})
            assert failure is None and account.status is Status.OK
            # add writes generation 1 (secrets), the sign-in writes 2 and deletes 1.
            assert account.generation == 2
            assert _keys(backend) == {f"{account.id}:2"}

            account, failure = await vault.edit("m", {}, {"token": "second-token-2"})
            assert failure is None
            assert _keys(backend) == {f"{account.id}:{account.generation}"}
            _, tokens = await vault.token("m")
            assert tokens.access_token == "second-token-2"

            outcome = await vault.revoke("m")
            assert not outcome.server_side
            assert vault.load().find("m").status is Status.SIGNED_OUT
            with pytest.raises(SignInNeededError):
                await vault.token("m")
            assert vault.load().find("m").status is Status.SIGN_IN_NEEDED

            await vault.remove("m")
            assert backend.items == {}
            assert vault.load().accounts == []
        finally:
            await vault.aclose()

    asyncio.run(scenario())


def test_duplicate_name_writes_nothing(vault_home: Path) -> None:
    backend = MemoryBackend()

    async def scenario() -> None:
        vault = Vault(vault_home, backend=backend)
        try:
            await vault.add("dup", "static", {}, {"token": "token-aaaa-1"})
            before = dict(backend.items)
            with pytest.raises(UsageError, match="exists already"):
                await vault.add("dup", "static", {}, {"token": "token-bbbb-2"})
            assert backend.items == before
        finally:
            await vault.aclose()

    asyncio.run(scenario())
