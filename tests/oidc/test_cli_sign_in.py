"""Browser and device sign-in from the command line against a real, independent OpenID Connect
provider (node oidc-provider, see server.mjs) with a scripted browser as $BROWSER: discovery,
authorization code with PKCE for public and confidential clients, the device grant through the
provider's own verification page, refresh with rotation, revocation, the id_token, `login`
again, --no-browser, a denied sign-in, and no browser ever opened by a refresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import IO

import httpx
import jwt
import pytest

from tests.cli.support import assert_error, assert_ok, json_out, non_log_lines
from tests.conftest import REPO, Cli, Result
from tests.oidc.conftest import BASIC_SECRET, HERE, POST_SECRET, Browser, OidcServer
from vault_app.core.model import SecretBundle
from vault_app.core.vault import Vault

SCOPE = "openid offline_access"


def _cli(cli: Cli, browser: Browser, **extra: str) -> Cli:
    return Cli(cli.home, {**cli.env, **browser.env, **extra})


def _add(
    cli: Cli, name: str, oidc: OidcServer, client_id: str, *more: str, stdin: str = ""
) -> Result:
    return cli(*_add_args(name, oidc, client_id, *more), stdin=stdin, timeout=120)


def _add_args(name: str, oidc: OidcServer, client_id: str, *more: str) -> tuple[str, ...]:
    """`add NAME` for an oauth2 account at `oidc`, asking for SCOPE."""
    return (
        "add", name, "--provider", "oauth2", "--set", f"issuer={oidc.issuer}",
        "--set", f"client_id={client_id}", "--set", f"scope={SCOPE}", *more,
    )  # fmt: skip


def _stored(cli: Cli, name: str) -> SecretBundle:
    vault = Vault(cli.home)
    try:
        account = vault.load().find(name)
        bundle = vault.read_current_sync(account)
    finally:
        vault.secrets().close()
    assert bundle is not None and bundle.tokens is not None
    return bundle


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_public_client_browser_sign_in_refresh_revoke_and_login_again(
    oidc: OidcServer, browser: Browser, cli: Cli
) -> None:
    run = _cli(cli, browser)
    added = assert_ok(_add(run, "pub", oidc, "tv-public", "--set", "grant=authorization_code"))
    assert "signed in" in added.out
    opened = browser.runs()
    assert opened[0] == "opened /auth" and opened[1].startswith("done 200 127.0.0.1:"), opened
    assert "Opening the browser" in added.err

    shown = json_out(run("show", "pub", "--json"))
    assert shown["status"] == "ok"
    assert shown["fields"]["discovered_token_url"] == oidc.issuer + "/token"
    assert shown["fields"]["discovered_issuer"] == oidc.issuer
    assert shown["token"]["has_id_token"] is True
    claims = shown["token"]["id_token_claims"]
    assert (
        claims["aud"] == "tv-public" and claims["iss"] == oidc.issuer and claims["sub"] == "alice"
    )

    first = _stored(run, "pub").tokens
    assert first is not None and first.refresh_token and first.id_token
    assert oidc.introspect(first.access_token)["active"] is True
    token = assert_ok(run("token", "pub")).out.strip()
    assert token == first.access_token
    id_token = assert_ok(run("token", "pub", "--id-token")).out.strip()
    assert id_token == first.id_token and _claims(id_token)["aud"] == "tv-public"
    header = assert_ok(run("token", "pub", "--id-token", "--format", "header")).out.strip()
    assert header == f"Authorization: Bearer {id_token}"  # --format applies to it too
    as_json = json_out(run("token", "pub", "--id-token", "--format", "json"))
    assert as_json["id_token"] == id_token and as_json["expires_at"].endswith("Z")
    export = assert_ok(run("token", "pub", "--id-token", "--format", "env")).out
    assert export.startswith("export ID_TOKEN=")

    assert_ok(run("refresh", "pub"))
    second = _stored(run, "pub").tokens
    assert second is not None and second.refresh_token
    assert second.refresh_token != first.refresh_token  # rotated, and the new one is stored
    assert second.access_token != first.access_token and second.id_token
    assert oidc.introspect(second.refresh_token)["active"] is True

    revoked = assert_ok(run("revoke", "pub"))
    assert "revoked at the server" in revoked.out
    assert oidc.introspect(second.refresh_token)["active"] is False
    assert oidc.introspect(second.access_token)["active"] is False

    again = assert_ok(run("login", "pub"))
    assert again.out.strip() == "pub: signed in"
    assert len([line for line in browser.runs() if line.startswith("opened")]) == 2
    third = _stored(run, "pub").tokens
    assert third is not None and oidc.introspect(third.access_token)["active"] is True

    # No token, code or verifier in any file or in what the commands wrote (DEBUG logs on),
    # besides `token` printing the one it was asked for.
    said = added.err + added.out + again.err + again.out + revoked.out + revoked.err
    for tokens in (first, second, third):
        values = [tokens.access_token, tokens.refresh_token or "", tokens.id_token or ""]
        for value in values:
            assert value not in said
        _no_secret_anywhere(run, *values)
    for word in ("code=", "code_verifier", "refresh_token="):
        assert word not in said


@pytest.mark.parametrize(
    ("client_id", "auth", "secret"),
    [("tv-basic", "basic", BASIC_SECRET), ("tv-post", "post", POST_SECRET)],
)
def test_confidential_clients(
    oidc: OidcServer, browser: Browser, cli: Cli, client_id: str, auth: str, secret: str
) -> None:
    run = _cli(cli, browser)
    more = ("--set", "grant=authorization_code", "--set", f"client_auth={auth}")
    assert_ok(
        _add(run, "conf", oidc, client_id, *more, "--secret", "client_secret", stdin=secret + "\n")
    )
    tokens = _stored(run, "conf").tokens
    assert tokens is not None and oidc.introspect(tokens.access_token)["client_id"] == client_id
    assert_ok(run("refresh", "conf"))  # the refresh authenticates the same way
    assert_ok(run("revoke", "conf"))
    assert oidc.introspect(tokens.access_token)["active"] is False
    _no_secret_anywhere(run, secret)


def _no_secret_anywhere(cli: Cli, *values: str) -> None:
    for path in cli.home.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            for value in values:
                assert value.encode() not in text, path


def test_fixed_redirect_uri(oidc: OidcServer, browser: Browser, cli: Cli) -> None:
    run = _cli(cli, browser)
    more = ("--set", "grant=authorization_code", "--set", f"redirect_uri={oidc.fixed_redirect}")
    assert_ok(_add(run, "fixed", oidc, "tv-fixed", *more))
    port = oidc.fixed_redirect.split(":")[2].split("/")[0]
    assert browser.runs()[1] == f"done 200 127.0.0.1:{port}"


def test_device_grant_through_the_verification_page(
    oidc: OidcServer, browser: Browser, cli: Cli
) -> None:
    run = _cli(cli, browser)
    added = assert_ok(_add(run, "dev", oidc, "tv-public", "--set", "grant=device_code"))
    assert f"To sign in, visit {oidc.issuer}/device\n" in added.err
    assert "and enter the code: " in added.err
    assert browser.runs()[0] == "opened /device"  # verification_uri_complete, opened for us
    tokens = _stored(run, "dev").tokens
    assert tokens is not None and tokens.refresh_token and tokens.id_token
    assert oidc.introspect(tokens.access_token)["active"] is True
    assert_ok(run("refresh", "dev"))


def _stream_until(stream: IO[str], predicate: object, limit: int = 50) -> list[str]:
    seen = []
    for _ in range(limit):
        line = stream.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if callable(predicate) and predicate(line):
            break
    return seen


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _popen(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vault_app", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
        cwd=REPO,
    )


def _add_no_browser(
    cli: Cli,
    browser: Browser,
    oidc: OidcServer,
    name: str,
    grant: str,
    background: list[subprocess.Popen[str]],
) -> subprocess.Popen[str]:
    """`add NAME --no-browser` for the public client, running in the background."""
    run = _cli(cli, browser, TOKEN_VAULT_LOG="")
    args = _add_args(name, oidc, "tv-public", "--set", f"grant={grant}", "--no-browser")
    proc = _popen(run, *args)
    background.append(proc)
    return proc


def _person(url: str, **env: str) -> None:
    """The test itself as the person, in the scripted browser, on a link it was shown."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TV_")}
    subprocess.run(
        [sys.executable, str(HERE / "browser.py"), url],
        env={**clean, **env},
        check=True,
        timeout=60,
        cwd=REPO,
    )


