"""OAuth 2.0 on the wire (DESIGN.md section 2, RFC 6749 / 7009 / 7523): client authentication
by Basic, body or none, scope and audience, the four grants, rotation keeping only the newest
refresh token, expiry from expires_in or the JWT, error codes mapped to clear one-line messages,
RFC 7009 revocation, and the jwt-bearer assertion checked claim by claim by the fake."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.fakes.certs import KeyAndCert, make_key_and_cert, x5t_of
from tests.fakes.oauth2 import BASIC, JWT_BEARER, NONE, POST, OAuth2Fake
from tests.fakes.server import Fault, Reply, Request
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
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError, UsageError
from vault_app.core.model import Status
from vault_app.core.providers.oauth2 import thumbprint, x5t
from vault_app.core.vault import Vault

CLIENT, SECRET = "svc:reports", "s3cr+t:%/é ü&="  # both need RFC 6749 2.3.1 encoding in Basic
USER, PASSWORD = "alice", "alice-password-1"
TV_GRANT = "urn:your-broker:oauth:grant-type:personal-jwt"
APP_URL = "https://broker.example/app"
SUBJECT = "user-42"


@pytest.fixture(scope="module")
def wire_keys() -> KeyAndCert:
    return make_key_and_cert("token-vault-wire")


@pytest.fixture(scope="module")
def wire_other_keys() -> KeyAndCert:
    return make_key_and_cert("someone-else")


def _fake(**options: Any) -> OAuth2Fake:
    fake = OAuth2Fake(**options)
    fake.add_client(CLIENT, SECRET)
    fake.add_user(USER, PASSWORD)
    return fake


@pytest.fixture
def fake() -> Iterator[OAuth2Fake]:
    with serving(_fake()) as made:
        yield made


def _fields(fake: OAuth2Fake, **extra: str) -> dict[str, str]:
    return {"token_url": fake.token_url, "client_id": CLIENT, **extra}


def _password_fields(fake: OAuth2Fake, **extra: str) -> dict[str, str]:
    return _fields(fake, grant="password", username=USER, **extra)


PASSWORD_SECRETS = {"client_secret": SECRET, "password": PASSWORD}


async def _add(
    vault: Vault, fields: dict[str, str], secrets: dict[str, str], name: str = "o"
) -> None:
    account, failure = await vault.add(name, "oauth2", fields, secrets)
    assert failure is None, failure
    assert account.status is Status.OK


def _form(request: Request) -> dict[str, str]:
    form = request.form()
    assert all(len(v) == 1 for v in form.values()), form
    return {k: v[0] for k, v in form.items()}


def _token_requests(fake: OAuth2Fake) -> list[Request]:
    sent = fake.requests_to("/token")
    for request in sent:
        assert request.method == "POST"
        assert request.query == {} and request.target == "/token"
        ctype = request.header("content-type") or ""
        assert ctype.startswith("application/x-www-form-urlencoded")
    return sent


def _basic(request: Request) -> tuple[str, str]:
    header = request.header("authorization") or ""
    assert header.startswith("Basic "), header
    raw = base64.b64decode(header[6:]).decode("ascii")  # encoded first: ASCII only
    assert raw.count(":") == 1, raw  # a ':' inside the id or secret is percent-encoded
    user, _, password = raw.partition(":")
    return unquote_plus(user), unquote_plus(password)


# -- x5t ------------------------------------------------------------------------------------------


def test_thumbprint_test_vector() -> None:
    digest = bytes.fromhex("84E05C1D98BCE3A5421D225B140B36E86A3D5534")
    assert thumbprint(digest) == "hOBcHZi846VCHSJbFAs26Go9VTQ"


def test_x5t_of_a_certificate(wire_keys: KeyAndCert) -> None:
    cert = x509.load_pem_x509_certificate(wire_keys.cert_pem.encode())
    assert x5t(cert.public_bytes(serialization.Encoding.DER)) == x5t_of(wire_keys.cert_pem)


# -- client authentication ----------------------------------------------------------------------


@pytest.mark.parametrize("client_auth", ["basic", "", None], ids=["basic", "empty", "unset"])
def test_client_credentials_with_basic(
    vault_home: Path, fake: OAuth2Fake, client_auth: str | None
) -> None:
    fields = _fields(fake) if client_auth is None else _fields(fake, client_auth=client_auth)

    async def scenario(vault: Vault) -> None:
        await _add(vault, fields, {"client_secret": SECRET})

    run(vault_home, scenario)
    (request,) = _token_requests(fake)
    assert _basic(request) == (CLIENT, SECRET)
    assert _form(request) == {"grant_type": "client_credentials"}
    assert fake.grants[-1].auth_method == BASIC and fake.grants[-1].error is None


def test_client_credentials_with_post(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        await _add(vault, _fields(fake, client_auth="post"), {"client_secret": SECRET})

    run(vault_home, scenario)
    (request,) = _token_requests(fake)
    assert request.header("authorization") is None
    assert _form(request) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT,
        "client_secret": SECRET,
    }
    assert fake.grants[-1].auth_method == POST and fake.grants[-1].error is None


def test_public_client_sends_only_its_id(vault_home: Path, fake: OAuth2Fake) -> None:
    fake.add_client("public-app", None)

    async def scenario(vault: Vault) -> None:
        fields = _password_fields(fake, client_id="public-app", client_auth="none")
        await _add(vault, fields, {"password": PASSWORD})
        await vault.refresh("o")

    run(vault_home, scenario)
    sign_in, refresh = _token_requests(fake)
    for request in (sign_in, refresh):
        assert request.header("authorization") is None
        assert "client_secret" not in _form(request)
        assert _form(request)["client_id"] == "public-app"
    assert _form(sign_in)["grant_type"] == "password"
    assert _form(refresh)["grant_type"] == "refresh_token"
    assert [g.auth_method for g in fake.grants] == [NONE, NONE]
    assert [g.error for g in fake.grants] == [None, None]


def test_scope_and_audience_are_sent(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        fields = _fields(fake, scope="read write", audience="https://api.example/v1")
        await _add(vault, fields, {"client_secret": SECRET})
        _, tokens = await vault.token("o")
        claims = claims_of(tokens.access_token)
        assert claims["scope"] == "read write"
        assert claims["aud"] == "https://api.example/v1"
        assert tokens.scope == "read write"

    run(vault_home, scenario)
    (request,) = _token_requests(fake)
    form = _form(request)
    assert form["scope"] == "read write"
    assert form["audience"] == "https://api.example/v1"
    assert (fake.grants[-1].scope, fake.grants[-1].audience) == (
        "read write",
        "https://api.example/v1",
    )


# -- grants ---------------------------------------------------------------------------------------


def test_password_grant_then_refresh_token_grant(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
        _, first = await vault.token("o")
        assert claims_of(first.access_token)["sub"] == USER
        assert first.refresh_token is not None
        _, second = await vault.refresh("o")
        assert fake.is_active(second.access_token)
        refresh_form = _form(_token_requests(fake)[1])
        assert refresh_form == {"grant_type": "refresh_token", "refresh_token": first.refresh_token}

    run(vault_home, scenario)
    sign_in = _token_requests(fake)[0]
    assert _form(sign_in) == {"grant_type": "password", "username": USER, "password": PASSWORD}
    assert _basic(sign_in) == (CLIENT, SECRET)
    assert [g.grant_type for g in fake.grants] == ["password", "refresh_token"]
    assert all(g.error is None for g in fake.grants)


def test_refresh_token_grant_rotation_keeps_only_the_newest(vault_home: Path) -> None:
    with serving(_fake()) as fake:
        first = fake.issue_refresh_token(CLIENT, subject=USER)

        async def scenario(vault: Vault) -> None:
            fields = _fields(fake, grant="refresh_token")
            await _add(vault, fields, {"client_secret": SECRET, "refresh_token": first})
            for _ in range(3):
                await vault.refresh("o")
            account = vault.load().find("o")
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is not None
            newest = bundle.tokens.refresh_token
            assert newest is not None and newest != first
            assert fake.refresh_state(newest) == "valid"
            assert bundle.secrets["refresh_token"] == newest  # the pasted one is superseded
            assert first not in bundle.values()
            # A later sign-in (an edit) starts from the newest, never a superseded one.
            _, failure = await vault.edit("o", {"audience": "https://api.example"}, {})
            assert failure is None
            bundle = vault.read_current_sync(vault.load().find("o"))
            assert bundle is not None and bundle.tokens is not None
            assert bundle.secrets["refresh_token"] == bundle.tokens.refresh_token

        run(vault_home, scenario)
        presented = [_form(r)["refresh_token"] for r in _token_requests(fake)]
        assert presented[0] == first
        assert len(presented) == 5 and len(set(presented)) == 5
        assert all(fake.refresh_tokens[t].uses == 1 for t in presented)
        assert fake.reuses == []
        assert all(g.error is None for g in fake.grants)


def test_refresh_reply_without_refresh_token_keeps_the_current_one(vault_home: Path) -> None:
    with serving(_fake(rotation="omit")) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
            _, first = await vault.token("o")
            for _ in range(2):
                _, tokens = await vault.refresh("o")
                assert tokens.refresh_token == first.refresh_token
                assert tokens.access_token != first.access_token
            account = vault.load().find("o")
            assert account.refresh_expires_at == pytest.approx(first.refresh_expires_at)

        run(vault_home, scenario)
        assert [g.grant_type for g in fake.grants] == ["password", "refresh_token", "refresh_token"]
        assert all(g.error is None for g in fake.grants)


def test_client_credentials_without_refresh_token_reruns_the_grant(
    vault_home: Path, fake: OAuth2Fake
) -> None:
    async def scenario(vault: Vault) -> None:
        await _add(vault, _fields(fake), {"client_secret": SECRET})
        _, first = await vault.token("o")
        assert first.refresh_token is None
        _, second = await vault.refresh("o")
        assert second.access_token != first.access_token
        assert second.refresh_token is None
        assert fake.is_active(second.access_token)

    run(vault_home, scenario)
    assert [g.grant_type for g in fake.grants] == ["client_credentials", "client_credentials"]
    assert all(g.error is None for g in fake.grants)


@pytest.mark.parametrize(
    ("jwt_access", "expires_in", "expected"),
    [
        (False, True, "expires_in"),
        (False, False, "unknown"),
        (True, False, "exp"),
        (True, True, "expires_in"),
    ],
    ids=["opaque+expires_in", "opaque", "jwt", "jwt+expires_in"],
)
def test_access_token_expiry(
    vault_home: Path, jwt_access: bool, expires_in: bool, expected: str
) -> None:
    fake = _fake(access_lifetime=777, jwt_access_tokens=jwt_access, include_expires_in=expires_in)
    with serving(fake):

        async def scenario(vault: Vault) -> None:
            await _add(vault, _fields(fake), {"client_secret": SECRET})
            account = vault.load().find("o")
            _, tokens = await vault.token("o")
            assert (tokens.access_token.count(".") == 2) is jwt_access
            if expected == "expires_in":
                assert tokens.expires_at == pytest.approx(time.time() + 777, abs=5)
            elif expected == "exp":
                assert tokens.expires_at == claims_of(tokens.access_token)["exp"]
            else:
                assert tokens.expires_at is None
            assert account.access_expires_at == tokens.expires_at

        run(vault_home, scenario)


# -- errors (RFC 6749 section 5.2) --------------------------------------------------------------


def _check_failure(failure: object, kind: type[Exception], *fragments: str) -> str:
    assert isinstance(failure, kind), failure
    message = one_line(failure)
    for fragment in fragments:
        assert fragment in message, message
    for secret in (SECRET, PASSWORD, "wrong-password-2", "wrong-secret-3"):
        assert secret not in message
    return message


def test_invalid_grant_is_rejected(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        account, failure = await vault.add(
            "o",
            "oauth2",
            _password_fields(fake),
            {"client_secret": SECRET, "password": "wrong-password-2"},
        )
        _check_failure(failure, RejectedError, "invalid_grant", "wrong username or password")
        assert account.status is Status.SIGN_IN_NEEDED

    run(vault_home, scenario)


@pytest.mark.parametrize(("client_auth", "status"), [("basic", 401), ("post", 400)])
def test_invalid_client_is_rejected_clearly(
    vault_home: Path, fake: OAuth2Fake, client_auth: str, status: int
) -> None:
    async def scenario(vault: Vault) -> None:
        account, failure = await vault.add(
            "o",
            "oauth2",
            _fields(fake, client_auth=client_auth),
            {"client_secret": "wrong-secret-3"},
        )
        message = _check_failure(failure, RejectedError, "invalid_client", "wrong client secret")
        assert "client authentication failed" in message
        assert account.status is Status.SIGN_IN_NEEDED

    run(vault_home, scenario)
    assert [r.status for r in fake.requests] == [status]


def test_invalid_scope_is_misconfigured(vault_home: Path, fake: OAuth2Fake) -> None:
    fake.add_client("scoped", "scoped-secret-1", scopes=("read",))

    async def scenario(vault: Vault) -> None:
        fields = _fields(fake, client_id="scoped", scope="read admin")
        account, failure = await vault.add(
            "o", "oauth2", fields, {"client_secret": "scoped-secret-1"}
        )
        _check_failure(failure, MisconfiguredError, "invalid_scope", "scope admin is not allowed")
        assert account.status is Status.ERROR

    run(vault_home, scenario)


def test_unsupported_grant_type_is_misconfigured(vault_home: Path, wire_keys: KeyAndCert) -> None:
    with serving(_fake(jwt_bearer_grant_type=TV_GRANT)) as fake:
        fake.add_jwt_bearer(CLIENT, wire_keys.cert_pem, subject=SUBJECT)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "o", "oauth2", _jwt_fields(fake), _jwt_secrets(wire_keys)
            )
            _check_failure(failure, MisconfiguredError, "unsupported_grant_type", "not supported")
            assert account.status is Status.ERROR

        run(vault_home, scenario)
        assert fake.grants[-1].error == "unsupported_grant_type"


def test_rejected_refresh_token_grant_cannot_sign_in_again(vault_home: Path) -> None:
    with serving(_fake()) as fake:
        pasted = fake.issue_refresh_token(CLIENT)

        async def scenario(vault: Vault) -> None:
            fields = _fields(fake, grant="refresh_token")
            await _add(vault, fields, {"client_secret": SECRET, "refresh_token": pasted})
            _, tokens = await vault.token("o")
            assert tokens.refresh_token is not None
            family = fake.family_of(tokens.refresh_token)
            assert family is not None
            fake.revoke_family(family, "revoked")
            before = stored(vault, "o")
            with pytest.raises(RejectedError) as caught:
                await vault.refresh("o")
            _check_failure(caught.value, RejectedError, "invalid_grant", "revoked")
            assert stored(vault, "o") == before
            assert vault.load().find("o").status is Status.SIGN_IN_NEEDED

        run(vault_home, scenario)
        assert [g.error for g in fake.grants] == [None, "invalid_grant"]


def test_rejected_refresh_signs_in_again_with_the_password(vault_home: Path) -> None:
    with serving(_fake(refresh_lifetime=60)) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
            fake.advance(120)
            account, tokens = await vault.refresh("o")
            assert account.status is Status.OK
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        assert [(g.grant_type, g.error) for g in fake.grants] == [
            ("password", None),
            ("refresh_token", "invalid_grant"),
            ("password", None),
        ]


# -- revocation (RFC 7009) ----------------------------------------------------------------------


def test_revoke_refresh_then_access_token(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        fields = _password_fields(fake, revocation_url=fake.revocation_url)
        await _add(vault, fields, PASSWORD_SECRETS)
        _, tokens = await vault.token("o")
        outcome = await vault.revoke("o")
        assert outcome.server_side is True
        assert [(r.token, r.hint, r.outcome) for r in fake.revocations] == [
            (tokens.refresh_token, "refresh_token", "refresh_token"),
            (tokens.access_token, "access_token", "access_token"),
        ]
        assert all(r.client_id == CLIENT for r in fake.revocations)
        assert fake.introspect(tokens.access_token) == {"active": False}
        assert fake.introspect(tokens.refresh_token or "") == {"active": False}
        bundle = vault.read_current_sync(vault.load().find("o"))
        assert bundle is not None and bundle.tokens is None
        assert vault.load().find("o").status is Status.SIGNED_OUT

    run(vault_home, scenario)
    sent = fake.requests_to("/revoke")
    assert len(sent) == 2
    for request in sent:
        assert request.method == "POST" and request.query == {}
        assert _basic(request) == (CLIENT, SECRET)
        assert set(_form(request)) == {"token", "token_type_hint"}


def test_revoke_access_token_only_when_no_refresh_token(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        fields = _fields(fake, revocation_url=fake.revocation_url)
        await _add(vault, fields, {"client_secret": SECRET})
        _, tokens = await vault.token("o")
        await vault.revoke("o")
        assert [(r.token, r.hint) for r in fake.revocations] == [
            (tokens.access_token, "access_token")
        ]
        assert not fake.is_active(tokens.access_token)

    run(vault_home, scenario)


def test_revoke_without_revocation_url_is_local(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
        _, tokens = await vault.token("o")
        seen = len(fake.requests)
        outcome = await vault.revoke("o")
        assert len(fake.requests) == seen
        assert outcome.server_side is False
        assert "No revocation URL" in outcome.message
        assert fake.is_active(tokens.access_token)  # still valid at the server
        bundle = vault.read_current_sync(vault.load().find("o"))
        assert bundle is not None and bundle.tokens is None
        assert bundle.secrets["password"] == PASSWORD

    run(vault_home, scenario)


@pytest.mark.parametrize("revocation", [True, False], ids=["rfc7009", "local"])
def test_revoke_forgets_the_refresh_token_everywhere(
    vault_home: Path, fake: OAuth2Fake, revocation: bool
) -> None:
    """Revoke "forgets the tokens" (DESIGN.md section 2): the rotated refresh token the vault
    copied into the `refresh_token` secret field must go too, not linger in the keyring."""

    async def scenario(vault: Vault) -> None:
        extra = {"revocation_url": fake.revocation_url} if revocation else {}
        await _add(vault, _password_fields(fake, **extra), PASSWORD_SECRETS)
        _, tokens = await vault.token("o")
        assert tokens.refresh_token is not None
        await vault.revoke("o")
        bundle = vault.read_current_sync(vault.load().find("o"))
        assert bundle is not None
        assert tokens.refresh_token not in bundle.values()  # BUG: kept in secrets
        assert bundle.secrets == PASSWORD_SECRETS

    run(vault_home, scenario)


def test_revoke_failure_keeps_the_tokens(vault_home: Path, fake: OAuth2Fake) -> None:
    async def scenario(vault: Vault) -> None:
        fields = _password_fields(fake, revocation_url=fake.revocation_url)
        await _add(vault, fields, PASSWORD_SECRETS)
        before = stored(vault, "o")
        fake.inject("/revoke", Fault.unavailable(3))
        with pytest.raises(TransientError) as caught:
            await vault.revoke("o")
        assert caught.value.retry_after == 3.0
        one_line(caught.value)
        assert stored(vault, "o") == before

    run(vault_home, scenario)


# -- jwt-bearer (RFC 7523, TradingView ServerOAuth2Bearer) ---------------------------------------


def _jwt_fields(fake: OAuth2Fake, **extra: str) -> dict[str, str]:
    return _fields(fake, grant="jwt_bearer", assertion_sub=SUBJECT, **extra)


def _jwt_secrets(keys: KeyAndCert, **extra: str) -> dict[str, str]:
    return {
        "private_key": keys.key_pem,
        "certificate": keys.cert_pem,
        "client_secret": SECRET,
        **extra,
    }


def _assertions(fake: OAuth2Fake) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(header, claims) of every assertion the vault posted."""
    out = []
    for request in _token_requests(fake):
        assertion = _form(request).get("assertion")
        if assertion is not None:
            out.append((jwt.get_unverified_header(assertion), claims_of(assertion)))
    return out


