"""The CLI contract of DESIGN.md section 6: exit codes, one-line errors and the --json shapes,
run as real `python -m vault_app` processes against the real Secret Service."""

from __future__ import annotations

import json
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from tests.cli.support import (
    ISO_Z,
    add_static,
    assert_error,
    assert_ok,
    iso,
    json_out,
    jwt_exp,
    make_jwt,
    non_log_lines,
    parse_iso_z,
    quiet,
    random_secret,
)
from tests.conftest import Cli
from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.model import SecretBundle, TokenSet
from vault_app.core.secret_store import SecretStore

LIST_KEYS = {
    "name",
    "provider",
    "status",
    "access_expires_at",
    "refresh_expires_at",
    "last_refresh_at",
    "last_error",
}
TIME_KEYS = ("access_expires_at", "refresh_expires_at", "last_refresh_at")

# -- exit code 2: usage ---------------------------------------------------------------------

ADD = ("add", "acct", "--provider", "static", "--secret", "token")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("list", "--bogus"), id="unknown-option"),
        pytest.param(("token", "acct", "--format", "xml"), id="bad-choice-in-subcommand"),
        pytest.param(("add", "acct"), id="add-without-provider"),
        pytest.param(("add", "acct", "--provider", "nope", "--secret", "token"), id="provider"),
        pytest.param((*ADD, "--set", "token=abc"), id="set-secret-field"),
        pytest.param((*ADD, "--set", "colour=blue"), id="unknown-field"),
        pytest.param((*ADD, "--set", "header_name"), id="set-without-equals"),
        pytest.param((*ADD, "--set", "expires_at=tomorrow"), id="bad-date"),
        pytest.param(("add", "a/b", "--provider", "static", "--secret", "token"), id="bad-name"),
        pytest.param(("refresh",), id="refresh-nothing"),
        pytest.param(("refresh", "acct", "--all"), id="refresh-names-and-all"),
        pytest.param(("token", "acct", "--min-valid", "-1"), id="negative-min-valid"),
        pytest.param(("exec", "acct"), id="exec-without-command"),
    ],
)
def test_usage_errors_exit_2_and_create_nothing(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args, stdin="usage-test-value\n")
    assert_error(result, 2)
    assert result.out == ""
    assert not (cli.home / "accounts.json").exists()


def test_errors_are_one_line_at_the_default_log_level(cli: Cli) -> None:
    """What a user sees: one line on stderr and nothing else, for each kind of failure."""
    user = quiet(cli)
    results = [
        (user("add", "x", "--provider", "nope", "--secret", "token", stdin="v\n"), 2),
        (user("list", "--json", "--bogus"), 2),
        (user("show", "ghost"), 3),
        (user(*ADD, stdin=make_jwt(-3600) + "\n"), 4),
    ]
    for result, code in results:
        assert result.code == code, result
        assert len(result.err.splitlines()) == 1, result.err
        assert result.err.startswith("token-vault: error: "), result.err


def test_duplicate_name_exits_2_and_keeps_the_first(cli: Cli) -> None:
    first, second = random_secret(), random_secret()
    assert_ok(add_static(cli, "dup", first))
    assert_error(add_static(cli, "dup", second), 2, contains="dup")
    assert assert_ok(cli("token", "dup")).out == first + "\n"
    assert [a["name"] for a in json_out(cli("list", "--json"))] == ["dup"]


def test_edit_without_changes_exits_2(cli: Cli) -> None:
    assert_ok(add_static(cli, "e", random_secret()))
    assert_error(cli("edit", "e"), 2)
    assert_error(cli("edit", "e", "--set", "expires_at=soon"), 2, contains="expires_at")


# -- exit code 3: no such account -----------------------------------------------------------

UNKNOWN_ACCOUNT_COMMANDS = [
    ("token", "ghost"),
    ("show", "ghost"),
    ("refresh", "ghost"),
    ("refresh", "real", "ghost"),
    ("revoke", "ghost"),
    ("remove", "ghost"),
    ("edit", "ghost", "--set", "scheme=Token"),
    ("exec", "ghost", "--", sys.executable, "-c", "pass"),
]