def test_no_browser_prints_the_link_and_opens_nothing(
    oidc: OidcServer, browser: Browser, cli: Cli, background: list[subprocess.Popen[str]]
) -> None:
    proc = _add_no_browser(cli, browser, oidc, "nb", "authorization_code", background)
    assert proc.stderr is not None
    lines = _stream_until(proc.stderr, lambda line: line.startswith("http"))
    url = lines[-1]
    assert url.startswith(oidc.issuer + "/auth?"), lines
    assert "code_challenge_method=S256" in url and "code_verifier" not in url
    _person(url)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "signed in" in out
    assert browser.runs() == []  # Token Vault itself opened nothing


def test_device_grant_without_browser_typed_code(
    oidc: OidcServer, browser: Browser, cli: Cli, background: list[subprocess.Popen[str]]
) -> None:
    proc = _add_no_browser(cli, browser, oidc, "nbd", "device_code", background)
    assert proc.stderr is not None
    lines = _stream_until(proc.stderr, lambda line: "enter the code" in line)
    uri = lines[-2].removeprefix("To sign in, visit ")
    code = lines[-1].split(": ", 1)[1]
    assert uri == oidc.issuer + "/device" and len(code) == 9, lines
    _person(uri, TV_USER_CODE=code)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert browser.runs() == []


