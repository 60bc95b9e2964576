"""The contract every provider passes (DESIGN.md section 10, after keyring's shared test
mixin): sign in, serve, refresh, revoke; bad credentials are rejected; server trouble and
malformed replies are transient; and nothing stored changes after any failure.

Storage is the in-memory keyring here (the same flows run on the real Secret Service through
the CLI tests); every provider talks to its loopback fake over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.fakes import hostile
from tests.fakes.server import ANY_PATH, Fault
from tests.providers.harness import HTTP_KINDS, KINDS, Harness, harness
from vault_app.core import redact
from vault_app.core.errors import (
    MisconfiguredError,
    RejectedError,
    TransientError,
    UserFacingError,
)
from vault_app.core.model import SecretBundle, Status
from vault_app.core.providers import replies
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
    # After a lost or unusable reply an account with a primary credential signs in instead
    # of resending its refresh token; one without retries a lost reply once.
    lost = fault.kind in ("drop", "malformed", "incomplete")
    can_sign_in = h.kind != "alor"
    times = 2 if lost and (can_sign_in or fault.kind == "drop") else 1
    h.fake.inject(ANY_PATH if lost and can_sign_in else h.refresh_path, fault, times=times)
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


# -- the hostile catalogue (tests/fakes/hostile.py) ---------------------------------------------

DEADLINE = 1.0  # the request_deadline these runs use: dripping and hanging replies end at it


def _hostile_params() -> list[object]:
    return [
        pytest.param(kind, case, id=f"{kind}-{case.name}")
        for kind in HTTP_KINDS
        for case in hostile.cases_for(kind)
    ]


@pytest.mark.parametrize(("kind", "case"), _hostile_params())
def test_hostile_reply(kind: str, case: hostile.Case, vault_home: Path) -> None:
    """Every catalogue case against every provider with a server: the outcome class it
    declares; on success a sane, unexpired, well-formed token that the server issued; on
    failure a one-line message without a secret in any encoding, the account's status and
    last error, and nothing stored changed but a refresh token the server rotated in; never
    a hang; and once the server behaves again, a refresh works and no refresh token was ever
    sent twice (reuse detection stayed quiet)."""
    with harness(kind) as h:
        _run(vault_home, partial(_hostile, h, case))


def _outcome(error: UserFacingError | None) -> hostile.Outcome:
    if error is None:
        return hostile.Outcome.SUCCESS
    if isinstance(error, RejectedError):
        return hostile.Outcome.REJECTED
    if isinstance(error, MisconfiguredError):
        return hostile.Outcome.MISCONFIGURED
    assert isinstance(error, TransientError), type(error)
    return hostile.Outcome.TRANSIENT


def _secret_forms(h: Harness) -> set[str]:
    """Every secret of the account and every token the server issued, in every encoding the
    app produces when it sends one."""
    assert h.fake is not None
    values = set(h.secrets.values()) | set(h.fake.known_secrets)
    forms = {form for value in values for form in redact.encodings(value)}
    client_id = h.fields.get("client_id")
    if client_id and h.secrets.get("client_secret"):
        forms |= redact.basic_credentials(client_id, h.secrets["client_secret"])
    return {form for form in forms if len(form) >= 8}


async def _hostile(h: Harness, case: hostile.Case, vault: Vault) -> None:
    fake = h.fake
    assert fake is not None
    _, failure = await vault.add("acct", h.kind, h.fields, h.secrets)
    assert failure is None
    vault.store.update(lambda doc: doc.settings.update(request_deadline=DEADLINE))
    before_generation, before = _stored(vault, "acct")
    assert before is not None and before.tokens is not None
    if case.prepare is not None:
        case.prepare()
    fake.inject(ANY_PATH, case.fault(hostile.DIALECTS[h.kind], fake), times=None)
    started = time.monotonic()
    error: UserFacingError | None = None
    try:
        _, tokens = await asyncio.wait_for(vault.refresh("acct"), 120)
    except UserFacingError as exc:
        error = exc
    elapsed = time.monotonic() - started
    fake.clear_faults()
    assert elapsed < (4 * DEADLINE + 20 if case.slow else 30), elapsed

    outcome = _outcome(error)
    assert outcome is case.outcome, f"{outcome.value}: {error}"
    account = vault.load().find("acct")
    generation, after = _stored(vault, "acct")
    assert after is not None and after.tokens is not None
    secrets = _secret_forms(h)
    if error is None:
        assert account.status is Status.OK
        assert after.tokens.access_token == tokens.access_token
        assert fake.is_active(tokens.access_token)  # the server's own token, unchanged
        assert replies.token_problem(tokens.access_token) is None
        assert tokens.token_type == "Bearer"
        remaining = tokens.remaining()
        assert remaining is not None and remaining > 0
        if case.life is not None:
            assert case.life[0] <= remaining <= case.life[1], remaining
        assert account.access_expires_at == tokens.expires_at
        _, served = await vault.token("acct")
        assert served.access_token == tokens.access_token
    else:
        message = error.message
        assert message.strip() and message.isprintable(), repr(message)
        assert len(message) <= 600, len(message)
        assert case.says in message, message
        assert not [bad for bad in case.never if bad in message], message
        assert not [form for form in secrets if form in message], message
        assert account.last_error == message
        expected = Status.SIGN_IN_NEEDED if outcome is hostile.Outcome.REJECTED else Status.ERROR
        assert account.status is expected
        if (generation, after) != (before_generation, before):
            # Only a refresh token the server rotated in may change, beside the same access
            # token (a reply whose access token was expired on arrival).
            assert after.tokens.access_token == before.tokens.access_token
            # (oauth2 keeps the newest refresh token in its refresh_token secret field too)
            assert after.secrets in (
                before.secrets,
                {**before.secrets, "refresh_token": after.tokens.refresh_token},
            )
            assert after.tokens.refresh_token is not None
            assert fake.accepts_refresh(after.tokens.refresh_token)
        _, served = await vault.token("acct", min_valid=0)
        assert served.access_token == before.tokens.access_token
    stored_text = (vault.store.home / "accounts.json").read_text()
    assert not [form for form in secrets if form in stored_text]

    # Once the server behaves: one refresh works, and no refresh token was ever reused.
    _, again = await vault.refresh("acct")
    assert fake.is_active(again.access_token)
    assert vault.load().find("acct").status is Status.OK
    assert fake.reuses == []
    assert fake.errors == [] and fake.violations == []


def test_catalogue_covers_every_kind_of_fault() -> None:
    """The catalogue's size and its kinds (the report quotes them)."""
    counts = hostile.kinds()
    assert set(counts) >= {
        "numbers",
        "clocks",
        "encodings",
        "bodies",
        "sizes",
        "timing",
        "redirects",
        "echoes",
        "errors",
        "syntax",
        "types",
        "statuses",
    }
    assert len(hostile.CATALOGUE) >= 100
    for kind in HTTP_KINDS:
        assert len(hostile.cases_for(kind)) >= 90, kind
