"""Apirone on the wire (DESIGN.md section 2): `POST {base}/auth/login` with a JSON
`{"login","password"}`, hyphenated `access-token` / `refresh-token` replies, refresh with
`Authorization: Bearer <refresh-token>`, logout with `Authorization: Bearer <access-token>`
ending both tokens, and an expired access token refreshed before logging out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.apirone import ApironeFake
from tests.fakes.server import Fault
from tests.providers.wire import (
    FaultCase,
    age_tokens,
    claims_of,
    expect_plain_http_refused,
    expect_transient_and_nothing_changed,
    fault_params,
    one_line,
    run,
    serving,
    stored,
)
from vault_app.core.errors import RejectedError, TransientError
from vault_app.core.model import Status
from vault_app.core.vault import Vault

LOGIN, KEY = "apr-e7be0e8eabd391b499fe64647576fad5", "CY2qGJ65OVc5X5KJbibOelc5bbZbnfqx"
LOGIN_PATH = "/api/v2/auth/login"
REFRESH_PATH = "/api/v2/auth/refresh-token"
LOGOUT_PATH = "/api/v2/auth/logout"


def _fake(**options: Any) -> ApironeFake:
    fake = ApironeFake(**options)
    fake.add_account(LOGIN, KEY)
    return fake


async def _add(vault: Vault, fake: ApironeFake) -> None:
    account, failure = await vault.add(
        "apr", "apirone", {"base_url": fake.base_url, "login": LOGIN}, {"password": KEY}
    )
    assert failure is None, failure
    assert account.status is Status.OK


def test_login_and_refresh_requests_and_hyphenated_replies(vault_home: Path) -> None:
    with serving(_fake(access_lifetime=600, refresh_lifetime=86400)) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            account = vault.load().find("apr")
            _, first = await vault.token("apr")
            assert fake.is_active(first.access_token)
            assert first.refresh_token is not None and fake.accepts_refresh(first.refresh_token)
            # Lifetimes come from the JWTs: 10 min access, the refresh token's own exp.
            assert first.expires_at == claims_of(first.access_token)["exp"]
            assert account.access_expires_at == first.expires_at
            assert account.refresh_expires_at == claims_of(first.refresh_token)["exp"]

            account, second = await vault.refresh("apr")
            assert second.access_token != first.access_token
            assert second.refresh_token != first.refresh_token
            refresh = fake.requests_to(REFRESH_PATH)[0]
            assert refresh.header("authorization") == f"Bearer {first.refresh_token}"
            assert account.refresh_expires_at == claims_of(second.refresh_token or "")["exp"]

        run(vault_home, scenario)
        login = fake.requests_to(LOGIN_PATH)
        assert len(login) == 1 and login[0].method == "POST"
        assert (login[0].header("content-type") or "").startswith("application/json")
        assert login[0].json() == {"login": LOGIN, "password": KEY}
        assert login[0].header("authorization") is None
        assert all(r.query == {} and r.target == r.path for r in fake.requests)
        assert fake.reuses == []


def test_default_base_url_is_apirone_v2(vault_home: Path) -> None:
    async def scenario(vault: Vault) -> None:
        account, failure = await vault.add(
            "apr", "apirone", {"login": LOGIN}, {"password": KEY}, sign_in=False
        )
        assert failure is None
        assert account.fields["base_url"] == "https://apirone.com/api/v2"

    run(vault_home, scenario)


def test_rotation_uses_each_refresh_token_once(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            for _ in range(3):
                await vault.refresh("apr")

        run(vault_home, scenario)
        presented = [r.header("authorization") for r in fake.requests_to(REFRESH_PATH)]
        assert len(presented) == 3 and len(set(presented)) == 3
        assert fake.reuses == []
        assert [r.status for r in fake.requests] == [200, 200, 200, 200]


def test_logout_with_access_token_ends_both_tokens(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            _, tokens = await vault.token("apr")
            outcome = await vault.revoke("apr")
            assert outcome.server_side is True
            logout = fake.requests_to(LOGOUT_PATH)
            assert len(logout) == 1
            assert logout[0].method == "POST"
            assert logout[0].header("authorization") == f"Bearer {tokens.access_token}"
            assert logout[0].status == 200
            assert not fake.is_active(tokens.access_token)
            assert tokens.refresh_token is not None
            assert not fake.accepts_refresh(tokens.refresh_token)
            bundle = vault.read_current_sync(vault.load().find("apr"))
            assert bundle is not None and bundle.tokens is None
            assert bundle.secrets == {"password": KEY}  # the transfer key stays
            assert vault.load().find("apr").status is Status.SIGNED_OUT

        run(vault_home, scenario)
        assert [r.path for r in fake.requests] == [LOGIN_PATH, LOGOUT_PATH]


def test_revoke_with_expired_access_token_refreshes_first(vault_home: Path) -> None:
    lifetime = 600.0
    with serving(_fake(access_lifetime=lifetime)) as fake:

        async def scenario(vault: Vault) -> None:
            # Tokens issued "11 minutes ago": expired by now for the server and the vault.
            await _add(vault, fake)
            fake.advance(lifetime + 60)
            age_tokens(vault, "apr", lifetime + 60)
            bundle = vault.read_current_sync(vault.load().find("apr"))  # without refreshing
            assert bundle is not None and bundle.tokens is not None
            old = bundle.tokens
            assert (old.remaining() or 0) < 0
            assert not fake.is_active(old.access_token)

            outcome = await vault.revoke("apr")
            assert outcome.server_side is True
            logout = fake.requests_to(LOGOUT_PATH)
            assert len(logout) == 1 and logout[0].status == 200
            sent = (logout[0].header("authorization") or "").removeprefix("Bearer ")
            assert sent != old.access_token
            assert fake.family_of(sent) is not None
            assert not fake.is_active(sent)
            assert old.refresh_token is not None
            assert not fake.accepts_refresh(old.refresh_token)
            bundle = vault.read_current_sync(vault.load().find("apr"))
            assert bundle is not None and bundle.tokens is None

        run(vault_home, scenario)
        assert [(r.path, r.status) for r in fake.requests] == [
            (LOGIN_PATH, 200),
            (REFRESH_PATH, 200),
            (LOGOUT_PATH, 200),
        ]
        assert fake.reuses == []


@pytest.mark.parametrize("reject_status", [400, 401])
def test_bad_transfer_key_is_rejected(vault_home: Path, reject_status: int) -> None:
    with serving(_fake(reject_status=reject_status)) as fake:

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "apr",
                "apirone",
                {"base_url": fake.base_url, "login": LOGIN},
                {"password": "not-the-transfer-key"},
            )
            assert isinstance(failure, RejectedError)
            assert failure.exit_code == 4
            message = one_line(failure)
            assert "wrong login or transfer key" in message
            assert "not-the-transfer-key" not in message
            assert account.status is Status.SIGN_IN_NEEDED

        run(vault_home, scenario)
        assert [r.status for r in fake.requests] == [reject_status]


def test_rejected_refresh_signs_in_again_with_the_transfer_key(vault_home: Path) -> None:
    with serving(_fake(refresh_lifetime=60)) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            fake.advance(120)
            account, tokens = await vault.refresh("apr")
            assert account.status is Status.OK
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        assert [(r.path, r.status) for r in fake.requests] == [
            (LOGIN_PATH, 200),
            (REFRESH_PATH, 400),
            (LOGIN_PATH, 200),
        ]


@pytest.mark.parametrize("case", fault_params())
def test_refresh_faults_are_transient_and_change_nothing(vault_home: Path, case: FaultCase) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            fake.inject(case.path(REFRESH_PATH, True), case.fault, times=case.times(True))
            await expect_transient_and_nothing_changed(
                vault, "apr", lambda: vault.refresh("apr"), case
            )
            _, tokens = await vault.refresh("apr")
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        assert fake.reuses == []
        # After a lost refresh reply the transfer key signs in; the refresh token is not resent.
        assert len(fake.requests_to(LOGIN_PATH)) == (3 if case.lost else 1)
        assert len(fake.requests_to(REFRESH_PATH)) == (1 if case.lost else 2)


@pytest.mark.parametrize("case", [p for p in fault_params() if p.id in ("500", "malformed-json")])
def test_login_faults_keep_the_account_without_tokens(vault_home: Path, case: FaultCase) -> None:
    with serving(_fake()) as fake:
        fake.inject(LOGIN_PATH, case.fault)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "apr", "apirone", {"base_url": fake.base_url, "login": LOGIN}, {"password": KEY}
            )
            assert isinstance(failure, TransientError)
            assert case.says in one_line(failure)
            assert account.status is Status.ERROR
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None

        run(vault_home, scenario)


@pytest.mark.parametrize(
    "fault", [Fault.server_error(), Fault.html(502), Fault.drop()], ids=["500", "html-502", "drop"]
)
def test_logout_fault_keeps_the_tokens(vault_home: Path, fault: Fault) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            fake.inject(LOGOUT_PATH, fault)
            before = stored(vault, "apr")
            with pytest.raises(TransientError) as caught:
                await vault.revoke("apr")
            one_line(caught.value)
            assert stored(vault, "apr") == before  # not forgotten: the server never said so
            outcome = await vault.revoke("apr")
            assert outcome.server_side is True

        run(vault_home, scenario)


def test_revoke_after_a_lost_logout_reply_forgets_the_dead_tokens(vault_home: Path) -> None:
    """The server logged out but its reply was lost; the retried Revoke presents a dead access
    token. The tokens are ended, so Revoke must forget them instead of failing for good."""
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            _, tokens = await vault.token("apr")
            fake.inject(LOGOUT_PATH, Fault.drop(after_processing=True))
            with pytest.raises(TransientError):
                await vault.revoke("apr")
            assert not fake.is_active(tokens.access_token)  # the logout did happen
            outcome = await vault.revoke("apr")  # BUG: raises RejectedError (HTTP 400)
            assert "no longer" in outcome.message or outcome.server_side
            bundle = vault.read_current_sync(vault.load().find("apr"))
            assert bundle is not None and bundle.tokens is None
            assert vault.load().find("apr").status is Status.SIGNED_OUT

        run(vault_home, scenario)


def test_plain_http_base_url_is_refused(vault_home: Path) -> None:
    async def scenario(vault: Vault) -> None:
        await expect_plain_http_refused(
            vault, "apirone", "base_url", {"login": LOGIN}, {"password": KEY}
        )

    run(vault_home, scenario)
