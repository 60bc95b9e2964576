"""Odd and damaged stored values through the CLI (issue 10.1, 10.2): out-of-range times never
break a listing and show as unknown; a metadata file of the wrong types is refused by every
command with the same one-line error (file, field, backup), exit 1, and never overwritten;
numbers on the command line are checked."""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.cli.support import (
    add_static,
    assert_error,
    assert_ok,
    json_out,
    make_jwt,
    quiet,
)
from tests.conftest import Cli
from vault_app.core.account_store import AccountStore
from vault_app.core.model import SecretBundle, TokenSet
from vault_app.core.secret_store import SecretStore

ODD_TIMES = {
    "infinity": "Infinity",  # what an older version wrote for float("inf")
    "minus-infinity": "-Infinity",
    "nan": "NaN",
    "huge": "1e300",
    "beyond-float": "1e400",
    "negative": "-5",
    "milliseconds": str(int(time.time() * 1000) + 3_600_000),
    "far-future": str(int(time.time()) + 20 * 366 * 86400),
}


def _set_raw(cli: Cli, name: str, field: str, literal: str) -> None:
    """Put `literal` (JSON text, or a bare word like Infinity) as `field` of account `name`."""
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    for account in data["accounts"]:
        if account["name"] == name:
            account[field] = "@@VALUE@@"
    path.write_text(json.dumps(data).replace('"@@VALUE@@"', literal))


def test_out_of_range_stored_times_never_break_a_listing(cli: Cli) -> None:
    """One account per kind of odd value, all in one vault: every command still works."""
    tokens = {kind: make_jwt(3600) for kind in ODD_TIMES}
    for kind, token in tokens.items():
        assert_ok(add_static(cli, kind, token))
        for field in ("access_expires_at", "refresh_expires_at", "last_refresh_at"):
            _set_raw(cli, kind, field, ODD_TIMES[kind])
    user = quiet(cli)

    listing = assert_ok(user("list")).out
    for kind in ODD_TIMES:
        row = next(line for line in listing.splitlines() if line.startswith(f"{kind} "))
        assert "expiry unknown" in row and row.rstrip().endswith("-"), row
    for listed in json_out(user("list", "--json")):
        assert listed["access_expires_at"] is None and listed["last_refresh_at"] is None
    for kind in ("infinity", "milliseconds"):
        assert "expires unknown" in assert_ok(user("show", kind)).out
        assert json_out(user("show", kind, "--json"))["access_expires_at"] is None
        data = json.loads(assert_ok(user("token", kind, "--format", "json")).out)
        assert data["access_token"] == tokens[kind]

    # The next write stores them as unknown, not as they were.
    assert_ok(add_static(cli, "third", make_jwt(3600)))
    for stored in json.loads((cli.home / "accounts.json").read_text())["accounts"]:
        if stored["name"] != "third":
            for field in ("access_expires_at", "refresh_expires_at", "last_refresh_at"):
                assert stored[field] is None, (stored["name"], field)


def test_an_odd_expiry_in_the_keyring_shows_as_unknown(cli: Cli) -> None:
    """Tokens stored by an older version from a reply with `expires_in: 1e400`."""
    assert_ok(add_static(cli, "api", "plain-token-0001"))
    doc = AccountStore(cli.home).load()
    account = doc.find("api")
    store = SecretStore(doc.vault_id, None, timeout=15)
    tokens = TokenSet(access_token="plain-token-0001", expires_at=1e300)
    try:
        bundle = SecretBundle({"token": "plain-token-0001"}, tokens)
        store.call(partial(store.write_bundle, account.id, account.generation + 1, bundle))
    finally:
        store.close()
    user = quiet(cli)
    data = json.loads(assert_ok(user("token", "api", "--format", "json")).out)
    assert data == {"access_token": "plain-token-0001", "token_type": "Bearer", "expires_at": None}
    assert json_out(user("show", "api", "--json"))["token"]["expires_at"] is None


@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", "-inf", "infinity", "-1", "1e400", "-0.5", "abc", "", "1e9"]
)
def test_min_valid_must_be_a_sane_number_of_seconds(cli: Cli, value: str) -> None:
    line = assert_error(quiet(cli)("token", "api", "--min-valid", value), 2)
    assert "--min-valid" in line
    assert not cli.home.exists()


def test_min_valid_accepts_zero_and_fractions(cli: Cli) -> None:
    token = make_jwt(3600)
    assert_ok(add_static(cli, "api", token))
    for value in ("0", "0.5", "3599"):
        assert assert_ok(quiet(cli)("token", "api", "--min-valid", value)).out.strip() == token