def test_unknown_account_exits_3(cli: Cli) -> None:
    value = random_secret()
    assert_ok(add_static(cli, "real", value))
    for args in UNKNOWN_ACCOUNT_COMMANDS:
        result = cli(*args)
        line = assert_error(result, 3, contains="ghost")
        assert result.out == "", args
        assert value not in line
    # Nothing happened to the account that does exist.
    (real,) = json_out(cli("list", "--json"))
    assert (real["name"], real["status"]) == ("real", "ok")


# -- exit code 4: sign-in needed ------------------------------------------------------------


def test_add_with_an_expired_jwt_keeps_the_account_and_exits_4(cli: Cli) -> None:
    expired = make_jwt(-3600)
    result = add_static(cli, "stale", expired)
    assert_error(result, 4, contains="expired")
    assert "added stale" in result.out
    (row,) = json_out(cli("list", "--json"))
    assert row["name"] == "stale"
    assert row["status"] == "sign_in_needed"
    assert row["access_expires_at"] is None
    assert isinstance(row["last_error"], str) and "expired" in row["last_error"]
    assert expired not in row["last_error"]
    assert_error(cli("token", "stale"), 4, contains="expired")


def test_revoked_static_account_exits_4_for_token(cli: Cli) -> None:
    value = random_secret()
    assert_ok(add_static(cli, "gone", value))
    revoked = assert_ok(cli("revoke", "gone"))
    assert "locally" in revoked.out
    assert value not in revoked.out
    shown = json_out(cli("show", "gone", "--json"))
    assert shown["status"] == "signed_out"
    assert shown["token"] is None
    assert shown["secrets_stored"] == []  # the static token itself was forgotten
    assert_error(cli("token", "gone"), 4)


# -- list --json ----------------------------------------------------------------------------


def test_list_json_shape_and_statuses(cli: Cli) -> None:
    assert json_out(cli("list", "--json")) == []
    alpha = make_jwt(3600)
    short = make_jwt(-30)
    assert_ok(add_static(cli, "short", make_jwt(3600)))
    assert_ok(add_static(cli, "alpha", alpha))
    assert_ok(add_static(cli, "key", random_secret()))
    assert_ok(add_static(cli, "fresh", random_secret(), "--no-sign-in"))
    assert_error(add_static(cli, "stale", make_jwt(-60)), 4)
    # `short` lapses (without waiting for it): a stored "ok" whose access token has expired
    # shows as "expired".
    _lapse(cli, "short", short)

    rows = json_out(cli("list", "--json"))
    assert isinstance(rows, list)
    by_name = {row["name"]: row for row in rows}
    assert sorted(by_name) == ["alpha", "fresh", "key", "short", "stale"]
    now = time.time()
    for row in rows:
        assert set(row) == LIST_KEYS, row
        assert row["provider"] == "static"
        for key in TIME_KEYS:
            assert row[key] is None or ISO_Z.match(row[key]), (key, row)
        assert row["last_error"] is None or isinstance(row["last_error"], str)

    assert {name: row["status"] for name, row in by_name.items()} == {
        "alpha": "ok",
        "key": "ok",
        "short": "expired",
        "fresh": "signed_out",
        "stale": "sign_in_needed",
    }
    assert by_name["alpha"]["access_expires_at"] == iso(jwt_exp(alpha))
    assert by_name["short"]["access_expires_at"] == iso(jwt_exp(short))
    assert by_name["key"]["access_expires_at"] is None  # a plain key has no known expiry
    for name in ("alpha", "key", "short"):
        assert abs(parse_iso_z(by_name[name]["last_refresh_at"]) - now) < 120
        assert by_name[name]["last_error"] is None
    assert by_name["fresh"]["last_refresh_at"] is None
    assert by_name["fresh"]["last_error"] is None
    assert by_name["stale"]["last_error"]
    for row in rows:
        assert row["refresh_expires_at"] is None  # static tokens have no refresh token

    # The expired JWT: `token` exits 4 and the account turns "sign_in_needed".
    assert_error(cli("token", "short"), 4, contains="expired")
    after = {row["name"]: row for row in json_out(cli("list", "--json"))}
    assert after["short"]["status"] == "sign_in_needed"
    assert after["alpha"]["status"] == "ok"

    text = assert_ok(cli("list")).out
    for name in by_name:
        assert name in text
    assert alpha not in text and short not in text