@pytest.mark.parametrize("grant_type", [None, TV_GRANT], ids=["rfc7523", "tradingview"])
def test_jwt_bearer_assertion(
    vault_home: Path, wire_keys: KeyAndCert, grant_type: str | None
) -> None:
    with serving(_fake(jwt_bearer_grant_type=grant_type or JWT_BEARER)) as fake:
        fake.add_jwt_bearer(CLIENT, wire_keys.cert_pem, subject=SUBJECT, app_url=APP_URL)
        extra = {"assertion_app_url": APP_URL}
        if grant_type is not None:
            extra["assertion_grant_type"] = grant_type

        async def scenario(vault: Vault) -> None:
            await _add(vault, _jwt_fields(fake, **extra), _jwt_secrets(wire_keys))
            _, tokens = await vault.token("o")
            assert claims_of(tokens.access_token)["sub"] == SUBJECT
            await vault.refresh("o")  # with the refresh token it was given

        started = time.time()
        run(vault_home, scenario)
        sign_in = _token_requests(fake)[0]
        form = _form(sign_in)
        assert set(form) == {"grant_type", "assertion", "client_id", "client_secret"}
        assert form["grant_type"] == (grant_type or JWT_BEARER)
        assert (form["client_id"], form["client_secret"]) == (CLIENT, SECRET)
        assert sign_in.header("authorization") is None  # auto: post for jwt_bearer
        ((header, claims),) = _assertions(fake)
        assert header["alg"] == "RS256"
        assert header["x5t"] == x5t_of(wire_keys.cert_pem)
        assert claims["iss"] == CLIENT
        assert claims["sub"] == SUBJECT
        assert claims["aud"] == fake.token_url
        assert claims["spurl"] == APP_URL
        assert claims["exp"] - claims["iat"] == 300
        assert started - 2 <= claims["iat"] <= time.time() + 1
        assert isinstance(claims["jti"], str) and claims["jti"]
        assert [(g.grant_type, g.auth_method, g.error) for g in fake.grants] == [
            (grant_type or JWT_BEARER, POST, None),
            ("refresh_token", POST, None),
        ]


