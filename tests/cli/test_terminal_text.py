"""Text from outside never reaches the terminal as control characters (issue 10.7): names and
field values are checked where they enter; stored names, fields, server messages and JWT
claims are escaped wherever the CLI prints them; a stored token, token type or header name
that could add a header line is refused at output (exit 5), whatever the format."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import jwt
import pytest

from tests.cli.support import (
    add_static,
    all_printable,
    assert_error,
    assert_ok,
    make_jwt,
    quiet,
)
from tests.conftest import Cli, Result
from vault_app.core.account_store import AccountStore
from vault_app.core.model import SecretBundle, TokenSet
from vault_app.core.secret_store import SecretStore

HOSTILE_NAMES = {
    "escape": "red\x1b[31mname",
    "clear-screen": "x\x1b[2J",
    "osc-title": "x\x1b]0;owned\x07",
    "newline": "two\nlines",
    "carriage-return": "over\rwrite",
    "bidi-override": "abc\u202etxt.exe",
    "bidi-isolate": "a\u2066b",
    "zero-width": "a\u200bb",
    "line-separator": "a\u2028b",
    "del": "a\x7fb",
    "c1-csi": "a\x9b31mb",
    "too-long": "n" * 65,
}


def _printable_everywhere(result: Result) -> None:
    assert all_printable(result.out) == [], result.out
    assert all_printable(result.err) == [], result.err


@pytest.mark.parametrize("kind", sorted(HOSTILE_NAMES))
def test_a_hostile_name_is_refused_on_add(cli: Cli, kind: str) -> None:
    result = quiet(cli)(
        "add", HOSTILE_NAMES[kind], "--provider", "static", "--secret", "token", stdin="tok-1\n"
    )
    line = assert_error(result, 2, contains="invalid account name")
    _printable_everywhere(result)
    assert line.isprintable()
    assert not (cli.home / "accounts.json").exists()


HOSTILE_VALUES = [
    ("header_name", "X-Key\r\nX-Injected: 1"),
    ("scheme", "Bearer\x1b[2J"),
    ("header_name", "X-Key\u202e"),
    ("expires_at", "9999-12-31"),
    ("expires_at", "1970-01-01"),
]


def test_a_hostile_field_value_is_refused_on_add_and_edit(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", "tok-12345"))
    before = (cli.home / "accounts.json").read_bytes()
    for field, value in HOSTILE_VALUES:
        for args in [
            ("add", "new", "--provider", "static", "--set", f"{field}={value}"),
            ("edit", "api", "--set", f"{field}={value}"),
        ]:
            result = quiet(cli)(*args, "--secret", "token", stdin="tok-1\n")
            assert_error(result, 2, contains=field)
            _printable_everywhere(result)
    assert (cli.home / "accounts.json").read_bytes() == before


def _legacy_vault(cli: Cli) -> None:
    """A vault written by an older version, which let all of this in."""
    assert_ok(add_static(cli, "seed", make_jwt(3600)))
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["accounts"] = [
        {
            "id": f"legacy{i}",
            "name": name,
            "provider": "static",
            "fields": {"header_name": "X-\x1b[31mKey", "scheme": "\u202eBearer"},
            "status": "error",
            "last_error": "server said: \x1b[2J\x1b[H\r\nfake prompt$ \u202e",
            "generation": 0,
        }
        for i, name in enumerate([*HOSTILE_NAMES.values(), "a\x00b"])  # NUL: no argv has one
    ]
    path.write_text(json.dumps(data))


def test_stored_hostile_text_is_escaped_by_every_command(cli: Cli, tmp_path: Path) -> None:
    _legacy_vault(cli)
    user = quiet(cli)
    listing = user("list").out
    assert "red\\x1b[31mname" in listing and "abc\\u202etxt.exe" in listing
    assert "server said: \\x1b[2J\\x1b[H\\r\\nfake prompt$ \\u202e" in listing
    shown = user("show", "two\nlines").out
    assert "header_name:    X-\\x1b[31mKey" in shown
    assert "last error:     server said: \\x1b[2J" in shown
    commands: list[tuple[str, ...]] = [("list",), ("list", "--json"), ("refresh", "--all")]
    for kind in ("escape", "osc-title", "bidi-override", "c1-csi"):
        commands += [("show", HOSTILE_NAMES[kind]), ("token", HOSTILE_NAMES[kind])]
    for args in [*commands, ("export",)]:
        _printable_everywhere(user(*args))
    _printable_everywhere(cli("refresh", "--all"))  # with DEBUG log records on stderr
    # JSON keeps the exact text, escaped the JSON way.
    listed = json.loads(user("list", "--json").out)
    assert {a["name"] for a in listed} >= set(HOSTILE_NAMES.values())
    exported = tmp_path / "export.json"
    assert_ok(user("export", str(exported)))
    assert json.loads(exported.read_text())["accounts"]


def test_jwt_claims_are_escaped_in_show(cli: Cli) -> None:
    claims = {"note": "\x1b]52;c;cGF5bG9hZA==\x07 copy me", "name": "ad\u202emin", "x": "a\x7fb"}
    token = make_jwt(3600, **claims)
    assert_ok(add_static(cli, "api", token))
    for args in [("show", "api"), ("show", "api", "--json")]:
        result = assert_ok(quiet(cli)(*args))
        _printable_everywhere(result)
        assert "\x7f" not in result.out
    assert jwt.decode(token, options={"verify_signature": False})["note"].startswith("\x1b")


def _store_tokens(cli: Cli, name: str, tokens: TokenSet) -> None:
    """Tokens in the keyring as a version without checks on arrival might have stored them:
    a newer generation, which the next read adopts."""
    doc = AccountStore(cli.home).load()
    account = doc.find(name)
    store = SecretStore(doc.vault_id, None, timeout=15)
    try:
        bundle = SecretBundle({"token": "seed-token"}, tokens)
        store.call(partial(store.write_bundle, account.id, account.generation + 1, bundle))
    finally:
        store.close()


@pytest.mark.parametrize(
    ("tokens", "what"),
    [
        (TokenSet(access_token="abc\r\nX-Injected: 1", expires_at=None), "access token"),
        (TokenSet(access_token="abc\nX-Injected: 1", expires_at=None), "access token"),
        (TokenSet(access_token="abc\x00def", expires_at=None), "access token"),
        (TokenSet(access_token="abc\x1b[2Jdef", expires_at=None), "access token"),
        (TokenSet(access_token="abc", token_type="Bearer\r\nX-Injected: 1"), "token type"),
    ],
    ids=["crlf", "lf", "nul", "escape", "type-crlf"],
)
@pytest.mark.parametrize("fmt", ["raw", "bearer", "header", "json"])
def test_a_token_that_could_inject_a_header_is_never_printed(
    cli: Cli, tokens: TokenSet, what: str, fmt: str
) -> None:
    assert_ok(add_static(cli, "api", "seed-token"))
    _store_tokens(cli, "api", tokens)
    result = quiet(cli)("token", "api", "--format", fmt)
    line = assert_error(result, 5, contains=f"the stored {what} contains a control character")
    assert result.out == ""
    assert line.isprintable()


def test_exec_refuses_such_a_token_too(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", "seed-token"))
    _store_tokens(cli, "api", TokenSet(access_token="abc\r\nX: 1", expires_at=None))
    result = quiet(cli)("exec", "api", "--", "true")
    assert_error(result, 5, contains="control character")


def test_a_stored_header_name_that_is_not_a_field_name_is_refused(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", "seed-token"))
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["accounts"][0]["fields"]["header_name"] = "X-Key\r\nX-Injected: 1"
    path.write_text(json.dumps(data))
    for fmt in ("header", "bearer"):
        result = quiet(cli)("token", "api", "--format", fmt)
        line = assert_error(result, 5, contains="is not a valid HTTP field name")
        assert "X-Key\\r\\nX-Injected: 1" in line and result.out == ""


def test_usage_errors_about_odd_arguments_are_escaped(cli: Cli) -> None:
    for args in [
        ("token", "x", "--format", "raw\x1b[2J"),
        ("show", "no\x1b[31msuch"),
        ("frobnicate\u202e",),
        ("exec", "x", "--env", "A\x1bB", "--", "true"),
    ]:
        result = quiet(cli)(*args)
        assert result.code in (2, 3), result
        _printable_everywhere(result)


def test_a_terminal_that_cannot_show_a_name_gets_escapes(cli: Cli) -> None:
    """A C locale without Python's UTF-8 coercion (or a Latin-1 one, or a Windows console's
    code page): a Cyrillic name once ended `list` half-way with an internal
    UnicodeEncodeError. It is written as escapes, as on stderr; tokens and JSON as they are."""
    assert_ok(add_static(cli, "Токен-é", "tok-locale-0001"))
    assert_ok(add_static(cli, "api", "tok-locale-0002"))
    user = quiet(cli)
    user.env.update(LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    user.env.pop("PYTHONIOENCODING", None)
    listed = assert_ok(user("list"))
    assert "\\u0422\\u043e\\u043a\\u0435\\u043d-\\xe9  static" in listed.out
    assert "api" in listed.out
    assert assert_ok(user("show", "api")).out.startswith("api (Static")
    assert assert_ok(user("token", "api")).out == "tok-locale-0002\n"
    exported = json.loads(assert_ok(user("export")).out)
    assert {a["name"] for a in exported["accounts"]} == {"Токен-é", "api"}
