"""Every provider through the CLI, against its loopback fake, on the real Secret Service:
sign-in, token, refresh with rotation, revoke reaching the server, wrong credentials (exit 4),
server trouble (exit 5), and nothing stored changing after a failure."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import assert_error, assert_ok
from tests.conftest import Cli, Result
from tests.fakes.alor import AlorFake
from tests.fakes.apirone import ApironeFake
from tests.fakes.certs import make_key_and_cert
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.fakes.traderevolution import TraderEvolutionFake
from vault_app.core.model import SecretBundle
from vault_app.core.vault import Vault


def _stored(home: Path, name: str) -> tuple[int, SecretBundle | None]:
    vault = Vault(home)
    try:
        account = vault.load().find(name)
        return account.generation, vault.read_current_sync(account)
    finally:
        vault.secrets().close()


def _token(cli: Cli, name: str, *extra: str) -> str:
    result = assert_ok(cli("token", name, *extra))
    return result.out.strip()


@pytest.fixture
def oauth() -> Iterator[OAuth2Fake]:
    with OAuth2Fake(access_lifetime=600) as fake:
        fake.add_client("cli-client", "cli-secret-0001")
        fake.add_user("bob", "bob-password-0001")
        yield fake


def test_alor_through_the_cli(cli: Cli) -> None:
    with AlorFake() as alor:
        good = alor.add_refresh_token()
        assert_ok(
            cli(
                "add",
                "alor",
                "--provider",
                "alor",
                "--set",
                f"oauth_url={alor.base_url}",
                "--set",
                "allowed_portfolios=D12345, 7500PST",
                "--secret",
                "refresh_token",
                stdin=good + "\n",
            )
        )
        access = _token(cli, "alor")
        assert alor.is_active(access)
        assert alor.issued[-1].allowed_portfolios == ["D12345", "7500PST"]
        assert all(not r.query for r in alor.requests) and alor.violations == []
        refreshed = (cli("refresh", "alor"), _token(cli, "alor"))
        assert refreshed[0].code == 0 and refreshed[1] != access

        # The refresh token revoked on the portal: exit 4, ALOR's words, nothing changed.
        before = _stored(cli.home, "alor")
        alor.revoke(good)
        line = assert_error(cli("token", "alor", "--force-refresh"), 4)
        assert "rejected by 127.0.0.1" in line and "invalid_token" in line
        assert _stored(cli.home, "alor") == before

        revoked = assert_ok(cli("revoke", "alor"))
        assert "alor.dev" in revoked.out  # says where the refresh token must be revoked
        assert _stored(cli.home, "alor")[1].secrets == {}  # type: ignore[union-attr]


def test_traderevolution_rotation_and_password_fallback(cli: Cli) -> None:
    with TraderEvolutionFake(naming="camel") as te:
        te.add_user("trader", "te-password-0001")
        assert_ok(
            cli(
                "add",
                "te",
                "--provider",
                "traderevolution",
                "--set",
                f"base_url={te.base_url}",
                "--set",
                "login=trader",
                "--secret",
                "password",
                stdin="te-password-0001\n",
            )
        )
        seen = set()
        for _ in range(3):
            assert_ok(cli("refresh", "te"))
            _, bundle = _stored(cli.home, "te")
            assert bundle is not None and bundle.tokens is not None
            seen.add(bundle.tokens.refresh_token)
        assert len(seen) == 3
        refreshes = te.requests_to("/auth/token/refresh")
        presented = [r.header("token") for r in refreshes]
        assert len(presented) == len(set(presented)) == 3  # each rotated token used once
        assert te.reuses == []

        # The server forgets the session: the refresh is rejected, the password signs in again.
        _, bundle = _stored(cli.home, "te")
        assert bundle is not None and bundle.tokens is not None
        te.advance(7200)  # past the refresh token's lifetime
        sign_ins = len(te.requests_to("/auth/token"))
        assert_ok(cli("refresh", "te"))
        assert len(te.requests_to("/auth/token")) == sign_ins + 1
        assert te.reuses == []


def test_apirone_logout_reaches_the_server(cli: Cli) -> None:
    with ApironeFake() as apirone:
        apirone.add_account("apr-abc123", "transfer-key-cli-1")
        assert_ok(
            cli(
                "add",
                "apr",
                "--provider",
                "apirone",
                "--set",
                f"base_url={apirone.base_url}",
                "--set",
                "login=apr-abc123",
                "--secret",
                "password",
                stdin="transfer-key-cli-1\n",
            )
        )
        access = _token(cli, "apr")
        result = assert_ok(cli("revoke", "apr"))
        assert "revoked at the server" in result.out
        logout = apirone.requests_to("/api/v2/auth/logout")
        assert len(logout) == 1 and logout[0].header("authorization") == f"Bearer {access}"
        assert not apirone.is_active(access)


def test_oauth2_refresh_token_grant_rotates_without_reuse(cli: Cli, oauth: OAuth2Fake) -> None:
    initial = oauth.issue_refresh_token("cli-client", "bob")
    assert_ok(
        cli(
            "add",
            "rt",
            "--provider",
            "oauth2",
            "--set",
            f"token_url={oauth.token_url}",
            "--set",
            "grant=refresh_token",
            "--set",
            "client_id=cli-client",
            "--set",
            f"revocation_url={oauth.revocation_url}",
            "--secret",
            "client_secret",
            "--secret",
            "refresh_token",
            stdin=f"cli-secret-0001\n{initial}\n",
        )
    )
    for _ in range(3):
        assert_ok(cli("refresh", "rt"))
    # `edit` signs in again with the grant: it must use the newest refresh token, not `initial`.
    assert_ok(cli("edit", "rt", "--set", "scope="))
    presented = [r.form()["refresh_token"][0] for r in oauth.requests_to("/token")]
    assert presented[0] == initial
    assert len(presented) == len(set(presented)) == 5
    assert oauth.reuses == []
    _, bundle = _stored(cli.home, "rt")
    assert bundle is not None and bundle.tokens is not None
    assert bundle.secrets["refresh_token"] == bundle.tokens.refresh_token
    assert oauth.accepts_refresh(bundle.tokens.refresh_token)

    access = bundle.tokens.access_token
    assert "revoked at the server" in assert_ok(cli("revoke", "rt")).out
    hints = [(r.token, r.hint) for r in oauth.revocations]
    assert hints == [(bundle.tokens.refresh_token, "refresh_token"), (access, "access_token")]
    assert not oauth.is_active(access)


def _add_client_credentials(cli: Cli, oauth: OAuth2Fake, secret: str) -> Result:
    return cli(
        "add",
        "cc",
        "--provider",
        "oauth2",
        "--set",
        f"token_url={oauth.token_url}",
        "--set",
        "client_id=cli-client",
        "--secret",
        "client_secret",
        stdin=secret + "\n",
    )


def test_oauth2_wrong_client_secret_exits_4(cli: Cli, oauth: OAuth2Fake) -> None:
    line = assert_error(_add_client_credentials(cli, oauth, "wrong-secret-0002"), 4)
    assert "invalid_client" in line and "oauth2" in line
    listed = json.loads(assert_ok(cli("list", "--json")).out)
    assert [(a["name"], a["status"]) for a in listed] == [("cc", "sign_in_needed")]
    assert _stored(cli.home, "cc")[1].tokens is None  # type: ignore[union-attr]


def test_server_trouble_exits_5_and_changes_nothing(cli: Cli, oauth: OAuth2Fake) -> None:
    assert_ok(_add_client_credentials(cli, oauth, "cli-secret-0001"))
    before = _stored(cli.home, "cc")
    for fault in (Fault.server_error(), Fault.html(502), Fault.malformed_json(), Fault.drop()):
        oauth.inject("/token", fault, times=2 if fault.kind == "drop" else 1)  # lost: retried
        line = assert_error(cli("refresh", "cc"), 5)
        assert line.startswith("token-vault: error: cc: oauth2: ")
        assert _stored(cli.home, "cc") == before


def test_unreachable_host_exits_5(cli: Cli) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = cli(
        "add",
        "gone",
        "--provider",
        "apirone",
        "--set",
        f"base_url=http://127.0.0.1:{port}/api/v2",
        "--set",
        "login=x",
        "--secret",
        "password",
        stdin="transfer-key-0003\n",
    )
    line = assert_error(result, 5)
    assert f"cannot connect to 127.0.0.1:{port}" in line


@pytest.mark.parametrize(
    ("kind", "field", "others"),
    [
        ("alor", "oauth_url", ["--secret", "refresh_token"]),
        ("traderevolution", "base_url", ["--set", "login=x", "--secret", "password"]),
        ("apirone", "base_url", ["--set", "login=x", "--secret", "password"]),
        ("oauth2", "token_url", ["--set", "client_id=x", "--secret", "client_secret"]),
        (
            "oauth2",
            "revocation_url",
            [
                "--set",
                "token_url=https://auth.example.com/token",
                "--set",
                "client_id=x",
                "--secret",
                "client_secret",
            ],
        ),
    ],
)
def test_plain_http_to_a_remote_host_is_refused(
    cli: Cli, kind: str, field: str, others: list[str]
) -> None:
    add = cli(
        "add",
        "h",
        "--provider",
        kind,
        "--set",
        f"{field}=http://auth.example.com/x",
        *others,
        "--no-sign-in",
        stdin="secret-value-0004\n",
    )
    assert "plain http is only allowed to loopback" in assert_error(add, 2)
    assert not (cli.home / "accounts.json").exists()


def test_plain_http_refused_on_edit_too(cli: Cli) -> None:
    assert_ok(
        cli(
            "add",
            "e",
            "--provider",
            "apirone",
            "--set",
            "login=x",
            "--secret",
            "password",
            "--no-sign-in",
            stdin="transfer-key-0005\n",
        )
    )
    before = (cli.home / "accounts.json").read_bytes()
    edit = cli("edit", "e", "--set", "base_url=http://apirone.example.com/api/v2")
    assert "plain http is only allowed to loopback" in assert_error(edit, 2)
    assert (cli.home / "accounts.json").read_bytes() == before


def test_tradingview_server_oauth2_bearer_from_pem_files(cli: Cli, tmp_path: Path) -> None:
    """The ServerOAuth2Bearer flow: a custom grant type, an RS256 assertion from PEM files."""
    grant_type = "urn:your-broker:oauth:grant-type:personal-jwt"
    key_pem, cert_pem = make_key_and_cert()
    (tmp_path / "key.pem").write_text(key_pem)
    (tmp_path / "cert.pem").write_text(cert_pem)
    with OAuth2Fake(jwt_bearer_grant_type=grant_type) as fake:
        fake.add_client("tv-client", "tv-secret-0001")
        fake.add_jwt_bearer(
            "tv-client", cert_pem, subject="user-42", app_url="https://broker.example.com/app"
        )
        result = cli(
            "add",
            "tv",
            "--provider",
            "oauth2",
            "--set",
            f"token_url={fake.token_url}",
            "--set",
            "grant=jwt_bearer",
            "--set",
            "client_id=tv-client",
            "--set",
            "assertion_sub=user-42",
            "--set",
            "assertion_app_url=https://broker.example.com/app",
            "--set",
            f"assertion_grant_type={grant_type}",
            "--secret",
            "client_secret",
            "--secret-file",
            f"private_key={tmp_path / 'key.pem'}",
            "--secret-file",
            f"certificate={tmp_path / 'cert.pem'}",
            stdin="tv-secret-0001\n",
        )
        assert_ok(result)
        assert fake.is_active(_token(cli, "tv"))
        assert_ok(cli("refresh", "tv"))  # a refresh token is held: grant_type=refresh_token
        assert_ok(cli("edit", "tv", "--set", "assertion_lifetime=120"))  # signs in anew
        forms = [r.form() for r in fake.requests_to("/token")]
        assert [f["grant_type"][0] for f in forms] == [grant_type, "refresh_token", grant_type]
        assert all(f["client_id"] == ["tv-client"] for f in forms)
        assert forms[0]["assertion"] != forms[2]["assertion"]  # a fresh jti, iat and exp
        assert fake.reuses == [] and fake.violations == []
        # The key itself never left the machine; only signatures did.
        body = b"".join(r.body for r in fake.requests)
        assert b"PRIVATE KEY" not in body and key_pem.encode() not in body
