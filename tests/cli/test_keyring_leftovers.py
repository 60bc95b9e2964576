"""Nothing is left in the keyring for good (issue 10.10), through the CLI on the real Secret
Service: a `remove` whose deletes fail says so (exit 6, one line), keeps a record that `list`
shows, and finishes when run again; `--self-check` reports items no account owns with the
command that deletes them; `remove --leftovers` deletes them and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.support import add_static, assert_error, assert_ok, make_jwt, quiet
from tests.conftest import Cli
from vault_app.core.account_store import AccountStore
from vault_app.core.secret_store import SecretStore

REFUSING = "tests.cli.refusing_keyring.Keyring"


def _items(home: Path) -> list[str]:
    store = SecretStore(AccountStore(home).load().vault_id, None, timeout=15)
    try:
        return sorted(store.call(store.usernames))
    finally:
        store.close()


def _self_check_line(cli: Cli) -> tuple[int, str]:
    cli.env["QT_QPA_PLATFORM"] = "offscreen"
    result = cli("--self-check")
    line = next(x for x in result.out.splitlines() if x[5:].startswith("keyring items:"))
    return result.code, line


def test_a_remove_whose_deletes_fail_is_finished_by_running_it_again(
    cli: Cli, tmp_path: Path
) -> None:
    marker = tmp_path / "refuse-deletes"
    user = quiet(cli)
    user.env.update(PYTHON_KEYRING_BACKEND=REFUSING, TOKEN_VAULT_TEST_REFUSE_DELETES=str(marker))
    assert_ok(add_static(user, "api", make_jwt(3600)))
    assert_ok(add_static(user, "keep", make_jwt(3600)))
    api = AccountStore(cli.home).load().find("api")
    assert any(item.startswith(api.id) for item in _items(cli.home))

    marker.touch()
    line = assert_error(user("remove", "api"), 6)
    assert line.startswith(
        "token-vault: error: api is removed from the vault, but not all of its keyring items "
        "could be deleted (keyring error (RuntimeError): org.freedesktop.DBus.Error.NoReply"
    ), line
    assert line.endswith("run 'token-vault remove api' again to delete them")
    listing = assert_ok(user("list")).out
    assert "api: removed, but some of its keyring items are still there" in listing
    assert [a["name"] for a in json.loads(assert_ok(user("list", "--json")).out)] == ["keep"]
    assert_error(user("token", "api"), 3)  # gone from the vault already
    code, check = _self_check_line(user)
    assert code == 0 and check.startswith("--   keyring items:  ")
    assert api.id in check and "'token-vault remove --leftovers'" in check

    marker.unlink()
    assert assert_ok(user("remove", "api")).out == "removed api and its secrets\n"
    assert not any(item.startswith(api.id) for item in _items(cli.home))
    assert "api" not in assert_ok(user("list")).out.split()
    assert AccountStore(cli.home).load().leftovers == []
    assert _self_check_line(user)[1].startswith("ok   keyring items:  ")
    assert_error(user("remove", "api"), 3)


def test_self_check_finds_what_no_account_owns_and_remove_leftovers_deletes_it(
    cli: Cli,
) -> None:
    user = quiet(cli)
    assert_ok(add_static(user, "api", make_jwt(3600)))
    doc = AccountStore(cli.home).load()
    owned = _items(cli.home)
    store = SecretStore(doc.vault_id, None, timeout=15)
    try:
        store.call(lambda: store.backend().set_password(store.service, "0ff1ce:1", "x"))
        store.call(lambda: store.backend().set_password(store.service, "0ff1ce:1:1", "y"))
    finally:
        store.close()

    code, line = _self_check_line(cli)
    assert code == 0, "leftovers are reported, they do not fail the check"
    assert line == (
        f"--   keyring items:  2 of {len(owned) + 2} belong to no account (0ff1ce:1, "
        "0ff1ce:1:1): delete them with 'token-vault remove --leftovers'"
    )

    result = assert_ok(user("remove", "--leftovers"))
    assert result.out == "deleted 2 keyring items that no account owned\n"
    assert _items(cli.home) == owned
    assert (
        _self_check_line(cli)[1] == f"ok   keyring items:  {len(owned)}, each owned by an account"
    )
    assert assert_ok(user("remove", "--leftovers")).out.startswith("deleted 0 keyring items")
    assert assert_ok(user("token", "api")).out.strip()


def test_remove_takes_a_name_or_leftovers(cli: Cli) -> None:
    assert_error(quiet(cli)("remove"), 2, contains="an account name or --leftovers")
    assert_error(quiet(cli)("remove", "x", "--leftovers"), 2)