# -- damaged metadata: one error for every command ----------------------------------------------

DAMAGED: dict[str, tuple[str, str, str]] = {
    # kind: (field, JSON literal, path in the message)
    "generation-text": ("generation", '"1"', "accounts[0].generation"),
    "expiry-iso": ("access_expires_at", '"2030-01-01T00:00:00Z"', "accounts[0].access_expires_at"),
    "status-unknown": ("status", '"paused"', "accounts[0].status"),
    "fields-number": ("fields", '{"header_name": 7}', "accounts[0].fields"),
    "secret-fields-text": ("secret_fields", '"token"', "accounts[0].secret_fields"),
    "id-traversal": ("id", '"../../x"', "accounts[0].id"),
}

ALL_COMMANDS: list[tuple[str, ...]] = [
    ("list",),
    ("list", "--json"),
    ("show", "api"),
    ("token", "api"),
    ("token", "api", "--format", "json"),
    ("refresh", "api"),
    ("refresh", "--all"),
    ("revoke", "api"),
    ("remove", "api"),
    ("remove", "--leftovers"),
    ("edit", "api", "--set", "scheme=Token"),
    ("add", "other", "--provider", "static", "--secret", "token", "--no-sign-in"),
    ("export",),
    ("exec", "api", "--", "true"),
]


def _damage(cli: Cli, kind: str) -> tuple[bytes, bytes]:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    assert_ok(add_static(cli, "spare", make_jwt(3600)))  # so that a backup exists
    field, literal, _ = DAMAGED[kind]
    path = cli.home / "accounts.json"
    data: dict[str, Any] = json.loads(path.read_text())
    data["accounts"].sort(key=lambda a: a["name"] != "api")  # api first: accounts[0]
    data["accounts"][0][field] = "@@VALUE@@"
    path.write_text(json.dumps(data).replace('"@@VALUE@@"', literal))
    return path.read_bytes(), (cli.home / "accounts.json.bak").read_bytes()


def _assert_refused(cli: Cli, args: tuple[str, ...], kind: str) -> None:
    result = quiet(cli)(*args, stdin="a-secret-value\n")
    line = assert_error(result, 1)
    path = cli.home / "accounts.json"
    assert line.startswith(f"token-vault: error: {path}: damaged at {DAMAGED[kind][2]}"), line
    assert f"the previous version is in {path}.bak" in line
    assert "Traceback" not in result.err and result.out == ""


def test_every_command_refuses_a_damaged_file_the_same_way(cli: Cli) -> None:
    before, backup = _damage(cli, "generation-text")
    for args in ALL_COMMANDS:
        _assert_refused(cli, args, "generation-text")
    assert (cli.home / "accounts.json").read_bytes() == before
    assert (cli.home / "accounts.json.bak").read_bytes() == backup


@pytest.mark.parametrize("kind", sorted(set(DAMAGED) - {"generation-text"}))
def test_each_kind_of_damage_is_refused(cli: Cli, kind: str) -> None:
    before, _ = _damage(cli, kind)
    for args in [
        ("list",),
        ("token", "api"),
        ("add", "x", "--provider", "static", "--secret", "token"),
    ]:
        _assert_refused(cli, args, kind)
    assert (cli.home / "accounts.json").read_bytes() == before


def test_a_damaged_setting_is_refused(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["settings"] = {"refresh_ahead_fraction": "a quarter", "unknown_later": [1, 2]}
    path.write_text(json.dumps(data))
    line = assert_error(quiet(cli)("token", "api"), 1)
    assert "damaged at settings.refresh_ahead_fraction: expected float, got str" in line


def test_unknown_settings_survive_every_write(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["settings"] = {"from_a_newer_version": [100, 80], "request_deadline": 30}
    path.write_text(json.dumps(data))
    assert_ok(add_static(cli, "other", make_jwt(3600)))
    assert_ok(quiet(cli)("remove", "other"))
    assert json.loads(path.read_text())["settings"] == data["settings"]


def test_a_stored_name_too_strange_to_type_still_works(cli: Cli, tmp_path: Path) -> None:
    """Names older versions accepted (an ESC inside) still load; they are only shown
    escaped, and can be removed by their real name."""
    assert_ok(add_static(cli, "plain", make_jwt(3600)))
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["accounts"][0]["name"] = "red\x1b[31mname"
    path.write_text(json.dumps(data))
    listing = assert_ok(quiet(cli)("list")).out
    assert "red\\x1b[31mname" in listing and "\x1b" not in listing
    assert_ok(quiet(cli)("remove", "red\x1b[31mname"))
    assert json.loads(path.read_text())["accounts"] == []
