"""Operating-system errors through the CLI (issue 10.11): a read-only vault folder, a full
disk, an unreadable file. Each is one line naming the file and the reason, exit 1, and nothing
is lost: a secret whose metadata could not be written is taken back out of the keyring, and
tokens that reached the keyring are served (and adopted by the next load), not reported as a
failed refresh.

The faults are real: file modes (for root, under setpriv without the capabilities that
bypass them), RLIMIT_FSIZE (a write past it fails with EFBIG, as past a quota), a tmpfs that
is full (ENOSPC, where user namespaces allow mounting one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import (
    add_static,
    assert_error,
    assert_ok,
    file_size_limit,
    make_jwt,
    obeying_file_modes,
    quiet,
    run_cli,
)
from tests.conftest import REPO, Cli
from tests.fakes.oauth2 import OAuth2Fake
from vault_app.core.account_store import AccountStore
from vault_app.core.secret_store import SecretStore, unowned


def _orphans(home: Path) -> list[str]:
    doc = AccountStore(home).load()
    store = SecretStore(doc.vault_id, None, timeout=15)
    try:
        names = store.call(store.usernames)
    finally:
        store.close()
    return unowned(names, {a.id: a.generation for a in doc.accounts})


@pytest.fixture
def read_only_home(cli: Cli) -> Iterator[Path]:
    """A vault with one account ("api") whose folder is then made read-only."""
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    os.chmod(cli.home, 0o500)
    yield cli.home
    os.chmod(cli.home, 0o700)


def test_a_read_only_vault_folder(cli: Cli, read_only_home: Path) -> None:
    user, prefix = quiet(cli), obeying_file_modes()
    path = read_only_home / "accounts.json"
    before = path.read_bytes()

    # Reading works: list, show, a token that is still valid.
    assert_ok(run_cli(user, "list", prefix=prefix))
    token = assert_ok(run_cli(user, "token", "api", prefix=prefix)).out.strip()
    assert token

    result = run_cli(
        user, "add", "second", "--provider", "static", "--secret", "token",
        stdin="second-token-0001\n", prefix=prefix,
    )  # fmt: skip
    assert_error(result, 1)
    assert result.err == (
        f"token-vault: error: cannot write {path}: Permission denied; it was left as it was\n"
    )
    assert path.read_bytes() == before
    assert _orphans(read_only_home) == []  # the new secret was taken back

    result = run_cli(user, "import", str(REPO / "pyproject.toml"), prefix=prefix)
    assert result.code == 2  # not an export: refused before anything is written


def test_an_unreadable_vault_file(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    path = cli.home / "accounts.json"
    os.chmod(path, 0o000)
    try:
        result = run_cli(quiet(cli), "list", prefix=obeying_file_modes())
    finally:
        os.chmod(path, 0o600)
    assert_error(result, 1)
    assert result.err == f"token-vault: error: cannot read {path}: Permission denied\n"


@pytest.mark.parametrize("command", [("list",), ("token", "api"), ("add", "x")])
def test_a_named_pipe_for_the_vault_file(cli: Cli, command: tuple[str, ...]) -> None:
    """A named pipe where accounts.json should be (a hung file): every command once waited
    for ever for a writer; now each says what it found, at once."""
    cli.home.mkdir(mode=0o700, exist_ok=True)
    path = cli.home / "accounts.json"
    os.mkfifo(path, 0o600)
    args = (
        (*command, "--provider", "static", "--secret", "token") if command[0] == "add" else command
    )
    result = quiet(cli)(*args, stdin="tok-0001\n", timeout=30)
    assert_error(result, 1)
    assert (
        result.err == f"token-vault: error: cannot read {path}: a named pipe, not a regular file\n"
    )


def test_an_add_on_a_full_disk_takes_its_secret_back(cli: Cli) -> None:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    path = cli.home / "accounts.json"
    before = path.read_bytes()
    result = run_cli(
        quiet(cli), "add", "second", "--provider", "static", "--secret", "token",
        stdin="second-token-0001\n", preexec=file_size_limit(64),
    )  # fmt: skip
    assert_error(result, 1)
    assert result.err == (
        f"token-vault: error: cannot write {path}: File too large; it was left as it was\n"
    )
    assert path.read_bytes() == before
    assert _orphans(cli.home) == []
    assert not [p for p in cli.home.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def oauth() -> Iterator[OAuth2Fake]:
    with OAuth2Fake(access_lifetime=600) as fake:
        fake.add_client("cli-client", "cli-secret-0001")
        fake.add_user("bob", "bob-password-0001")
        yield fake


def test_a_refresh_on_a_full_disk_keeps_the_rotated_tokens(cli: Cli, oauth: OAuth2Fake) -> None:
    """The refresh token rotates at the server, the metadata write fails: the new tokens are
    served (exit 0, one warning), and the next refresh presents the rotated refresh token,
    never the one before (the fake's reuse detection would revoke the whole family)."""
    initial = oauth.issue_refresh_token("cli-client", "bob")
    assert_ok(
        cli(
            "add", "rt", "--provider", "oauth2", "--set", f"token_url={oauth.token_url}",
            "--set", "grant=refresh_token", "--set", "client_id=cli-client",
            "--secret", "client_secret", "--secret", "refresh_token",
            stdin=f"cli-secret-0001\n{initial}\n",
        )
    )  # fmt: skip
    user = quiet(cli)
    generation = AccountStore(cli.home).load().find("rt").generation

    result = run_cli(user, "token", "rt", "--force-refresh", preexec=file_size_limit(64))

    assert result.code == 0, result.err
    served = result.out.strip()
    assert oauth.is_active(served)
    [warning] = result.err.splitlines()
    assert warning.startswith(
        "token-vault: warning: rt: the change reached the keyring but could not be recorded "
        f"(cannot write {cli.home / 'accounts.json'}: File too large"
    ), warning
    assert AccountStore(cli.home).load().find("rt").generation == generation
    assert assert_ok(user("token", "rt")).out.strip() == served  # adopted from the keyring

    assert_ok(user("refresh", "rt"))
    assert oauth.reuses == []
    assert AccountStore(cli.home).load().find("rt").generation == generation + 2
    assert _orphans(cli.home) == []


def test_a_full_tmpfs(cli: Cli, tmp_path: Path) -> None:
    """ENOSPC from a real file system: a tiny tmpfs in a private mount namespace."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root (the keyring's D-Bus checks the caller's uid)")
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    mount = tmp_path / "small"
    mount.mkdir()
    script = (
        'set -e; mount -t tmpfs -o size=64k tmpfs "$1"; cp -a "$2" "$1/vault"; '
        # Without a backup to replace (which would free a page), then full to the last page.
        'rm -f "$1/vault/accounts.json.bak"; '
        'head -c 60k /dev/zero > "$1/filler" 2>/dev/null || true; '
        'export TOKEN_VAULT_HOME="$1/vault"; shift 2; exec "$@"'
    )
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    env = quiet(cli).env
    proc = subprocess.run(
        [
            "unshare", "-rm", "sh", "-c", script, "sh", str(mount), str(cli.home),
            sys.executable, "-m", "vault_app", "add", "second", "--provider", "static",
            "--secret", "token",
        ],
        input="second-token-0001\n", capture_output=True, text=True, env=env, cwd=REPO,
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (
        f"token-vault: error: cannot write {mount}/vault/accounts.json: No space left on "
        "device; it was left as it was\n"
    )
    assert _orphans(cli.home) == []  # the keyring is outside the namespace: checked here
    assert [a.name for a in AccountStore(cli.home).load().accounts] == ["api"]


def test_export_to_a_folder_that_cannot_be_written(cli: Cli, tmp_path: Path) -> None:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    result = run_cli(quiet(cli), "export", str(folder / "out.json"), prefix=obeying_file_modes())
    assert_error(result, 1)
    assert result.err == f"token-vault: error: cannot write {folder}/out.json: Permission denied\n"
    missing = tmp_path / "no" / "such" / "out.json"
    result = quiet(cli)("export", str(missing))
    assert result.err == f"token-vault: error: cannot write {missing}: No such file or directory\n"


def test_exec_of_something_that_is_not_a_program(cli: Cli, tmp_path: Path) -> None:
    assert_ok(add_static(cli, "api", make_jwt(3600)))
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF-not-really")
    junk.chmod(0o755)
    result = quiet(cli)("exec", "api", "--", str(junk))
    assert result.code == 126
    assert result.err == f"token-vault: error: cannot run {junk}: Exec format error\n"


def test_a_reader_that_goes_away_ends_quietly(cli: Cli) -> None:
    """`token-vault list | head -1`, with the pipe closed before anything is written."""
    for i in range(3):
        assert_ok(add_static(cli, f"api{i}", make_jwt(3600)))
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vault_app", "list"],
            stdout=write, stderr=subprocess.PIPE, env=quiet(cli).env, cwd=REPO, timeout=60,
            check=False,
        )  # fmt: skip
    finally:
        os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == b""
