"""The contract every provider passes (DESIGN.md section 10, after keyring's shared test
mixin): sign in, serve, refresh, revoke; bad credentials are rejected; server trouble and
malformed replies are transient; and nothing stored changes after any failure.

Storage is the in-memory keyring here (the same flows run on the real Secret Service through
the CLI tests); every provider talks to its loopback fake over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.fakes.server import Fault
from tests.providers.harness import HTTP_KINDS, KINDS, Harness, harness
from vault_app.core.errors import RejectedError, TransientError
from vault_app.core.model import SecretBundle, Status
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault


@pytest.fixture(params=KINDS)
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with harness(request.param) as made:
        yield made


def _run(home: Path, scenario: Callable[[Vault], Awaitable[None]]) -> None:
    async def main() -> None:
        vault = Vault(home, backend=MemoryBackend())
        try:
            return await scenario(vault)
        finally:
            await vault.aclose()

    return asyncio.run(main())


def _stored(vault: Vault, name: str) -> tuple[int, SecretBundle | None]:
    account = vault.load().find(name)
    return account.generation, vault.read_current_sync(account)


def test_sign_in_serve_refresh_revoke(h: Harness, vault_home: Path) -> None:
    async def scenario(vault: Vault) -> None:
        account, failure = await vault.add("acct", h.kind, h.fields, h.secrets)
        assert failure is None
        assert account.status is Status.OK
        _, first = await vault.token("acct")
        if h.fake is not None:
            assert h.fake.is_active(first.access_token)
            served_from_store = len(h.fake.requests)
            _, again = await vault.token("acct")
            assert again.access_token == first.access_token
            assert len(h.fake.requests) == served_from_store  # no request for a valid token

        _, refreshed = await vault.refresh("acct")
        if h.fake is not None:
            assert refreshed.access_token != first.access_token
            assert h.fake.is_active(refreshed.access_token)
            if h.rotates:
                assert refreshed.refresh_token != first.refresh_token
            assert h.fake.reuses == []
            assert h.fake.violations == []

        outcome = await vault.revoke("acct")
        assert outcome.server_side is h.server_revoke
        assert vault.load().find("acct").status is Status.SIGNED_OUT
        assert vault.read_current_sync(vault.load().find("acct")).tokens is None  # type: ignore[union-attr]
        if h.fake is not None and h.server_revoke:
            assert not h.fake.is_active(refreshed.access_token)

    _run(vault_home, scenario)


def test_bad_credentials_are_rejected_and_store_nothing(h: Harness, vault_home: Path) -> None:
    async def scenario(vault: Vault) -> None:
        account, failure = await vault.add("bad", h.kind, h.fields, h.bad_secrets)
        assert isinstance(failure, RejectedError)
        assert failure.exit_code == 4
        assert "\n" not in failure.message and failure.message.startswith(h.kind)
        assert account.status is Status.SIGN_IN_NEEDED
        _, bundle = _stored(vault, "bad")
        assert bundle is not None and bundle.tokens is None

    _run(vault_home, scenario)


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize(
    "fault",
    [
        Fault.server_error(),
        Fault.html(502),
        Fault.malformed_json(),
        Fault.incomplete(),
        Fault.drop(),
    ],
    ids=["500", "html-502", "malformed-json", "no-token-fields", "dropped"],
)
def test_server_trouble_is_transient_and_changes_nothing(
    kind: str, vault_home: Path, fault: Fault
) -> None:
    with harness(kind) as h:
        _run(vault_home, partial(_trouble, h, fault))


async def _trouble(h: Harness, fault: Fault, vault: Vault) -> None:
    """A refresh meets server trouble: transient, nothing stored changes, and the same
    tokens refresh once the server behaves."""
    _, failure = await vault.add("acct", h.kind, h.fields, h.secrets)
    assert failure is None
    before = _stored(vault, "acct")
    assert h.fake is not None and h.refresh_path is not None
    # A lost reply is retried once with the same token; only a second loss is transient.
    h.fake.inject(h.refresh_path, fault, times=2 if fault.kind == "drop" else 1)
    with pytest.raises(TransientError) as caught:
        await vault.refresh("acct")
    assert caught.value.exit_code == 5
    assert "\n" not in caught.value.message
    assert _stored(vault, "acct") == before
    account = vault.load().find("acct")
    assert account.status is Status.ERROR
    assert account.last_error == caught.value.message
    _, tokens = await vault.refresh("acct")
    assert h.fake.is_active(tokens.access_token)
    assert h.fake.reuses == []
