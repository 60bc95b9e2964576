"""TraderEvolution on the wire (DESIGN.md section 2): sign-in `POST /auth/token` with a JSON
`{"login","password"}`, refresh `GET /auth/token/refresh` with the refresh token in the header
`token`, snake_case and camelCase replies with or without lifetimes, rotation without reuse,
sign-in again when a refresh is rejected, and a local-only revoke."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.server import Fault, Reply, Request
from tests.fakes.traderevolution import TraderEvolutionFake
from tests.providers.wire import (
    FaultCase,
    changed_elsewhere,
    claims_of,
    expect_plain_http_refused,
    expect_transient_and_nothing_changed,
    fault_params,
    one_line,
    run,
    serving,
    stored,
)
from vault_app.core.errors import RejectedError
from vault_app.core.model import Status
from vault_app.core.vault import Vault

LOGIN, PASSWORD = "trader", "c0rrect-h0rse-battery"
SIGN_IN, REFRESH = "/auth/token", "/auth/token/refresh"


def _fake(**options: Any) -> TraderEvolutionFake:
    fake = TraderEvolutionFake(**options)
    fake.add_user(LOGIN, PASSWORD)
    return fake


def _fields(fake: TraderEvolutionFake) -> dict[str, str]:
    return {"base_url": fake.base_url, "login": LOGIN}


async def _add(vault: Vault, fake: TraderEvolutionFake) -> None:
    account, failure = await vault.add(
        "te", "traderevolution", _fields(fake), {"password": PASSWORD}
    )
    assert failure is None, failure
    assert account.status is Status.OK


def test_sign_in_and_refresh_requests(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            _, first = await vault.token("te")
            _, second = await vault.refresh("te")
            assert second.access_token != first.access_token
            assert first.refresh_token is not None
            refresh = fake.requests_to(REFRESH)[0]
            assert refresh.header("token") == first.refresh_token
            assert second.refresh_token != first.refresh_token

        run(vault_home, scenario)
        sign_in = fake.requests_to(SIGN_IN)
        assert len(sign_in) == 1
        assert sign_in[0].method == "POST"
        assert (sign_in[0].header("content-type") or "").startswith("application/json")
        assert sign_in[0].json() == {"login": LOGIN, "password": PASSWORD}
        assert sign_in[0].query == {} and sign_in[0].target == SIGN_IN
        refresh = fake.requests_to(REFRESH)
        assert len(refresh) == 1
        assert refresh[0].method == "GET"
        assert refresh[0].query == {} and refresh[0].target == REFRESH
        assert refresh[0].header("authorization") is None
        assert refresh[0].body == b""
        assert [r.status for r in fake.requests] == [200, 200]


@pytest.mark.parametrize("naming", ["snake", "camel"])
@pytest.mark.parametrize("lifetime_fields", [True, False], ids=["lifetimes", "no-lifetimes"])
@pytest.mark.parametrize("jwt_access", [True, False], ids=["jwt", "opaque"])
def test_reply_shapes(
    vault_home: Path, naming: str, lifetime_fields: bool, jwt_access: bool
) -> None:
    fake = _fake(
        naming=naming,
        lifetime_fields=lifetime_fields,
        jwt_access_tokens=jwt_access,
        access_lifetime=900,
        refresh_lifetime=7200,
    )
    with serving(fake):

        async def scenario(vault: Vault) -> None:
            for step in ("sign-in", "refresh"):
                if step == "sign-in":
                    await _add(vault, fake)
                else:
                    await vault.refresh("te")
                account = vault.load().find("te")
                _, tokens = await vault.token("te")
                assert fake.is_active(tokens.access_token)
                assert tokens.refresh_token is not None
                assert fake.accepts_refresh(tokens.refresh_token)
                if lifetime_fields:
                    # The reply's lifetime decides, JWT or not.
                    assert tokens.expires_at == pytest.approx(time.time() + 900, abs=5)
                    assert account.refresh_expires_at == pytest.approx(time.time() + 7200, abs=5)
                elif jwt_access:
                    assert tokens.expires_at == claims_of(tokens.access_token)["exp"]
                    assert account.refresh_expires_at is None  # opaque refresh token
                else:
                    # Opaque and no lifetime: the expiry is honestly unknown.
                    assert tokens.expires_at is None
                    assert account.access_expires_at is None
                assert account.access_expires_at == tokens.expires_at

        run(vault_home, scenario)
        assert fake.reuses == []


def _wrap_in_data(fake: TraderEvolutionFake, method: str, path: str) -> None:
    real = fake.routes[(method, path)]

    def wrapped(request: Request) -> Reply:
        reply = real(request)
        if reply.status == 200:
            reply = Reply(200, {"status": "ok", "data": reply.body}, reply.headers)
        return reply

    fake.route(method, path, wrapped)


def test_reply_wrapped_in_data_object(vault_home: Path) -> None:
    with serving(_fake(naming="camel")) as fake:
        _wrap_in_data(fake, "POST", SIGN_IN)
        _wrap_in_data(fake, "GET", REFRESH)

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            _, first = await vault.token("te")
            assert fake.is_active(first.access_token)
            _, second = await vault.refresh("te")
            assert fake.is_active(second.access_token)
            assert second.refresh_token is not None and fake.accepts_refresh(second.refresh_token)

        run(vault_home, scenario)


def test_rotation_uses_each_refresh_token_once(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            held = [(await vault.token("te"))[1].refresh_token]
            for _ in range(4):
                _, tokens = await vault.refresh("te")
                held.append(tokens.refresh_token)
            assert len(set(held)) == 5
            bundle = vault.read_current_sync(vault.load().find("te"))
            assert bundle is not None and bundle.tokens is not None
            assert bundle.tokens.refresh_token == held[-1]

        run(vault_home, scenario)
        presented = [r.header("token") for r in fake.requests_to(REFRESH)]
        assert len(presented) == 4 and len(set(presented)) == 4
        assert all(fake.refresh_tokens[t].uses == 1 for t in presented if t)
        assert fake.reuses == []
        assert len(fake.requests_to(SIGN_IN)) == 1


def test_rejected_refresh_signs_in_again_with_the_password(vault_home: Path) -> None:
    with serving(_fake(refresh_lifetime=60)) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            _, old = await vault.token("te")
            fake.advance(120)  # the refresh token lapses at the server
            account, tokens = await vault.refresh("te")
            assert account.status is Status.OK
            assert account.last_error is None
            assert tokens.refresh_token != old.refresh_token
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        assert [(r.method, r.path, r.status) for r in fake.requests] == [
            ("POST", SIGN_IN, 200),
            ("GET", REFRESH, 401),
            ("POST", SIGN_IN, 200),
        ]
        assert fake.requests[2].json() == {"login": LOGIN, "password": PASSWORD}
        assert fake.reuses == []


def test_rejected_refresh_and_changed_password_needs_sign_in(vault_home: Path) -> None:
    with serving(_fake(refresh_lifetime=60)) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            before = stored(vault, "te")
            fake.advance(120)
            fake.add_user(LOGIN, "changed-elsewhere-1")
            with pytest.raises(RejectedError) as caught:
                await vault.refresh("te")
            assert "wrong login or password" in one_line(caught.value)
            assert stored(vault, "te") == before
            assert vault.load().find("te").status is Status.SIGN_IN_NEEDED

        run(vault_home, scenario)
        assert [r.status for r in fake.requests] == [200, 401, 401]  # signed in again once


def test_wrong_password_is_rejected(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "te", "traderevolution", _fields(fake), {"password": "not-the-password"}
            )
            assert isinstance(failure, RejectedError)
            assert failure.exit_code == 4
            message = one_line(failure)
            assert "wrong login or password" in message
            assert "not-the-password" not in message
            assert account.status is Status.SIGN_IN_NEEDED
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None

        run(vault_home, scenario)
        assert [r.status for r in fake.requests] == [401]


def test_revoke_is_local(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            _, tokens = await vault.token("te")
            seen = len(fake.requests)
            outcome = await vault.revoke("te")
            assert len(fake.requests) == seen
            assert outcome.server_side is False
            assert "no revoke endpoint" in outcome.message
            bundle = vault.read_current_sync(vault.load().find("te"))
            assert bundle is not None
            assert bundle.tokens is None
            assert bundle.secrets == {"password": PASSWORD}  # kept for the next sign-in
            assert vault.load().find("te").status is Status.SIGNED_OUT
            assert tokens.refresh_token is not None
            assert fake.accepts_refresh(tokens.refresh_token)  # nothing happened at the server
            # The next token request signs in afresh with the password.
            _, again = await vault.token("te")
            assert fake.is_active(again.access_token)
            assert fake.requests[-1].path == SIGN_IN

        run(vault_home, scenario)


@pytest.mark.parametrize("case", fault_params())
def test_refresh_faults_are_transient_and_change_nothing(vault_home: Path, case: FaultCase) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            fake.inject(case.path(REFRESH, True), case.fault, times=case.times(True))
            await expect_transient_and_nothing_changed(
                vault, "te", lambda: vault.refresh("te"), case
            )
            _, tokens = await vault.refresh("te")
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        assert fake.reuses == []
        # A transient failure is not a rejection; after a lost refresh reply the password
        # signs in (twice: the failed try and the next), the refresh token is never resent.
        assert len(fake.requests_to(SIGN_IN)) == (3 if case.lost else 1)
        assert len(fake.requests_to(REFRESH)) == (1 if case.lost else 2)


@pytest.mark.parametrize("case", [p for p in fault_params() if p.id in ("500", "malformed-json")])
def test_sign_in_faults_keep_the_account_without_tokens(vault_home: Path, case: FaultCase) -> None:
    with serving(_fake()) as fake:
        fake.inject(SIGN_IN, case.fault)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "te", "traderevolution", _fields(fake), {"password": PASSWORD}
            )
            assert failure is not None and failure.exit_code == 5
            assert case.says in one_line(failure)
            assert account.status is Status.ERROR
            assert stored(vault, "te").generation == 1
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None
            assert bundle.secrets == {"password": PASSWORD}

        run(vault_home, scenario)


def test_plain_http_base_url_is_refused(vault_home: Path) -> None:
    async def scenario(vault: Vault) -> None:
        await expect_plain_http_refused(
            vault,
            "traderevolution",
            "base_url",
            {"base_url": "https://bo.example.com/api", "login": LOGIN},
            {"password": PASSWORD},
        )

    run(vault_home, scenario)


# -- text from outside (issue 10.7) ---------------------------------------------------------------


def test_a_sign_in_with_a_cr_lf_refresh_token_stores_nothing_and_signs_in_again(
    vault_home: Path,
) -> None:
    """A sign-in reply whose refresh token holds CR LF is malformed: nothing is stored, and
    the next try signs in with the password again (today: the account failed for ever)."""
    with serving(_fake()) as fake:

        def crlf(request: Request, genuine: Reply | None) -> Reply:
            assert genuine is not None and isinstance(genuine.body, dict)
            return Reply(200, {**genuine.body, "refresh_token": "r1\r\nX-Injected: 1"})

        fake.inject(SIGN_IN, Fault.transformed(crlf), times=1)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "te", "traderevolution", _fields(fake), {"password": PASSWORD}
            )
            assert failure is not None and failure.exit_code == 5
            assert "refresh_token that contains a line break" in one_line(failure)
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None
            _, tokens = await vault.token("te")
            assert fake.is_active(tokens.access_token)
            _, again = await vault.refresh("te")
            assert fake.is_active(again.access_token)

        run(vault_home, scenario)
        assert [r.path for r in fake.requests] == [SIGN_IN, SIGN_IN, REFRESH]


def test_a_stored_malformed_refresh_token_is_never_sent(vault_home: Path) -> None:
    """A refresh token an older version stored with CR LF in it: sending it would forge a
    header. It is treated as rejected, and the password signs in again."""
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, fake)
            account = vault.load().find("te")
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is not None
            bundle.tokens.refresh_token = "r1\r\nX-Injected: 1"
            store = vault.secrets()
            store.call(lambda: store.write_bundle(account.id, account.generation, bundle))
            changed_elsewhere(vault, account.id)
            _, tokens = await vault.refresh("te")
            assert fake.is_active(tokens.access_token)
            assert tokens.refresh_token is not None and "\r" not in tokens.refresh_token

        run(vault_home, scenario)
        assert [r.path for r in fake.requests] == [SIGN_IN, SIGN_IN]