def test_jwt_bearer_sign_ins_use_fresh_jti(vault_home: Path, wire_keys: KeyAndCert) -> None:
    with serving(_fake(issue_refresh_tokens=False)) as fake:
        fake.add_jwt_bearer(CLIENT, wire_keys.cert_pem, subject=SUBJECT)

        async def scenario(vault: Vault) -> None:
            await _add(vault, _jwt_fields(fake), _jwt_secrets(wire_keys))
            await vault.refresh("o")  # no refresh token: a new assertion
            await vault.refresh("o")

        run(vault_home, scenario)
        assertions = _assertions(fake)
        assert len(assertions) == 3
        assert len({claims["jti"] for _, claims in assertions}) == 3
        assert all("spurl" not in claims for _, claims in assertions)
        assert [g.error for g in fake.grants] == [None, None, None]
        assert len(fake.seen_jtis) == 3


def test_jwt_bearer_assertion_lifetime_is_capped(vault_home: Path, wire_keys: KeyAndCert) -> None:
    with serving(_fake()) as fake:
        fake.add_jwt_bearer(CLIENT, wire_keys.cert_pem, subject=SUBJECT)

        async def scenario(vault: Vault) -> None:
            await _add(vault, _jwt_fields(fake, assertion_lifetime="3600"), _jwt_secrets(wire_keys))

        run(vault_home, scenario)
        ((_, claims),) = _assertions(fake)
        assert claims["exp"] - claims["iat"] == 600
        assert fake.grants[-1].error is None


