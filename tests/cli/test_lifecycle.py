"""The leak test of DESIGN.md section 7: a whole account lifecycle through the CLI with
distinctive secret values, then every output, DEBUG log and file it produced is searched for
every one of them; and a server that echoes our requests back in its errors, searched for
every encoding of the secrets the app produced (percent, JSON, Base64 Basic credentials)."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import secretstorage

from tests.cli.support import (
    assert_error,
    assert_ok,
    json_out,
    make_jwt,
    random_secret,
)
from tests.conftest import Cli, Result
from tests.fakes.server import FakeServer, Reply, Request


class Recorder:
    """Runs the CLI and keeps every argv and every output that must not hold a secret."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.argvs: list[tuple[str, ...]] = []
        self.texts: list[tuple[str, str]] = []  # (what, text)

    def __call__(self, *args: str, stdin: str = "", prints_token: bool = False) -> Result:
        self.argvs.append(args)
        result = self.cli(*args, stdin=stdin)
        label = " ".join(args)
        if not prints_token:  # `token` prints the token on stdout by design; its logs still count
            self.texts.append((f"stdout of {label}", result.out))
        self.texts.append((f"stderr of {label}", result.err))
        return result


def _needles(secret: str) -> list[str]:
    """The value, and for a JWT also its payload and signature parts (a cut-off token leaks
    those); the header part is the same for every HS256 JWT, so it is no evidence."""
    parts = secret.split(".")
    return [secret, *parts[1:]] if len(parts) == 3 else [secret]


def _keyring_items(vault_home: Path) -> list[str]:
    """Every secret the Secret Service holds for this vault (its id names the service)."""
    vault_id = json.loads((vault_home / "accounts.json").read_text())["vault_id"]
    connection = secretstorage.dbus_init()
    try:
        items = secretstorage.search_items(connection, {"service": f"token-vault:{vault_id}"})
        return [item.get_secret().decode() for item in items]
    finally:
        connection.close()


def test_lifecycle_leaks_no_secret(cli: Cli, tmp_path: Path) -> None:
    home = cli.home
    tv = Recorder(cli)
    first = make_jwt(3600, sub="lifecycle-first")  # add, from stdin
    second = random_secret()  # edit, from stdin
    third = make_jwt(7200, sub="lifecycle-third")  # edit, from --secret-file
    refused = random_secret()  # a duplicate add that fails: never stored
    expired = make_jwt(-600, sub="lifecycle-expired")  # edit to a token that fails sign-in
    other = random_secret()  # a second account, never signed in
    every_secret = [first, second, third, refused, expired, other]
    assert len(set(every_secret)) == len(every_secret)

    # add, then the token it holds.
    add = tv("add", "life", "--provider", "static", "--secret", "token", stdin=first + "\n")
    assert_ok(add)
    assert "added life" in add.out
    assert tv("token", "life", prints_token=True).out == first + "\n"
    assert any(first in item for item in _keyring_items(home)), "the secret is not in the keyring"
    add_other = ("add", "other", "--provider", "static", "--secret", "token", "--no-sign-in")
    assert_ok(tv(*add_other, stdin=other + "\n"))
    assert json_out(tv("show", "other", "--json"))["status"] == "signed_out"
    duplicate = ("add", "life", "--provider", "static", "--secret", "token")
    assert_error(tv(*duplicate, stdin=refused + "\n"), 2)

    # edit with a new secret from stdin, then from a file, with field changes.
    assert_ok(tv("edit", "life", "--secret", "token", "--set", "scheme=Token", stdin=second + "\n"))
    out = tv("token", "life", "--format", "header", prints_token=True).out
    assert out == f"Authorization: Token {second}\n"
    secret_file = tmp_path / "third.jwt"
    secret_file.write_text(third + "\n")
    assert_ok(tv("edit", "life", "--secret-file", f"token={secret_file}", "--set", "scheme=Bearer"))
    secret_file.unlink()
    token_json = json.loads(tv("token", "life", "--format", "json", prints_token=True).out)
    assert token_json["access_token"] == third

    # refresh, and everything that reads the account.
    refreshed = assert_ok(tv("refresh", "life"))
    assert "life: refreshed" in refreshed.out
    assert_ok(tv("refresh", "--all"))
    assert assert_ok(tv("token", "life", "--force-refresh", prints_token=True)).out == third + "\n"
    assert_ok(tv("show", "life"))
    shown = json_out(tv("show", "life", "--json"))
    assert shown["secrets_stored"] == ["token"]
    assert shown["token"]["jwt_claims"]["sub"] == "lifecycle-third"
    assert_ok(tv("list"))
    rows = {row["name"]: row for row in json_out(tv("list", "--json"))}
    assert rows["life"]["status"] == "ok"
    assert rows["other"]["status"] == "ok"  # `refresh --all` signed it in
    exported = json_out(tv("export"))
    assert {a["name"] for a in exported["accounts"]} == {"life", "other"}
    export_file = tmp_path / "export.json"
    assert_ok(tv("export", str(export_file)))
    tv.texts.append(("the export file", export_file.read_text()))

    # exec: the child gets the token but prints only its length.
    child = "import os; print(len(os.environ['ACCESS_TOKEN']))"
    run = tv("exec", "life", "--", sys.executable, "-c", child)
    assert (run.code, run.out) == (0, f"{len(third)}\n")

    # A new secret that fails its sign-in: the error says so without the token.
    edit_expired = tv("edit", "life", "--secret", "token", stdin=expired + "\n")
    assert_error(edit_expired, 4, contains="expired")
    assert "changed life" in edit_expired.out
    assert_error(tv("token", "life"), 4)
    assert_ok(tv("edit", "life", "--secret", "token", stdin=second + "\n"))
    assert tv("token", "life", prints_token=True).out == second + "\n"

    # The metadata file's permissions, checked while it holds the most.
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "accounts.json").stat().st_mode) == 0o600
    backup = home / "accounts.json.bak"
    assert backup.exists()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    # revoke, then remove.
    assert "locally" in assert_ok(tv("revoke", "life")).out
    assert_error(tv("token", "life"), 4)
    assert json_out(tv("show", "life", "--json"))["secrets_stored"] == []
    assert_ok(tv("remove", "life"))
    assert_ok(tv("remove", "other"))
    assert json_out(tv("list", "--json")) == []
    assert_error(tv("token", "life"), 3)

    # Nothing of either account is left in the keyring.
    assert _keyring_items(home) == []

    # No secret in any output but the `token` stdout that exists to print it...
    assert len(tv.texts) > 40
    leaks = [
        f"{what} holds secret #{every_secret.index(secret)}"
        for what, text in tv.texts
        for secret in every_secret
        for needle in _needles(secret)
        if needle in text
    ]
    # ...in any file the vault wrote (metadata, backup, locks, temp files)...
    files = [path for path in home.rglob("*") if path.is_file()]
    assert home / "accounts.json" in files
    for path in files:
        data = path.read_bytes()
        for secret in every_secret:
            if any(needle.encode() in data for needle in _needles(secret)):
                leaks.append(f"{path.relative_to(home)} holds secret #{every_secret.index(secret)}")
    # ...or in argv (by construction: secrets went through stdin and a file only).
    for argv in tv.argvs:
        for secret in every_secret:
            if any(needle in arg for arg in argv for needle in _needles(secret)):
                leaks.append(f"argv {argv} holds secret #{every_secret.index(secret)}")
    assert leaks == []


