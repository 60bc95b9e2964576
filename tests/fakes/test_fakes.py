"""The provider fakes behave as the providers' documents say, checked with raw httpx calls."""

from __future__ import annotations

import base64
import hashlib
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.fakes.alor import AlorFake
from tests.fakes.apirone import ApironeFake
from tests.fakes.base import ProviderFake
from tests.fakes.certs import KeyAndCert, b64url, make_assertion, make_key_and_cert, x5t_of
from tests.fakes.oauth2 import JWT_BEARER, OAuth2Fake
from tests.fakes.server import ANY_PATH, Fault
from tests.fakes.traderevolution import TraderEvolutionFake

SECRET = "s3cr+t:%/é ü"  # needs form-urlencoding inside HTTP Basic (RFC 6749 §2.3.1)
TV_GRANT = "urn:your-broker:oauth:grant-type:personal-jwt"
APP_URL = "https://broker.example/app"


_TLS = ssl.create_default_context()  # made once: httpx would load the CA bundle per client


def client_for(base_url: str, timeout: float = 5.0) -> httpx.Client:
    """A plain httpx client for a fake (no TLS set-up per test)."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=_TLS)


def claims_of(token: str) -> dict[str, Any]:
    """Unverified JWT claims."""
    result: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return result


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An RFC 6749 §2.3.1 Basic header: each part form-urlencoded before base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture(scope="module")
def keys() -> KeyAndCert:
    return make_key_and_cert()


@pytest.fixture(scope="module")
def other_keys() -> KeyAndCert:
    return make_key_and_cert("someone-else")


# -- fault knobs, the same on every fake ---------------------------------------------------------


@dataclass
class Case:
    fake: ProviderFake
    path: str
    call: Callable[[httpx.Client], httpx.Response]
    token_field: str


def _alor() -> Case:
    fake = AlorFake()
    token = fake.add_refresh_token()
    return Case(
        fake, "/refresh", lambda c: c.post("/refresh", json={"token": token}), "AccessToken"
    )


def _traderevolution() -> Case:
    fake = TraderEvolutionFake()
    fake.add_user("trader", "trader-password")
    body = {"login": "trader", "password": "trader-password"}
    return Case(fake, "/auth/token", lambda c: c.post("/auth/token", json=body), "access_token")


def _apirone() -> Case:
    fake = ApironeFake()
    fake.add_account("apr-0001", "transfer-key-0001")
    body = {"login": "apr-0001", "password": "transfer-key-0001"}
    path = "/api/v2/auth/login"
    return Case(fake, path, lambda c: c.post(path, json=body), "access-token")


def _oauth2() -> Case:
    fake = OAuth2Fake()
    fake.add_client("app", SECRET)
    form = {"grant_type": "client_credentials", "client_id": "app", "client_secret": SECRET}
    return Case(fake, "/token", lambda c: c.post("/token", data=form), "access_token")


CASES = {"alor": _alor, "traderevolution": _traderevolution, "apirone": _apirone, "oauth2": _oauth2}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Case, httpx.Client]]:
    made = CASES[request.param]()
    with made.fake, client_for(made.fake.url) as client:
        yield made, client
        assert made.fake.errors == []


def test_happy_call(case: tuple[Case, httpx.Client]) -> None:
    made, client = case
    response = made.call(client)
    assert response.status_code == 200
    assert made.fake.is_active(response.json()[made.token_field])
    assert made.fake.violations == []
    assert made.fake.requests[0].status == 200


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        (Fault.server_error(), 500, "application/json"),
        (Fault.html(502), 502, "text/html"),
        (Fault.rate_limited(7), 429, "application/json"),
        (Fault.unavailable(3), 503, "application/json"),
        (Fault.status(418, "short and stout", {"Content-Type": "text/plain"}), 418, "text/plain"),
    ],
)
def test_status_faults_then_recovery(
    case: tuple[Case, httpx.Client], fault: Fault, status: int, content_type: str
) -> None:
    made, client = case
    made.fake.inject(made.path, fault, times=2)
    for _ in range(2):
        response = made.call(client)
        assert response.status_code == status
        assert response.headers["content-type"].startswith(content_type)
    if status in (429, 503):
        assert response.headers["retry-after"] == ("7" if status == 429 else "3")
    assert made.call(client).status_code == 200
    assert [r.status for r in made.fake.requests] == [status, status, 200]
    assert len(made.fake.access_tokens) == 1  # the faulted calls changed nothing


def test_malformed_json(case: tuple[Case, httpx.Client]) -> None:
    made, client = case
    made.fake.inject(made.path, Fault.malformed_json())
    response = made.call(client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_incomplete_reply(case: tuple[Case, httpx.Client]) -> None:
    made, client = case
    made.fake.inject(made.path, Fault.incomplete())
    response = made.call(client)
    assert response.status_code == 200
    assert isinstance(response.json(), dict)
    assert made.token_field not in response.json()
    assert made.fake.access_tokens == {}


def test_delay(case: tuple[Case, httpx.Client]) -> None:
    made, client = case
    made.fake.inject(made.path, Fault.slow(0.3))
    started = time.monotonic()
    assert made.call(client).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("after_processing", [False, True])
def test_drop_after_request_arrived(
    case: tuple[Case, httpx.Client], after_processing: bool
) -> None:
    made, client = case
    made.fake.inject(made.path, Fault.drop(after_processing=after_processing))
    with pytest.raises(httpx.RemoteProtocolError):
        made.call(client)
    assert len(made.fake.requests) == 1
    assert made.fake.requests[0].status is None
    assert made.fake.requests[0].fault == "drop"
    # after_processing: the server did the work (issued tokens) but the answer was lost
    assert len(made.fake.access_tokens) == (1 if after_processing else 0)
    assert made.call(client).status_code == 200


def test_hang_until_timeout(case: tuple[Case, httpx.Client]) -> None:
    made, _client = case
    made.fake.inject(made.path, Fault.hang())
    with client_for(made.fake.url, timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        made.call(impatient)
    assert len(made.fake.requests) == 1


def test_fault_forever_until_cleared_and_any_path(case: tuple[Case, httpx.Client]) -> None:
    made, client = case
    made.fake.inject(ANY_PATH, Fault.unavailable(), times=None)
    assert [made.call(client).status_code for _ in range(3)] == [503, 503, 503]
    made.fake.clear_faults()
    assert made.call(client).status_code == 200


def test_secret_in_url_is_rejected_and_recorded(case: tuple[Case, httpx.Client]) -> None:
    made, client = case
    response = client.post(made.path, params={"password": "whatever-it-is"}, json={})
    assert response.status_code == 400
    assert "error" in response.json()
    assert len(made.fake.violations) == 1
    assert made.fake.requests[0].query == {"password": ["whatever-it-is"]}


# -- ALOR ----------------------------------------------------------------------------------------


@pytest.fixture
def alor() -> Iterator[tuple[AlorFake, httpx.Client]]:
    with AlorFake() as fake, client_for(fake.url) as client:
        yield fake, client
        assert fake.errors == []


def test_alor_access_token(alor: tuple[AlorFake, httpx.Client]) -> None:
    fake, client = alor
    token = fake.add_refresh_token("4c3b3c2e-0000-4000-8000-000000000001")
    response = client.post("/refresh", json={"token": token})
    assert response.status_code == 200
    assert list(response.json()) == ["AccessToken"]
    claims = claims_of(response.json()["AccessToken"])
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["exp"] - (time.time() + 1800)) < 3
    assert claims["portfolios"] == "D12345 G12345 750012345"
    assert fake.issued[0].allowed_portfolios is None


def test_alor_short_lifetime_and_portfolios() -> None:
    with AlorFake(access_lifetime=2) as fake, client_for(fake.url) as client:
        token = fake.add_refresh_token()
        body = {"token": token, "allowedPortfolios": ["D12345", "750012345"]}
        access = client.post("/refresh", json=body).json()["AccessToken"]
        claims = claims_of(access)
        assert claims["exp"] - claims["iat"] == 2
        assert claims["portfolios"] == "D12345 750012345"
        assert fake.issued[0].allowed_portfolios == ["D12345", "750012345"]
        fake.advance(3)
        assert not fake.is_active(access)


@pytest.mark.parametrize("shape", ["D12345 G12345", ["D12345", 7], {"D12345": True}, None, 5])
def test_alor_rejects_other_portfolio_shapes(
    alor: tuple[AlorFake, httpx.Client], shape: object
) -> None:
    fake, client = alor
    token = fake.add_refresh_token()
    response = client.post("/refresh", json={"token": token, "allowedPortfolios": shape})
    assert response.status_code == 400
    assert "allowedPortfolios" in response.json()["message"]


def test_alor_refresh_token_in_query_is_a_violation(alor: tuple[AlorFake, httpx.Client]) -> None:
    fake, client = alor
    token = fake.add_refresh_token()
    response = client.post("/refresh", params={"token": token}, json={"token": token})
    assert response.status_code == 400
    assert fake.violations == ["secret in URL: POST /refresh (query parameter 'token')"]
    assert fake.access_tokens == {}


def test_alor_unknown_revoked_expired(alor: tuple[AlorFake, httpx.Client]) -> None:
    fake, client = alor
    response = client.post("/refresh", json={"token": "not-a-registered-token"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"

    revoked = fake.add_refresh_token()
    access = client.post("/refresh", json={"token": revoked}).json()["AccessToken"]
    assert fake.is_active(access)
    fake.revoke(revoked)
    assert not fake.is_active(access)  # revoking a refresh token ends its access tokens
    assert client.post("/refresh", json={"token": revoked}).status_code == 401

    expiring = fake.add_refresh_token(expires_at=time.time() + 60)
    assert client.post("/refresh", json={"token": expiring}).status_code == 200
    fake.set_expiry(expiring, time.time() - 1)
    response = client.post("/refresh", json={"token": expiring})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_alor_refresh_token_is_not_rotated(alor: tuple[AlorFake, httpx.Client]) -> None:
    fake, client = alor
    token = fake.add_refresh_token()
    for _ in range(3):
        assert client.post("/refresh", json={"token": token}).status_code == 200
    assert fake.refresh_state(token) == "valid"
    assert fake.reuses == []
    expires_at = fake.refresh_tokens[token].expires_at
    assert expires_at is not None
    assert expires_at > time.time() + 364 * 86400  # one year


def test_alor_wrong_routes_and_bodies(alor: tuple[AlorFake, httpx.Client]) -> None:
    fake, client = alor
    token = fake.add_refresh_token()
    assert client.post("/authorize", json={"token": token}).status_code == 404
    assert client.get("/refresh").status_code == 405
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/refresh", content=b"token=abc", headers=form).status_code == 415
    as_text = {"Content-Type": "text/plain"}
    assert client.post("/refresh", content=b'{"token": "x"}', headers=as_text).status_code == 415
    as_json = {"Content-Type": "application/json; charset=utf-8"}
    assert client.post("/refresh", content=b"[1]", headers=as_json).status_code == 400
    assert client.post("/refresh", json={"refreshToken": token}).status_code == 400


# -- TraderEvolution -----------------------------------------------------------------------------


def _te(**options: Any) -> TraderEvolutionFake:
    fake = TraderEvolutionFake(**options)
    fake.add_user("trader", "trader-password")
    return fake


SIGN_IN = {"login": "trader", "password": "trader-password"}


@pytest.mark.parametrize(
    ("options", "keys_expected"),
    [
        ({}, {"access_token", "refresh_token", "expires_in", "refresh_token_expires_in"}),
        (
            {"naming": "camel"},
            {"accessToken", "refreshToken", "accessTokenExpiresIn", "refreshTokenExpiresIn"},
        ),
        ({"lifetime_fields": False}, {"access_token", "refresh_token"}),
        ({"naming": "camel", "lifetime_fields": False}, {"accessToken", "refreshToken"}),
    ],
)
def test_traderevolution_sign_in_naming(options: dict[str, Any], keys_expected: set[str]) -> None:
    with _te(access_lifetime=5, **options) as fake, client_for(fake.url) as client:
        body = client.post("/auth/token", json=SIGN_IN).json()
        assert set(body) == keys_expected
        access = body.get("access_token") or body["accessToken"]
        claims = claims_of(access)
        assert claims["exp"] - claims["iat"] == 5
        assert claims["sub"] == "trader"
        if "expires_in" in body:
            assert body["expires_in"] == 5
            assert body["refresh_token_expires_in"] == 3600


def test_traderevolution_opaque_access_tokens() -> None:
    with _te(jwt_access_tokens=False) as fake, client_for(fake.url) as client:
        body = client.post("/auth/token", json=SIGN_IN).json()
        assert body["access_token"].count(".") != 2
        assert fake.is_active(body["access_token"])


def test_traderevolution_refresh_rotates_and_detects_reuse() -> None:
    with _te() as fake, client_for(fake.url) as client:
        first = client.post("/auth/token", json=SIGN_IN).json()
        second = client.get("/auth/token/refresh", headers={"token": first["refresh_token"]})
        assert second.status_code == 200
        pair = second.json()
        assert pair["refresh_token"] != first["refresh_token"]
        assert pair["access_token"] != first["access_token"]
        assert fake.requests_to("/auth/token/refresh")[0].header("token") == first["refresh_token"]
        assert fake.requests_to("/auth/token/refresh")[0].query == {}

        again = client.get("/auth/token/refresh", headers={"token": first["refresh_token"]})
        assert again.status_code == 401
        assert len(fake.reuses) == 1
        assert not fake.accepts_refresh(pair["refresh_token"])  # the family died
        assert not fake.is_active(pair["access_token"])
        # signing in with the password starts a new family
        assert client.post("/auth/token", json=SIGN_IN).status_code == 200


def test_traderevolution_without_reuse_detection() -> None:
    with _te(reuse_detection=False) as fake, client_for(fake.url) as client:
        first = client.post("/auth/token", json=SIGN_IN).json()
        pair = client.get("/auth/token/refresh", headers={"token": first["refresh_token"]}).json()
        old = client.get("/auth/token/refresh", headers={"token": first["refresh_token"]})
        assert old.status_code == 401
        assert fake.reuses == []
        assert fake.accepts_refresh(pair["refresh_token"])


def test_traderevolution_rejections() -> None:
    with _te(refresh_lifetime=10) as fake, client_for(fake.url) as client:
        wrong = client.post("/auth/token", json={"login": "trader", "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "unauthorized"
        assert client.post("/auth/token", json={"login": "x", "password": "y"}).status_code == 401
        assert client.post("/auth/token", json={"login": "trader"}).status_code == 400

        refresh = client.post("/auth/token", json=SIGN_IN).json()["refresh_token"]
        assert client.get("/auth/token/refresh").status_code == 400
        bearer = {"Authorization": f"Bearer {refresh}"}
        assert client.get("/auth/token/refresh", headers=bearer).status_code == 400
        assert client.post("/auth/token/refresh", headers={"token": refresh}).status_code == 405
        unknown = client.get("/auth/token/refresh", headers={"token": "never-issued-token"})
        assert unknown.status_code == 401
        in_query = client.get("/auth/token/refresh", params={"token": refresh})
        assert in_query.status_code == 400
        assert len(fake.violations) == 1

        fake.advance(11)
        expired = client.get("/auth/token/refresh", headers={"token": refresh})
        assert expired.status_code == 401
        assert "expired" in expired.json()["message"]


def test_traderevolution_naming_can_change_between_calls() -> None:
    with _te() as fake, client_for(fake.url) as client:
        refresh = client.post("/auth/token", json=SIGN_IN).json()["refresh_token"]
        fake.naming = "camel"
        body = client.get("/auth/token/refresh", headers={"token": refresh}).json()
        assert "refreshToken" in body
        assert "accessTokenExpiresIn" in body


# -- Apirone -------------------------------------------------------------------------------------

LOGIN = {"login": "apr-e7be0e8eabd391b499fe64647576fad5", "password": "CY2qGJ65OVc5X5KJbibOelc5"}


def _apirone_fake(**options: Any) -> ApironeFake:
    fake = ApironeFake(**options)
    fake.add_account(LOGIN["login"], LOGIN["password"])
    return fake


def test_apirone_login_refresh_logout() -> None:
    with _apirone_fake() as fake, client_for(fake.base_url) as client:
        assert fake.base_url.endswith("/api/v2")
        first = client.post("auth/login", json=LOGIN)
        assert first.status_code == 200
        body = first.json()
        assert set(body) == {"login", "access-token", "refresh-token"}
        assert body["login"] == LOGIN["login"]
        claims = claims_of(body["access-token"])
        assert claims["exp"] - claims["iat"] == 600
        assert jwt.get_unverified_header(body["refresh-token"])["alg"] == "HS256"

        refreshed = client.post(
            "auth/refresh-token", headers={"Authorization": f"Bearer {body['refresh-token']}"}
        )
        assert refreshed.status_code == 200
        pair = refreshed.json()
        assert set(pair) == {"login", "access-token", "refresh-token"}
        assert pair["refresh-token"] != body["refresh-token"]
        assert fake.refresh_state(body["refresh-token"]) == "superseded"

        bye = client.post(
            "auth/logout", headers={"Authorization": f"Bearer {pair['access-token']}"}
        )
        assert bye.status_code == 200
        assert bye.json() == {}
        assert not fake.is_active(pair["access-token"])
        assert not fake.is_active(body["access-token"])
        assert fake.refresh_state(pair["refresh-token"]) == "revoked"
        again = client.post(
            "auth/refresh-token", headers={"Authorization": f"Bearer {pair['refresh-token']}"}
        )
        assert again.status_code == 400
        assert fake.reuses == []


def test_apirone_short_lifetime_and_reuse() -> None:
    with _apirone_fake(access_lifetime=3) as fake, client_for(fake.base_url) as c:
        body = c.post("auth/login", json=LOGIN).json()
        claims = claims_of(body["access-token"])
        assert claims["exp"] - claims["iat"] == 3
        old = {"Authorization": f"Bearer {body['refresh-token']}"}
        pair = c.post("auth/refresh-token", headers=old).json()
        assert c.post("auth/refresh-token", headers=old).status_code == 400
        assert len(fake.reuses) == 1
        assert not fake.accepts_refresh(pair["refresh-token"])


@pytest.mark.parametrize("reject_status", [400, 401])
def test_apirone_rejections(reject_status: int) -> None:
    with (
        _apirone_fake(reject_status=reject_status) as fake,
        client_for(fake.base_url) as client,
    ):
        bad = client.post("auth/login", json={**LOGIN, "password": "wrong-transfer-key"})
        assert bad.status_code == reject_status
        assert bad.json()["error"] == "unauthorized"
        assert client.post("auth/login", json={"login": LOGIN["login"]}).status_code == 400
        body = client.post("auth/login", json=LOGIN).json()
        as_refresh = {"Authorization": f"Bearer {body['access-token']}"}
        assert client.post("auth/refresh-token", headers=as_refresh).status_code == reject_status
        as_logout = {"Authorization": f"Bearer {body['refresh-token']}"}
        assert client.post("auth/logout", headers=as_logout).status_code == reject_status
        assert client.post("auth/refresh-token").status_code == 400
        assert client.post("auth/logout").status_code == 400
        in_query = client.post("auth/login", params={"transfer-key": LOGIN["password"]})
        assert in_query.status_code == 400
        assert len(fake.violations) == 1
        with client_for(fake.url) as root:
            assert root.post("/auth/login", json=LOGIN).status_code == 404


# -- OAuth 2.0 -----------------------------------------------------------------------------------


@pytest.fixture
def oauth() -> Iterator[tuple[OAuth2Fake, httpx.Client]]:
    fake = OAuth2Fake()
    fake.add_client("app", SECRET)
    with fake, client_for(fake.url) as client:
        yield fake, client
        assert fake.errors == []


def test_x5t_test_vector_and_thumbprint(keys: KeyAndCert) -> None:
    digest = bytes.fromhex("84E05C1D98BCE3A5421D225B140B36E86A3D5534")
    assert b64url(digest) == "hOBcHZi846VCHSJbFAs26Go9VTQ"
    cert = x509.load_pem_x509_certificate(keys.cert_pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert x5t_of(keys.cert_pem) == b64url(hashlib.sha1(der).digest())
    assert "=" not in x5t_of(keys.cert_pem)


def test_client_credentials_basic_with_form_encoding(
    oauth: tuple[OAuth2Fake, httpx.Client],
) -> None:
    fake, client = oauth
    response = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic("app", SECRET)
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert response.headers["cache-control"] == "no-store"
    assert claims_of(body["access_token"])["client_id"] == "app"
    assert fake.grants[-1].auth_method == "client_secret_basic"
    # The same secret sent raw (not form-urlencoded) inside Basic does not match.
    raw = client.post("/token", data={"grant_type": "client_credentials"}, auth=("app", SECRET))
    assert raw.status_code == 401
    assert raw.json()["error"] == "invalid_client"
    assert raw.headers["www-authenticate"].startswith("Basic")


def test_client_authentication_rules(oauth: tuple[OAuth2Fake, httpx.Client]) -> None:
    fake, client = oauth
    post = {"grant_type": "client_credentials", "client_id": "app", "client_secret": SECRET}
    assert client.post("/token", data=post).status_code == 200
    assert fake.grants[-1].auth_method == "client_secret_post"

    both = client.post("/token", data=post, headers=basic("app", SECRET))
    assert (both.status_code, both.json()["error"]) == (400, "invalid_request")

    wrong = client.post("/token", data={**post, "client_secret": "nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")
    assert "www-authenticate" not in wrong.headers

    fake.add_client("basic-only", "basic-secret", auth_methods=("client_secret_basic",))
    form = {"grant_type": "client_credentials", "client_id": "basic-only"}
    by_post = client.post("/token", data={**form, "client_secret": "basic-secret"})
    assert by_post.json()["error"] == "invalid_client"
    none = client.post("/token", data=form)
    assert none.json()["error"] == "invalid_client"
    ok = client.post("/token", data=form, headers=basic("basic-only", "basic-secret"))
    assert ok.status_code == 200

    unknown = client.post("/token", data={**post, "client_id": "who"})
    assert unknown.json()["error"] == "invalid_client"
    assert client.post("/token", data={"grant_type": "client_credentials"}).status_code == 400


def test_public_client_and_grant_errors(oauth: tuple[OAuth2Fake, httpx.Client]) -> None:
    fake, client = oauth
    fake.add_client("mobile")
    fake.add_user("alice", "alice-password")
    form = {"grant_type": "password", "client_id": "mobile", "username": "alice"}
    response = client.post("/token", data={**form, "password": "alice-password"})
    assert response.status_code == 200
    assert set(response.json()) >= {"access_token", "refresh_token", "refresh_token_expires_in"}
    assert fake.grants[-1].auth_method == "none"
    assert claims_of(response.json()["access_token"])["sub"] == "alice"

    def error(data: dict[str, str]) -> str:
        reply = client.post("/token", data=data)
        assert reply.status_code == 400
        return str(reply.json()["error"])

    assert error({**form, "password": "wrong"}) == "invalid_grant"
    assert error(form) == "invalid_request"
    assert error({"grant_type": "client_credentials", "client_id": "mobile"}) == (
        "unauthorized_client"
    )
    assert error({"grant_type": "authorization_code", "client_id": "mobile"}) == (
        "unsupported_grant_type"
    )
    assert error({"client_id": "mobile"}) == "invalid_request"
    fake.add_client("narrow", "narrow-secret", grants=("client_credentials",))
    narrow = {"client_id": "narrow", "client_secret": "narrow-secret"}
    assert error({**form, **narrow, "password": "alice-password"}) == "unauthorized_client"
    assert fake.grants[-1].error == "unauthorized_client"


def test_scope_audience_and_token_formats() -> None:
    fake = OAuth2Fake(jwt_access_tokens=False, include_expires_in=False)
    fake.add_client("app", SECRET, scopes=("read", "trade"))
    with fake, client_for(fake.url) as client:
        form = {"grant_type": "client_credentials", "client_id": "app", "client_secret": SECRET}
        response = client.post("/token", data={**form, "scope": "read", "audience": "api://x"})
        body = response.json()
        assert set(body) == {"access_token", "token_type", "scope"}
        assert body["scope"] == "read"
        assert body["access_token"].count(".") != 2  # opaque
        assert fake.grants[-1].audience == "api://x"
        assert fake.introspect(body["access_token"])["aud"] == "api://x"
        bad = client.post("/token", data={**form, "scope": "read admin"})
        assert bad.json()["error"] == "invalid_scope"


def test_refresh_rotation_and_reuse_kills_the_family(
    oauth: tuple[OAuth2Fake, httpx.Client],
) -> None:
    fake, client = oauth
    fake.add_user("alice", "alice-password")
    auth = {"client_id": "app", "client_secret": SECRET}
    first = client.post(
        "/token",
        data={**auth, "grant_type": "password", "username": "alice", "password": "alice-password"},
    ).json()
    assert first["refresh_token_expires_in"] == 3600
    second = client.post(
        "/token",
        data={**auth, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert fake.refresh_state(first["refresh_token"]) == "superseded"
    third = client.post(
        "/token",
        data={**auth, "grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
    ).json()
    assert fake.reuses == []

    reused = client.post(
        "/token",
        data={**auth, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert len(fake.reuses) == 1
    assert fake.reuses[0].token == first["refresh_token"]
    for body in (first, second, third):
        assert not fake.is_active(body["access_token"])
    assert fake.refresh_state(third["refresh_token"]) == "revoked"
    latest = client.post(
        "/token",
        data={**auth, "grant_type": "refresh_token", "refresh_token": third["refresh_token"]},
    )
    assert latest.json()["error"] == "invalid_grant"


def test_refresh_grace_until_successor_is_used() -> None:
    fake = OAuth2Fake(grace=True)
    fake.add_client("app", SECRET)
    seed = fake.issue_refresh_token("app", "alice", "read")
    with fake, client_for(fake.url) as client:

        def refresh(token: str) -> httpx.Response:
            form = {"grant_type": "refresh_token", "refresh_token": token}
            return client.post("/token", data=form, headers=basic("app", SECRET))

        r2 = refresh(seed).json()["refresh_token"]  # the client "crashed" before storing r2
        r3 = refresh(seed).json()["refresh_token"]  # seed still works: r2 was never used
        assert fake.refresh_state(r2) == "superseded"
        assert fake.refresh_state(seed) == "grace"
        assert refresh(seed).status_code == 200  # still in grace
        r4 = fake.families[fake.refresh_tokens[seed].family].current
        assert r4 is not None and r4 != r3
        r5 = refresh(r4).json()["refresh_token"]  # the successor is used: seed dies
        assert fake.refresh_state(seed) == "superseded"
        assert fake.refresh_state(r4) == "grace"
        assert refresh(seed).json()["error"] == "invalid_grant"
        assert len(fake.reuses) == 1
        assert not fake.accepts_refresh(r5)


@pytest.mark.parametrize("rotation", ["same", "omit"])
def test_refresh_without_rotation(rotation: str) -> None:
    fake = OAuth2Fake(rotation=rotation)  # type: ignore[arg-type]
    fake.add_client("app", SECRET)
    seed = fake.issue_refresh_token("app", scope="read trade")
    with fake, client_for(fake.url) as client:
        form = {"grant_type": "refresh_token", "refresh_token": seed}
        for _ in range(2):
            body = client.post("/token", data=form, headers=basic("app", SECRET)).json()
            assert body.get("refresh_token") == (seed if rotation == "same" else None)
            assert body["scope"] == "read trade"
        narrowed = client.post(
            "/token", data={**form, "scope": "read"}, headers=basic("app", SECRET)
        )
        assert narrowed.json()["scope"] == "read"
        wider = client.post("/token", data={**form, "scope": "admin"}, headers=basic("app", SECRET))
        assert wider.json()["error"] == "invalid_scope"
        assert fake.reuses == []


def test_refresh_token_bound_to_client_and_expiry(oauth: tuple[OAuth2Fake, httpx.Client]) -> None:
    fake, client = oauth
    fake.add_client("other", "other-secret")
    seed = fake.issue_refresh_token("other")
    form = {"grant_type": "refresh_token", "refresh_token": seed}
    stolen = client.post("/token", data=form, headers=basic("app", SECRET))
    assert stolen.json()["error"] == "invalid_grant"
    assert fake.accepts_refresh(seed)
    fake.advance(3601)
    expired = client.post("/token", data=form, headers=basic("other", "other-secret"))
    assert expired.json()["error"] == "invalid_grant"
    assert "expired" in expired.json()["error_description"]


def test_token_endpoint_request_format(oauth: tuple[OAuth2Fake, httpx.Client]) -> None:
    fake, client = oauth
    form = {"grant_type": "client_credentials", "client_id": "app", "client_secret": SECRET}
    in_query = client.post("/token", params={"grant_type": "client_credentials"}, data=form)
    assert in_query.json()["error"] == "invalid_request"
    assert fake.violations == []  # not a secret
    secret_query = client.post("/token", params={"client_secret": SECRET}, data=form)
    assert secret_query.status_code == 400
    assert len(fake.violations) == 1
    as_json = client.post("/token", json=form)
    assert as_json.json()["error"] == "invalid_request"
    twice = client.post(
        "/token",
        content=f"grant_type=client_credentials&grant_type=password&client_id=app"
        f"&client_secret={quote_plus(SECRET)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.json()["error"] == "invalid_request"
    empty_scope = client.post("/token", data={**form, "scope": ""})
    assert empty_scope.status_code == 200  # an empty parameter counts as omitted
    assert client.get("/token").status_code == 405


# -- jwt-bearer (RFC 7523, TradingView ServerOAuth2Bearer) ---------------------------------------


def _bearer_fake(keys: KeyAndCert, grant_type: str = JWT_BEARER) -> OAuth2Fake:
    fake = OAuth2Fake(jwt_bearer_grant_type=grant_type)
    fake.add_client("FGGH7-TRVC3", "adfegywrtyw")
    fake.add_jwt_bearer("FGGH7-TRVC3", keys.cert_pem, subject="user-42", app_url=APP_URL)
    return fake


def _assert(fake: OAuth2Fake, keys: KeyAndCert, **overrides: Any) -> str:
    options: dict[str, Any] = {
        "client_id": "FGGH7-TRVC3",
        "subject": "user-42",
        "audience": fake.token_url,
        "app_url": APP_URL,
    }
    options.update(overrides)
    return make_assertion(keys.key_pem, keys.cert_pem, **options)


@pytest.mark.parametrize("grant_type", [JWT_BEARER, TV_GRANT])
def test_jwt_bearer_happy_path(keys: KeyAndCert, grant_type: str) -> None:
    fake = _bearer_fake(keys, grant_type)
    with fake, client_for(fake.url) as client:
        form = {
            "grant_type": grant_type,
            "assertion": _assert(fake, keys),
            "client_id": "FGGH7-TRVC3",
            "client_secret": "adfegywrtyw",
        }
        response = client.post("/token", data=form)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
        }
        assert fake.introspect(body["access_token"])["sub"] == "user-42"
        other = JWT_BEARER if grant_type == TV_GRANT else TV_GRANT
        wrong = client.post("/token", data={**form, "grant_type": other})
        assert wrong.json()["error"] == "unsupported_grant_type"


def test_jwt_bearer_replayed_jti(keys: KeyAndCert) -> None:
    fake = _bearer_fake(keys)
    with fake, client_for(fake.url) as client:
        auth = {"client_id": "FGGH7-TRVC3", "client_secret": "adfegywrtyw"}
        form = {**auth, "grant_type": JWT_BEARER, "assertion": _assert(fake, keys)}
        assert client.post("/token", data=form).status_code == 200
        replay = client.post("/token", data=form)
        assert replay.json()["error"] == "invalid_grant"
        assert "jti" in replay.json()["error_description"]


def test_jwt_bearer_verification_failures(keys: KeyAndCert, other_keys: KeyAndCert) -> None:
    fake = _bearer_fake(keys)
    with fake, client_for(fake.url) as client:
        now = time.time()
        bad: dict[str, str] = {
            "x5t": _assert(fake, keys, headers={"x5t": x5t_of(other_keys.cert_pem)}),
            "RS256": jwt.encode(
                {"iss": "FGGH7-TRVC3"},
                "a-symmetric-key-of-32-bytes-len!",
                algorithm="HS256",
                headers={"x5t": x5t_of(keys.cert_pem)},
            ),
            "signature": make_assertion(
                other_keys.key_pem,
                keys.cert_pem,
                client_id="FGGH7-TRVC3",
                subject="user-42",
                audience=fake.token_url,
                app_url=APP_URL,
            ),
            "iss": _assert(fake, keys, claims={"iss": "someone"}),
            "sub": _assert(fake, keys, subject="user-43"),
            "aud": _assert(fake, keys, audience=fake.token_url + "/"),
            "expired": _assert(fake, keys, now=now - 400, lifetime=300),
            "too long": _assert(fake, keys, lifetime=601),
            "iat is required": _assert(fake, keys, omit=("iat",)),
            "exp is required": _assert(fake, keys, omit=("exp",)),
            "jti is required": _assert(fake, keys, omit=("jti",)),
            "future": _assert(fake, keys, now=now + 60),
            "spurl": _assert(fake, keys, app_url="https://evil.example/app"),
            "spurl ": _assert(fake, keys, app_url=None),
            "malformed": "not-a-jwt",
        }
        auth = {"client_id": "FGGH7-TRVC3", "client_secret": "adfegywrtyw"}
        for word, assertion in bad.items():
            form = {**auth, "grant_type": JWT_BEARER, "assertion": assertion}
            response = client.post("/token", data=form)
            assert response.status_code == 400, word
            assert response.json()["error"] == "invalid_grant", word
            assert word.strip() in response.json()["error_description"], word
        assert fake.access_tokens == {}
        missing = client.post("/token", data={**auth, "grant_type": JWT_BEARER})
        assert missing.json()["error"] == "invalid_request"
        wrong_secret = {**auth, "client_secret": "nope"}
        good = {**wrong_secret, "grant_type": JWT_BEARER, "assertion": _assert(fake, keys)}
        assert client.post("/token", data=good).json()["error"] == "invalid_client"


def test_jwt_bearer_public_client_identified_by_iss(keys: KeyAndCert) -> None:
    fake = OAuth2Fake()
    fake.add_client("svc", auth_methods=("none",))
    fake.add_jwt_bearer("svc", keys.cert_pem, subject="svc-user")
    with fake, client_for(fake.url) as client:
        assertion = make_assertion(
            keys.key_pem,
            keys.cert_pem,
            client_id="svc",
            subject="svc-user",
            audience=fake.token_url,
        )
        response = client.post("/token", data={"grant_type": JWT_BEARER, "assertion": assertion})
        assert response.status_code == 200, response.text
        assert fake.grants[-1].client_id == "svc"


# -- RFC 7009 revocation and introspection -------------------------------------------------------


def test_revocation(oauth: tuple[OAuth2Fake, httpx.Client]) -> None:
    fake, client = oauth
    fake.add_user("alice", "alice-password")
    auth = basic("app", SECRET)
    form = {"grant_type": "password", "username": "alice", "password": "alice-password"}
    one = client.post("/token", data=form, headers=auth).json()
    two = client.post("/token", data=form, headers=auth).json()
    assert fake.introspect(one["access_token"])["active"] is True
    assert fake.introspect(one["refresh_token"])["token_type"] == "refresh_token"

    revoked = client.post(
        "/revoke",
        data={"token": one["refresh_token"], "token_type_hint": "refresh_token"},
        headers=auth,
    )
    assert revoked.status_code == 200
    assert not fake.is_active(one["access_token"])  # its access tokens die with it
    assert fake.introspect(one["refresh_token"]) == {"active": False}
    assert fake.is_active(two["access_token"])  # another grant is untouched

    access_only = client.post("/revoke", data={"token": two["access_token"]}, headers=auth)
    assert access_only.status_code == 200
    assert not fake.is_active(two["access_token"])
    assert fake.accepts_refresh(two["refresh_token"])

    unknown = client.post(
        "/revoke", data={"token": "no-such-token", "token_type_hint": "access_token"}, headers=auth
    )
    assert unknown.status_code == 200
    assert [(r.hint, r.outcome) for r in fake.revocations] == [
        ("refresh_token", "refresh_token"),
        (None, "access_token"),
        ("access_token", "unknown"),
    ]

    bad_client = client.post("/revoke", data={"token": "x"}, headers=basic("app", "wrong"))
    assert bad_client.status_code == 401
    assert bad_client.json()["error"] == "invalid_client"
    assert client.post("/revoke", data={}, headers=auth).json()["error"] == "invalid_request"
    fake.add_client("other", "other-secret")
    theirs = fake.issue_refresh_token("other")
    refused = client.post("/revoke", data={"token": theirs}, headers=auth)
    assert refused.json()["error"] == "unauthorized_client"
    assert fake.accepts_refresh(theirs)
    assert fake.revocations[-1].outcome == "refused"