def test_jwt_bearer_key_not_matching_certificate_is_refused_at_add(
    vault_home: Path, wire_keys: KeyAndCert, wire_other_keys: KeyAndCert
) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            secrets = _jwt_secrets(wire_keys, certificate=wire_other_keys.cert_pem)
            with pytest.raises(UsageError, match="does not belong") as caught:
                await vault.add("o", "oauth2", _jwt_fields(fake), secrets)
            one_line(caught.value)
            assert vault.load().accounts == []

        run(vault_home, scenario)
        assert fake.requests == []


def test_jwt_bearer_key_change_to_mismatch_is_refused_at_edit(
    vault_home: Path, wire_keys: KeyAndCert, wire_other_keys: KeyAndCert
) -> None:
    with serving(_fake()) as fake:
        fake.add_jwt_bearer(CLIENT, wire_keys.cert_pem, subject=SUBJECT)

        async def scenario(vault: Vault) -> None:
            await _add(vault, _jwt_fields(fake), _jwt_secrets(wire_keys))
            before = stored(vault, "o")
            with pytest.raises(UsageError, match="does not belong"):
                await vault.edit("o", {}, {"certificate": wire_other_keys.cert_pem})
            assert stored(vault, "o") == before

        run(vault_home, scenario)


# -- faults and URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", fault_params())
def test_refresh_faults_are_transient_and_change_nothing(vault_home: Path, case: FaultCase) -> None:
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
            fake.inject("/token", case.fault, times=case.times(True))
            await expect_transient_and_nothing_changed(vault, "o", lambda: vault.refresh("o"), case)
            _, tokens = await vault.refresh("o")
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        assert fake.reuses == []
        # After a lost refresh reply the password grant runs instead of a resent refresh token.
        sent = [r.form()["grant_type"][0] for r in fake.requests_to("/token")]
        if case.lost:
            assert sent == ["password", "refresh_token", "password", "password"]
        else:
            assert sent == ["password", "refresh_token", "refresh_token"]


