"""ALOR on the wire (DESIGN.md section 2): `POST {oauth_url}/refresh` with the refresh token as
`token` in a JSON body, `allowedPortfolios` as a JSON array when set, expiry from the JWT,
local-only revoke, and the refresh-token expiry the user types in."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.fakes.alor import AlorFake
from tests.fakes.cached import issued_ago
from tests.providers.wire import (
    FaultCase,
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
from vault_app.core.providers.alor import AlorProvider
from vault_app.core.providers.base import AccountConfig
from vault_app.core.vault import Vault

REFRESH = "4c3b3c2e-0000-4000-8000-00000000a10f"


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_refresh_token_goes_in_json_body_never_in_url(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            _, failure = await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": REFRESH}
            )
            assert failure is None
            await vault.refresh("alor")

        run(vault_home, scenario)
        sent = fake.requests_to("/refresh")
        assert len(sent) == 2
        for request in sent:
            assert request.method == "POST"
            assert request.target == "/refresh"
            assert request.query == {}
            assert REFRESH not in request.target
            assert (request.header("content-type") or "").startswith("application/json")
            assert request.json() == {"token": REFRESH}  # no allowedPortfolios when unset
            assert request.status == 200
        assert fake.requests_to("/authorize") == []
        assert fake.issued[0].allowed_portfolios is None


def test_oauth_url_with_trailing_slash_still_posts_to_refresh(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            _, failure = await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url + "/"}, {"refresh_token": REFRESH}
            )
            assert failure is None

        run(vault_home, scenario)
        assert [r.target for r in fake.requests] == ["/refresh"]


def test_allowed_portfolios_sent_as_json_array(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            fields = {"oauth_url": fake.base_url, "allowed_portfolios": " D12345 , 750012345,"}
            account, failure = await vault.add("alor", "alor", fields, {"refresh_token": REFRESH})
            assert failure is None
            assert account.fields["allowed_portfolios"] == "D12345,750012345"
            _, tokens = await vault.token("alor")
            assert claims_of(tokens.access_token)["portfolios"] == "D12345 750012345"

        run(vault_home, scenario)
        body = fake.requests_to("/refresh")[0].json()
        assert body == {"token": REFRESH, "allowedPortfolios": ["D12345", "750012345"]}
        assert fake.issued[0].allowed_portfolios == ["D12345", "750012345"]


def test_expiry_comes_from_the_jwt_exp(vault_home: Path) -> None:
    with serving(AlorFake(access_lifetime=1800)) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": REFRESH}
            )
            assert failure is None
            _, tokens = await vault.token("alor")
            exp = claims_of(tokens.access_token)["exp"]
            assert tokens.expires_at == exp
            assert account.access_expires_at == exp
            assert abs(exp - (time.time() + 1800)) < 5
            assert tokens.refresh_token is None  # ALOR hands out access tokens only
            assert tokens.token_type == "Bearer"

        run(vault_home, scenario)


def test_short_lived_access_token_is_refreshed_on_demand(vault_home: Path) -> None:
    with serving(AlorFake(access_lifetime=90)) as fake:
        fake.add_refresh_token(REFRESH)
        # The first token arrives with 20 s left of its 90 (issued 70 s before it was sent):
        # past the first half of its life, so one that must last 60 s is refreshed first.
        fake.inject("/refresh", issued_ago(fake, 70, "alor"))

        async def scenario(vault: Vault) -> None:
            await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": REFRESH}
            )
            _, first = await vault.token("alor")
            left = first.remaining()
            assert left is not None and 0 < left <= 20
            _, second = await vault.token("alor", min_valid=60)  # 20 s left is not enough
            assert second.access_token != first.access_token
            assert fake.is_active(second.access_token)

        run(vault_home, scenario)
        assert len(fake.requests_to("/refresh")) == 2
        assert fake.reuses == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "https://oauth.alor.ru"),
        ({"environment": "production"}, "https://oauth.alor.ru"),
        ({"environment": "test"}, "https://oauthdev.alor.ru"),
        (
            {"environment": "test", "oauth_url": "https://alor.example/oauth"},
            "https://alor.example/oauth",
        ),
        ({"oauth_url": "http://127.0.0.1:9"}, "http://127.0.0.1:9"),
    ],
)
def test_environment_maps_to_oauth_server(fields: dict[str, str], expected: str) -> None:
    assert AlorProvider().base_url(AccountConfig(fields, {})) == expected


def test_revoked_refresh_token_is_rejected_with_alors_complaint(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": REFRESH}
            )
            before = stored(vault, "alor")
            fake.revoke(REFRESH)  # on the developer portal
            with pytest.raises(RejectedError) as caught:
                await vault.refresh("alor")
            message = one_line(caught.value)
            assert caught.value.exit_code == 4
            assert "alor" in message
            assert "revoked" in message  # ALOR's own words: "refresh token revoked (portal)"
            assert REFRESH not in message
            assert stored(vault, "alor") == before
            account = vault.load().find("alor")
            assert account.status is Status.SIGN_IN_NEEDED
            assert account.last_error == message

        run(vault_home, scenario)
        assert [r.status for r in fake.requests_to("/refresh")] == [200, 401]


def test_unknown_refresh_token_at_add_keeps_the_account(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": "never-issued-1"}
            )
            assert isinstance(failure, RejectedError)
            assert "unknown refresh token" in one_line(failure)
            assert account.status is Status.SIGN_IN_NEEDED
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None
            assert bundle.secrets == {"refresh_token": "never-issued-1"}

        run(vault_home, scenario)


def test_revoke_is_local_and_names_the_developer_portal(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            fields = {"oauth_url": fake.base_url}
            await vault.add("alor", "alor", fields, {"refresh_token": REFRESH})
            _, tokens = await vault.token("alor")
            seen = len(fake.requests)
            outcome = await vault.revoke("alor")
            assert len(fake.requests) == seen  # nothing reached the server
            assert outcome.server_side is False
            assert "alor.dev" in outcome.message
            description = AlorProvider().revoke_description(AccountConfig(fields, {}))
            # The portal by its address and page (DESIGN: "revoked on the ALOR developer portal").
            assert "https://alor.dev" in description and "API Access Tokens" in description
            assert "cannot be revoked through the API" in description
            # The tokens (the refresh token included) are forgotten here...
            bundle = vault.read_current_sync(vault.load().find("alor"))
            assert bundle is not None
            assert bundle.tokens is None
            assert REFRESH not in bundle.values()
            assert vault.load().find("alor").status is Status.SIGNED_OUT
            # ...but stay valid at ALOR: only the portal can end them.
            assert fake.is_active(tokens.access_token)
            assert fake.accepts_refresh(REFRESH)

        run(vault_home, scenario)


def test_refresh_token_expires_drives_refresh_expiry_and_warning(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)
        soon = time.time() + 10 * 86400 - 3600
        later = time.time() + 200 * 86400

        async def scenario(vault: Vault) -> None:
            fields = {"oauth_url": fake.base_url, "refresh_token_expires": _iso(soon)}
            account, failure = await vault.add("alor", "alor", fields, {"refresh_token": REFRESH})
            assert failure is None
            assert account.refresh_expires_at == pytest.approx(int(soon), abs=1)
            warning = account.refresh_warning()
            assert warning is not None and "10 days" in warning

            account, failure = await vault.edit("alor", {"refresh_token_expires": _iso(later)}, {})
            assert failure is None
            assert account.refresh_expires_at == pytest.approx(int(later), abs=1)
            assert account.refresh_warning() is None

            # A date only (as the portal shows it) is read as midnight UTC.
            account, failure = await vault.edit("alor", {"refresh_token_expires": "2001-02-03"}, {})
            assert failure is None
            assert (
                account.refresh_expires_at == datetime(2001, 2, 3, tzinfo=timezone.utc).timestamp()
            )
            assert account.refresh_warning() == "the refresh token has expired: a new one is needed"

        run(vault_home, scenario)


def test_no_refresh_token_expires_means_no_refresh_expiry(vault_home: Path) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            account, _ = await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": REFRESH}
            )
            assert account.refresh_expires_at is None
            assert account.refresh_warning() is None

        run(vault_home, scenario)


@pytest.mark.parametrize("case", fault_params())
def test_faults_are_transient_and_change_nothing(vault_home: Path, case: FaultCase) -> None:
    with serving(AlorFake()) as fake:
        fake.add_refresh_token(REFRESH)

        async def scenario(vault: Vault) -> None:
            await vault.add(
                "alor", "alor", {"oauth_url": fake.base_url}, {"refresh_token": REFRESH}
            )
            fake.inject("/refresh", case.fault, times=case.times(False))
            await expect_transient_and_nothing_changed(
                vault, "alor", lambda: vault.refresh("alor"), case
            )
            _, tokens = await vault.refresh("alor")  # the fault has passed
            assert fake.is_active(tokens.access_token)
            assert vault.load().find("alor").status is Status.OK

        run(vault_home, scenario)


def test_plain_http_oauth_url_is_refused(vault_home: Path) -> None:
    async def scenario(vault: Vault) -> None:
        await expect_plain_http_refused(
            vault, "alor", "oauth_url", {"environment": "test"}, {"refresh_token": REFRESH}
        )

    run(vault_home, scenario)