def test_denied_sign_in_exits_4_and_keeps_the_account(
    oidc: OidcServer, browser: Browser, cli: Cli
) -> None:
    run = _cli(cli, browser, TV_BROWSER_MODE="deny")
    result = _add(run, "no", oidc, "tv-public", "--set", "grant=authorization_code")
    lines = non_log_lines(result.err)
    assert result.code == 4, lines
    assert lines[-1].startswith("token-vault: error: ") and "access_denied" in lines[-1]
    assert [line for line in lines if "error" in line] == lines[-1:]
    assert "login no" in result.out
    listed = json_out(run("list", "--json"))
    assert listed[0]["name"] == "no" and listed[0]["status"] == "signed_out"


def test_a_refresh_never_opens_the_browser(oidc: OidcServer, browser: Browser, cli: Cli) -> None:
    run = _cli(cli, browser)
    assert_ok(_add(run, "quiet", oidc, "tv-public", "--set", "grant=authorization_code"))
    tokens = _stored(run, "quiet").tokens
    assert tokens is not None and tokens.refresh_token
    # The grant ends at the server (a public client may revoke its own tokens).
    httpx.post(
        oidc.issuer + "/token/revocation",
        data={"token": tokens.refresh_token, "client_id": "tv-public"},
        trust_env=False,
    ).raise_for_status()
    assert_error(run("refresh", "quiet"), 4)
    assert_error(run("token", "quiet", "--force-refresh"), 4)
    shown = json_out(run("show", "quiet", "--json"))
    assert shown["status"] == "sign_in_needed"
    assert len(browser.runs()) == 2  # the one sign-in the person asked for, nothing since


def test_oidc_server_files_are_pinned() -> None:
    lock = json.loads((HERE / "package-lock.json").read_text())
    package = json.loads((HERE / "package.json").read_text())
    assert package["dependencies"]["oidc-provider"] == "8.8.1"
    assert lock["packages"]["node_modules/oidc-provider"]["version"] == "8.8.1"
    assert (REPO / ".gitignore").read_text().count("tests/oidc/node_modules/") == 1