@pytest.mark.parametrize("case", [p for p in fault_params() if p.id in ("500", "malformed-json")])
def test_sign_in_faults_keep_the_account_without_tokens(vault_home: Path, case: FaultCase) -> None:
    with serving(_fake()) as fake:
        fake.inject("/token", case.fault)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "o", "oauth2", _fields(fake), {"client_secret": SECRET}
            )
            assert isinstance(failure, TransientError)
            assert case.says in one_line(failure)
            assert account.status is Status.ERROR
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None

        run(vault_home, scenario)


@pytest.mark.parametrize("field", ["token_url", "revocation_url"])
def test_plain_http_urls_are_refused(vault_home: Path, field: str) -> None:
    async def scenario(vault: Vault) -> None:
        fields = {
            "token_url": "https://auth.example/token",
            "revocation_url": "https://auth.example/revoke",
            "client_id": CLIENT,
        }
        await expect_plain_http_refused(vault, "oauth2", field, fields, {"client_secret": SECRET})

    run(vault_home, scenario)


# -- odd but legal servers (issue 10.8) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("revocable", "server_side", "says"),
    [
        ({"refresh_token"}, True, "the access token will simply expire"),
        ({"access_token"}, True, "stays valid at the server until it expires"),
        (set(), False, "does not revoke these tokens"),
    ],
)
def test_revoke_with_unsupported_token_type_is_done(
    vault_home: Path, fake: OAuth2Fake, revocable: set[str], server_side: bool, says: str
) -> None:
    """RFC 7009 2.2.1: a server that answers 400 unsupported_token_type does not revoke that
    kind of token; the revoke is done (and says what stays valid), the tokens forgotten."""
    fake.revocable = revocable

    async def scenario(vault: Vault) -> None:
        await _add(
            vault, _password_fields(fake, revocation_url=fake.revocation_url), PASSWORD_SECRETS
        )
        outcome = await vault.revoke("o")
        assert outcome.server_side is server_side
        assert says in outcome.message
        bundle = vault.read_current_sync(vault.load().find("o"))
        assert bundle is not None and bundle.tokens is None
        assert vault.load().find("o").status is Status.SIGNED_OUT

    run(vault_home, scenario)
    assert [r.hint for r in fake.revocations] == ["refresh_token", "access_token"]