def _lapse(cli: Cli, name: str, expired_jwt: str) -> None:
    """What time does to a signed-in account: its stored token (and the secret it came
    from) is now `expired_jwt`, and the metadata's expiry is that token's, in the past."""
    doc = AccountStore(cli.home).load()
    account = doc.find(name)
    store = SecretStore(doc.vault_id, None, timeout=15)
    tokens = TokenSet(access_token=expired_jwt, expires_at=jwt_exp(expired_jwt))
    try:
        bundle = SecretBundle({"token": expired_jwt}, tokens)
        store.call(partial(store.write_bundle, account.id, account.generation + 1, bundle))
    finally:
        store.close()

    def expire(doc: VaultDoc) -> None:
        doc.find(name).access_expires_at = jwt_exp(expired_jwt)

    AccountStore(cli.home).update(expire)


def test_add_no_sign_in_stays_signed_out_until_token(cli: Cli) -> None:
    value = random_secret()
    result = assert_ok(add_static(cli, "later", value, "--no-sign-in"))
    assert "not signed in" in result.out
    shown = json_out(cli("show", "later", "--json"))
    assert shown["status"] == "signed_out"
    assert shown["secrets_stored"] == ["token"]
    assert shown["token"] is None
    assert shown["access_expires_at"] is None
    assert shown["last_refresh_at"] is None
    assert value not in json.dumps(shown)
    # `token` signs in on demand.
    assert assert_ok(cli("token", "later")).out == value + "\n"
    (row,) = json_out(cli("list", "--json"))
    assert row["status"] == "ok"


# -- token --format -------------------------------------------------------------------------


def test_token_formats_for_a_jwt(cli: Cli) -> None:
    token = make_jwt(3600)
    assert_ok(add_static(cli, "api", token))
    assert assert_ok(cli("token", "api", "--format", "raw")).out == token + "\n"
    assert assert_ok(cli("token", "api", "--format", "bearer")).out == f"Bearer {token}\n"
    header = assert_ok(cli("token", "api", "--format", "header")).out
    assert header == f"Authorization: Bearer {token}\n"
    out = assert_ok(cli("token", "api", "--format", "json")).out
    assert out.endswith("\n") and out.count("\n") == 1
    data = json.loads(out)
    assert data == {
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": iso(jwt_exp(token)),
    }
    # Forcing a refresh re-reads the same static token.
    assert assert_ok(cli("token", "api", "--force-refresh")).out == token + "\n"  # raw by default


def test_token_formats_with_custom_header_and_scheme(cli: Cli) -> None:
    value = random_secret()
    expires = f"{time.gmtime().tm_year + 5}-01-02T03:04:05Z"  # within the 10-year horizon
    options = ["--set", "header_name=X-Api-Key", "--set", "scheme=Token"]
    options += ["--set", f"expires_at={expires}"]
    assert_ok(add_static(cli, "custom", value, *options))
    assert assert_ok(cli("token", "custom", "--format", "bearer")).out == f"Token {value}\n"
    header = assert_ok(cli("token", "custom", "--format", "header")).out
    assert header == f"X-Api-Key: Token {value}\n"
    data = json.loads(assert_ok(cli("token", "custom", "--format", "json")).out)
    assert data == {
        "access_token": value,
        "token_type": "Token",
        "expires_at": expires,
    }
    # Changing the fields later changes the formats too.
    assert_ok(cli("edit", "custom", "--set", "header_name=X-Other", "--set", "scheme=Key"))
    header = assert_ok(cli("token", "custom", "--format", "header")).out
    assert header == f"X-Other: Key {value}\n"


def test_token_json_without_known_expiry(cli: Cli) -> None:
    value = random_secret()
    assert_ok(add_static(cli, "plain", value))
    data = json.loads(assert_ok(cli("token", "plain", "--format", "json")).out)
    assert data == {"access_token": value, "token_type": "Bearer", "expires_at": None}


