"""Small guards (issue 10.13): `token` serves the unexpired token of an account that needs a
new sign-in, with a warning; `exec --env` refuses variables that change how programs load;
a vault folder or file other users can change is refused with the command that fixes it."""

from __future__ import annotations

import json
import os

import pytest

from tests.cli.support import add_static, assert_error, assert_ok, make_jwt, quiet
from tests.conftest import REPO, Cli
from vault_app.cli.tokens import LOADER_PREFIXES, LOADER_VARIABLES


def _needs_sign_in(cli: Cli, name: str, error: str) -> None:
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    for account in data["accounts"]:
        if account["name"] == name:
            account.update(status="sign_in_needed", last_error=error)
    path.write_text(json.dumps(data))


def test_sign_in_needed_with_a_live_token_serves_it_with_a_warning(cli: Cli) -> None:
    token = make_jwt(1800)
    assert_ok(add_static(cli, "api", token))
    _needs_sign_in(cli, "api", "alor: the refresh token was rejected (invalid_grant)")
    result = quiet(cli)("token", "api")
    assert result.code == 0 and result.out == token + "\n"
    [warning] = result.err.splitlines()
    assert warning.startswith(
        "token-vault: warning: api needs a new sign-in (alor: the refresh token was rejected "
        "(invalid_grant)); this access token still works for 29m "
    ), warning
    assert warning.endswith("run 'token-vault edit api' or 'token-vault refresh api'")


def test_a_rejected_refresh_still_serves_the_unexpired_token(cli: Cli) -> None:
    """--min-valid asks for more than is left; the refresh is rejected (the static token's
    typed expiry has passed, so its sign-in fails): the token still works, so it is served."""
    token = make_jwt(1800)
    assert_ok(add_static(cli, "api", token))
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["accounts"][0]["fields"]["expires_at"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(data))

    result = quiet(cli)("token", "api", "--min-valid", "3600")

    assert result.code == 0 and result.out == token + "\n", result.err
    [warning] = result.err.splitlines()
    assert warning.startswith("token-vault: warning: api needs a new sign-in (static: the stored")
    assert "this access token still works for 29m " in warning
    # Asked for a fresh one explicitly: the rejection is the answer.
    assert_error(quiet(cli)("token", "api", "--force-refresh"), 4)


def test_sign_in_needed_with_an_expired_token_fails(cli: Cli) -> None:
    assert_ok(
        add_static(cli, "api", "plain-token-0001", "--set", "expires_at=2020-01-01", "--no-sign-in")
    )
    result = quiet(cli)("token", "api")
    assert_error(result, 4)
    assert result.out == ""


REFUSED_ENV = [
    "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "ld_preload", "DYLD_INSERT_LIBRARIES", "BASH_ENV",
    "ENV", "IFS", "PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS",
    "BASH_FUNC_x%%", "GIT_SSH_COMMAND", "JAVA_TOOL_OPTIONS", "LC_ALL", "HOME", "http_proxy",
    "SSL_CERT_FILE", "GCONV_PATH", "TOKEN_VAULT_HOME", "Path",
]  # fmt: skip


@pytest.mark.parametrize("name", REFUSED_ENV)
def test_exec_refuses_variables_that_change_how_programs_load(cli: Cli, name: str) -> None:
    result = quiet(cli)("exec", "api", "--env", name, "--", "true")
    assert_error(result, 2, contains="--env")
    assert not cli.home.exists(), "refused before the vault is even read"


def test_the_refused_list_is_what_the_readme_says() -> None:
    readme = (REPO / "README.md").read_text()
    for name in LOADER_VARIABLES:
        assert f"`{name}`" in readme, f"{name} missing from README.md"
    for prefix in LOADER_PREFIXES:
        assert f"`{prefix}*`" in readme, f"{prefix}* missing from README.md"


@pytest.mark.parametrize("name", ["API_KEY", "token"])
def test_exec_takes_ordinary_names(cli: Cli, name: str) -> None:
    assert_ok(add_static(cli, "api", "plain-token-0001"))
    result = quiet(cli)(
        "exec", "api", "--env", name, "--", "python3", "-c",
        f"import os; print(os.environ['{name}'])",
    )  # fmt: skip
    assert result.code == 0 and result.out == "plain-token-0001\n", result.err


@pytest.mark.parametrize("mode", [0o775])  # the others: tests/storage/test_account_store.py
def test_a_vault_folder_others_can_change_is_refused(cli: Cli, mode: int) -> None:
    assert_ok(add_static(cli, "api", "plain-token-0001"))
    os.chmod(cli.home, mode)
    try:
        for args in [("list",), ("token", "api")]:
            line = assert_error(quiet(cli)(*args), 1)
            assert line == (
                f"token-vault: error: {cli.home} can be changed by other users (mode "
                f"{mode:04o}): refusing to use it; fix it with: chmod 700 {cli.home}"
            )
    finally:
        os.chmod(cli.home, 0o700)
    assert_ok(quiet(cli)("list"))


def test_a_vault_file_others_can_change_is_refused(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", "plain-token-0001"))
    path = cli.home / "accounts.json"
    os.chmod(path, 0o646)
    line = assert_error(quiet(cli)("token", "api"), 1)
    assert line.endswith(f"fix it with: chmod 600 {path}")
    os.chmod(path, 0o600)
    assert_ok(quiet(cli)("token", "api"))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_vault_folder_of_another_user_is_refused(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", "plain-token-0001"))
    os.chown(cli.home, 65534, 65534)
    try:
        line = assert_error(quiet(cli)("list"), 1)
    finally:
        os.chown(cli.home, 0, 0)
    assert " belongs to " in line and line.endswith(f"run: sudo chown -R root: {cli.home}")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOKEN_VAULT_LOG", "basic_format"),  # an attribute of logging, not a level
        ("TOKEN_VAULT_LOG", "root"),
        ("TOKEN_VAULT_LOG", "getLogger"),
        ("TOKEN_VAULT_LOG", "\x1b[31m"),
        ("TOKEN_VAULT_KEYRING_TIMEOUT", "nan"),
        ("TOKEN_VAULT_KEYRING_TIMEOUT", "-5"),
        ("TOKEN_VAULT_KEYRING_TIMEOUT", "1e400"),
        ("TOKEN_VAULT_CHUNK_LIMIT", "inf"),
        ("TOKEN_VAULT_CHUNK_LIMIT", "-1"),
        ("TOKEN_VAULT_SIGN_IN_TIMEOUT", "nan"),
    ],
)
def test_odd_values_of_the_apps_own_variables(cli: Cli, variable: str, value: str) -> None:
    """The app's own environment variables are outside data too: an odd value is ignored
    (the default applies), never a traceback."""
    user = quiet(cli)
    user.env[variable] = value
    assert_ok(add_static(user, "api", "tok-odd-env-0001"))
    assert assert_ok(user("token", "api")).out == "tok-odd-env-0001\n"
    listed = assert_ok(user("list"))
    assert "Traceback" not in listed.err and "api" in listed.out