def test_a_trailing_slash_is_kept(vault_home: Path) -> None:
    """django-oauth-toolkit publishes /o/token/; without its slash it answers a redirect,
    which is reported with its target, never followed, never a success."""
    with serving(_fake(token_path="/o/token/")) as fake:
        fake.route("POST", "/o/token", Reply(301, {}, {"Location": "/o/token/"}))

        async def scenario(vault: Vault) -> None:
            good = {**_password_fields(fake), "token_url": fake.url + "/o/token/"}
            await _add(vault, good, PASSWORD_SECRETS)
            assert vault.load().find("o").fields["token_url"].endswith("/o/token/")
            bad = {**_password_fields(fake), "token_url": fake.url + "/o/token"}
            _, failure = await vault.add("bad", "oauth2", bad, PASSWORD_SECRETS)
            assert isinstance(failure, MisconfiguredError)
            assert f"redirect to {fake.url}/o/token/" in one_line(failure)

        run(vault_home, scenario)


def test_a_refresh_without_a_lifetime_keeps_the_last_one(vault_home: Path) -> None:
    """Opaque access tokens: the sign-in said expires_in 900, later refreshes say nothing.
    The token keeps a 900 s life (so it is still refreshed), not "expiry unknown"."""
    with serving(_fake(access_lifetime=900, jwt_access_tokens=False)) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
            fake.include_expires_in = False
            for _ in range(2):
                _, tokens = await vault.refresh("o")
                assert tokens.lifetime == 900
                left = tokens.remaining()
                assert left is not None and 895 < left <= 900
                assert vault.load().find("o").access_expires_at == tokens.expires_at

        run(vault_home, scenario)