def test_empty_scheme_gives_a_bare_key(cli: Cli) -> None:
    """static's `scheme` help says "empty for a bare key": `X-Api-Key: <key>`."""
    value = random_secret()
    options = ("--set", "header_name=X-Api-Key", "--set", "scheme=")
    assert_ok(add_static(cli, "bare", value, *options))
    assert assert_ok(cli("token", "bare", "--format", "header")).out == f"X-Api-Key: {value}\n"
    assert assert_ok(cli("token", "bare", "--format", "bearer")).out == value + "\n"


# -- providers, show ------------------------------------------------------------------------


def test_providers_json_lists_static_with_its_fields(cli: Cli) -> None:
    providers = json_out(cli("providers", "--json"))
    assert isinstance(providers, list)
    by_kind = {p["kind"]: p for p in providers}
    static = by_kind["static"]
    assert isinstance(static["title"], str) and static["title"]
    fields = {f["name"]: f for f in static["fields"]}
    assert list(fields) == ["token", "header_name", "scheme", "expires_at"]
    assert (fields["token"]["secret"], fields["token"]["required"]) == (True, True)
    for name in ("header_name", "scheme", "expires_at"):
        assert fields[name]["secret"] is False
        assert fields[name]["required"] is False
    assert fields["header_name"]["default"] == "Authorization"
    assert fields["scheme"]["default"] == "Bearer"
    assert fields["expires_at"]["kind"] == "date"
    text = assert_ok(cli("providers")).out
    assert "static" in text and "token" in text


def test_show_never_prints_the_secret(cli: Cli) -> None:
    token = make_jwt(3600, scope="read")
    assert_ok(add_static(cli, "shown", token, "--set", "header_name=X-Auth"))
    result = cli("show", "shown", "--json")
    data = json_out(result)
    assert token not in result.out and token not in result.err
    for part in token.split(".")[1:]:
        assert part not in result.out
    assert data["name"] == "shown"
    assert data["status"] == "ok"
    assert set(data) >= LIST_KEYS
    assert data["fields"] == {"header_name": "X-Auth", "scheme": "Bearer"}
    assert data["secrets_stored"] == ["token"]
    assert data["token"]["token_type"] == "Bearer"
    assert data["token"]["expires_at"] == iso(jwt_exp(token))
    assert data["token"]["jwt_claims"]["scope"] == "read"
    assert data["token"]["jwt_header"]["alg"] == "HS256"
    assert "token" not in data["fields"]
    text = assert_ok(cli("show", "shown"))
    assert token not in text.out and token not in text.err
    assert "X-Auth" in text.out


# -- export / import ------------------------------------------------------------------------