def _encoded(secret: str, client_id: str) -> dict[str, str]:
    """Every form the app gives `secret` when it sends it: as is, percent-encoded (a form
    body), JSON-escaped (a JSON body) and, for the client secret, the Basic credentials
    (Base64 of id:secret, raw and with the pair form-encoded first, RFC 6749 2.3.1)."""
    forms = {
        "raw": secret,
        "percent": quote(secret, safe=""),
        "form": quote_plus(secret, safe=""),
        "json": json.dumps(secret)[1:-1],
        "json-ascii-slash": json.dumps(secret, ensure_ascii=True)[1:-1].replace("/", "\\/"),
        "json-unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
        "basic": base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
        "basic-encoded": base64.b64encode(
            f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        ).decode(),
    }
    return forms


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_an_echoed_request_leaks_no_secret_in_any_encoding(cli: Cli, client_auth: str) -> None:
    """A token endpoint whose error replies quote the request back (headers and body, as
    some gateways do): the Basic credentials and the form-encoded client secret and password
    must not reach stderr, `last_error` in accounts.json, `show`, `list` or a log line."""
    client_id = "vault:client"
    client_secret = 'cs+/=&"é ' + random_secret(12)
    password = "pw+/ü " + random_secret(12)

    answered: list[int] = []

    def echo(request: Request) -> Reply:
        """An error quoting back one thing we sent, in the encoding we sent it (a value of
        the form body, the Basic credentials without their scheme, the whole request), and
        each time another: 401, 500 and a 200 carrying the error in turn."""
        values = [pair.partition("=")[2] for pair in request.body.decode().split("&")]
        auth = (request.header("authorization") or "").removeprefix("Basic ")
        head = "\r\n".join(f"{k}: {v}" for k, v in request.headers.items())
        parts = [*values, auth, request.body.decode() + "\r\n" + head]
        part = parts[len(answered) % len(parts)]
        status = (401, 500, 200)[len(answered) % 3]
        answered.append(1)
        return Reply(status, {"error": "invalid_client", "error_description": f"sent: {part}"})

    with FakeServer().running() as server:
        server.route("POST", "/token", echo)
        tv = Recorder(cli)
        added = tv(
            "add",
            "echo",
            "--provider",
            "oauth2",
            "--set",
            f"token_url={server.url}/token",
            "--set",
            "grant=password",
            "--set",
            f"client_id={client_id}",
            "--set",
            f"client_auth={client_auth}",
            "--set",
            "username=dana",
            "--secret",
            "client_secret",
            "--secret",
            "password",
            stdin=f"{client_secret}\n{password}\n",
        )
        assert added.code in (4, 5), added
        for args in (
            ("refresh", "echo"),
            ("token", "echo"),
            ("show", "echo"),
            ("list",),
            ("show", "echo", "--json"),
            ("list", "--json"),
        ):
            tv(*args)
        assert len(server.requests) >= 3
        # The secrets did reach the server (the test is not vacuous)...
        sent = server.requests[0].body.decode() + str(server.requests[0].headers)
        shown = _encoded(client_secret, client_id)
        assert shown["basic-encoded" if client_auth == "basic" else "form"] in sent
    texts = list(tv.texts)
    for path in cli.home.rglob("*"):
        if path.is_file():
            texts.append(
                (str(path.relative_to(cli.home)), path.read_bytes().decode("utf-8", "replace"))
            )
    leaks = [
        f"{what} holds the {name} {form} form"
        for what, text in texts
        for name, secret in (("client secret", client_secret), ("password", password))
        for form, value in _encoded(secret, client_id).items()
        if value in text
    ]
    assert leaks == []
    last_error = json.loads((cli.home / "accounts.json").read_text())["accounts"][0]["last_error"]
    assert last_error and "\n" not in last_error