def test_a_github_style_form_reply(vault_home: Path) -> None:
    """A token endpoint that answers application/x-www-form-urlencoded (GitHub's, unless
    asked for JSON): parsed, with its string expires_in and lower-case bearer."""
    with serving(_fake()) as fake:

        def form_reply(request: Request) -> Reply:
            body = "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo"
            body += "&token_type=bearer&expires_in=28800"
            return Reply(200, body, {"Content-Type": "application/x-www-form-urlencoded"})

        fake.route("POST", "/token", form_reply)

        async def scenario(vault: Vault) -> None:
            await _add(vault, _fields(fake), {"client_secret": SECRET})
            _, tokens = await vault.token("o")
            assert tokens.access_token == "gho_16C7e42F292c6912E7710c838347Ae178B4a"
            assert tokens.token_type == "Bearer" and tokens.scope == "repo"
            assert tokens.lifetime == 28800

        run(vault_home, scenario)
        assert fake.requests[0].header("accept") == "application/json"


def test_a_200_with_bad_refresh_token_is_the_rejected_path(vault_home: Path) -> None:
    """GitHub answers a bad refresh 200 {"error":"bad_refresh_token",...}: that is a
    rejection (sign in again with the password), not "replied without access_token"."""
    with serving(_fake()) as fake:

        async def scenario(vault: Vault) -> None:
            await _add(vault, _password_fields(fake), PASSWORD_SECRETS)
            body = {"error": "bad_refresh_token", "error_description": "The refresh token is bad."}
            fake.inject("/token", Fault.status(200, body))
            _, tokens = await vault.refresh("o")
            assert fake.is_active(tokens.access_token)

        run(vault_home, scenario)
        sent = [r.form()["grant_type"][0] for r in fake.requests_to("/token")]
        assert sent == ["password", "refresh_token", "password"]


def test_a_dpop_token_type_is_refused_at_sign_in(vault_home: Path) -> None:
    with serving(_fake()) as fake:

        def dpop(request: Request) -> Reply:
            return Reply(
                200,
                {
                    "access_token": "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU",
                    "token_type": "DPoP",
                    "expires_in": 60,
                },
            )

        fake.route("POST", "/token", dpop)

        async def scenario(vault: Vault) -> None:
            account, failure = await vault.add(
                "o", "oauth2", _fields(fake), {"client_secret": SECRET}
            )
            assert isinstance(failure, MisconfiguredError)
            assert "DPoP" in one_line(failure) and "Bearer" in one_line(failure)
            bundle = vault.read_current_sync(account)
            assert bundle is not None and bundle.tokens is None

        run(vault_home, scenario)