def test_export_has_no_secrets_and_import_recreates_definitions(cli: Cli, tmp_path: Path) -> None:
    first, second = make_jwt(3600), random_secret()
    assert_ok(add_static(cli, "one", first, "--set", "header_name=X-One"))
    assert_ok(add_static(cli, "two", second, "--no-sign-in", "--set", "scheme=Token"))

    exported = assert_ok(cli("export"))
    assert first not in exported.out and second not in exported.out
    data = json.loads(exported.out)
    assert {a["name"] for a in data["accounts"]} == {"one", "two"}
    path = tmp_path / "accounts-export.json"
    assert_ok(cli("export", str(path)))
    written = path.read_text()
    assert first not in written and second not in written
    assert json.loads(written) == data

    fresh_home = tmp_path / "other-vault"
    other = Cli(fresh_home, {**cli.env, "TOKEN_VAULT_HOME": str(fresh_home)})
    assert_ok(other("import", str(path)))
    rows = {row["name"]: row for row in json_out(other("list", "--json"))}
    assert sorted(rows) == ["one", "two"]
    assert {row["status"] for row in rows.values()} == {"signed_out"}
    assert json.loads(assert_ok(other("export")).out)["accounts"] == data["accounts"]
    shown = json_out(other("show", "one", "--json"))
    assert shown["secrets_stored"] == []
    assert shown["fields"]["header_name"] == "X-One"
    assert_error(other("token", "one"), 4)  # no secret came along

    # Importing again skips the names that exist.
    again = assert_ok(other("import", str(path)))
    assert "imported 0" in again.out
    assert sorted(row["name"] for row in json_out(other("list", "--json"))) == ["one", "two"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("this is not json", id="not-json"),
        pytest.param('{"format": "something-else", "accounts": []}', id="wrong-format"),
        pytest.param('{"format": "token-vault-accounts", "accounts": {}}', id="bad-accounts"),
    ],
)
def test_import_of_garbage_exits_2(cli: Cli, tmp_path: Path, content: str) -> None:
    path = tmp_path / "garbage.json"
    path.write_text(content)
    assert_error(cli("import", str(path)), 2)
    assert not (cli.home / "accounts.json").exists()


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"name": "two", "provider": "nosuchkind"}, id="unknown-provider"),
        pytest.param({"name": "bad\nname", "provider": "static"}, id="control-char-name"),
        pytest.param(
            {"name": "two", "provider": "static", "fields": {"nope": "x"}}, id="unknown-field"
        ),
        pytest.param({"name": "two", "provider": "static", "fields": {"token": "x"}}, id="secret"),
        pytest.param({"name": "one", "provider": "static"}, id="duplicate-name"),
        pytest.param({"name": "two", "provider": "static", "extra": 1}, id="unknown-key"),
    ],
)
def test_import_is_all_or_nothing(cli: Cli, tmp_path: Path, bad: dict[str, object]) -> None:
    """One invalid entry anywhere in the file: nothing at all is imported."""
    good = {"name": "one", "provider": "static", "fields": {"header_name": "X-One"}}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"format": "token-vault-accounts", "accounts": [good, bad]}))
    assert_error(cli("import", str(path)), 2, contains="nothing was imported")
    assert not (cli.home / "accounts.json").exists()


def test_import_of_missing_file_exits_2(cli: Cli, tmp_path: Path) -> None:
    assert_error(cli("import", str(tmp_path / "absent.json")), 2, contains="absent.json")


# -- exec -----------------------------------------------------------------------------------

CHILD = (
    "import os, sys\nprint('child sees', os.environ.get(sys.argv[1]))\nsys.exit(int(sys.argv[2]))\n"
)


def test_exec_puts_the_token_in_the_named_variable(cli: Cli) -> None:
    """The documented order: `exec NAME [--env VAR] -- COMMAND [ARG]...`."""
    token = make_jwt(3600)
    assert_ok(add_static(cli, "runner", token))
    result = cli(
        "exec", "runner", "--env", "TV_TOKEN", "--", sys.executable, "-c", CHILD, "TV_TOKEN", "7"
    )
    assert non_log_lines(result.err) == [], result.err
    assert result.out == f"child sees {token}\n"
    assert result.code == 7


def test_exec_uses_access_token_by_default_and_returns_the_child_code(cli: Cli) -> None:
    token = make_jwt(3600)
    assert_ok(add_static(cli, "runner", token))
    result = cli("exec", "runner", "--", sys.executable, "-c", CHILD, "ACCESS_TOKEN", "3")
    assert result.out == f"child sees {token}\n"
    assert result.code == 3
    assert token not in result.err
    ok = cli("exec", "runner", "--", sys.executable, "-c", CHILD, "TV_TOKEN", "0")
    assert (ok.code, ok.out) == (0, "child sees None\n")  # only the one variable is set


def test_exec_missing_command_exits_127(cli: Cli) -> None:
    token = make_jwt(3600)
    assert_ok(add_static(cli, "runner", token))
    result = cli("exec", "runner", "--", "no-such-command-token-vault-test")
    line = assert_error(result, 127, contains="no-such-command-token-vault-test")
    assert token not in line and token not in result.err


def test_exec_rejects_an_invalid_variable_name(cli: Cli) -> None:
    assert_error(cli("exec", "ghost", "--env", "1-BAD", "--", "true"), 2, contains="1-BAD")
