"""`token NAME` for a valid stored token: one keyring read, no network stack, no Qt, no event
loop; on the Secret Service not even keyring's backend discovery (core/fast_read.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, Cli

HEAVY = ("PySide6", "shiboken6", "qasync", "httpx", "httpcore", "jwt", "asyncio", "filelock")


def _add_static(cli: Cli, name: str, token: str) -> None:
    assert (
        cli("add", name, "--provider", "static", "--secret", "token", stdin=token + "\n").code == 0
    )


def _token_imports(cli: Cli, name: str) -> tuple[str, set[str]]:
    """What `token NAME` printed, and the top-level packages it imported (`-X importtime`)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vault_app", "token", name],
        capture_output=True,
        text=True,
        env=cli.env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return proc.stdout, imported


def test_valid_token_loads_no_network_or_qt(cli: Cli) -> None:
    _add_static(cli, "fast", "fast-path-token-0001")
    out, imported = _token_imports(cli, "fast")
    assert out == "fast-path-token-0001\n"
    assert "secretstorage" in imported  # the parse works: the keyring was read
    assert sorted(imported.intersection(HEAVY)) == []
    # `add` resolved the keyring through keyring and noted that a direct read is possible.
    assert (cli.home / "keyring-backend").read_text() == "SecretService\n"
    assert "keyring" not in imported


def test_without_the_hint_keyring_reads_it(cli: Cli) -> None:
    _add_static(cli, "k", "tok-k-0001")
    (cli.home / "keyring-backend").unlink()
    out, imported = _token_imports(cli, "k")
    assert out == "tok-k-0001\n"
    assert "keyring" in imported


def test_an_explicit_backend_choice_is_honoured(cli: Cli) -> None:
    _add_static(cli, "k", "tok-k-0002")
    cli.env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    out, imported = _token_imports(cli, "k")
    assert out == "tok-k-0002\n"
    assert "keyring" in imported


def test_a_stale_hint_falls_back_to_keyring(cli: Cli) -> None:
    """The items are not where the hint says (say the keyring changed): keyring finds them."""
    _add_static(cli, "k", "tok-k-0003")
    import keyring

    doc = json.loads((cli.home / "accounts.json").read_text())
    account = doc["accounts"][0]
    service = f"token-vault:{doc['vault_id']}"
    key = f"{account['id']}:{account['generation']}"
    value = keyring.get_password(service, key)
    assert value is not None
    keyring.delete_password(service, key)
    try:
        result = cli("token", "k")
        assert result.code != 0  # gone for real: the full path says so
        assert "missing" in result.err or "sign-in" in result.err
    finally:
        keyring.set_password(service, key, value)
    assert cli("token", "k").out == "tok-k-0003\n"


@pytest.mark.parametrize("damage", ["non-ascii", "named-pipe", "folder", "huge"])
def test_a_damaged_hint_only_costs_the_speed_up(cli: Cli, damage: str) -> None:
    """The hint file is the user's to delete or edit: a byte that is not ASCII once ended
    `token` with an internal UnicodeDecodeError, and a named pipe in its place blocked it
    for ever. Either way, keyring reads the token."""
    _add_static(cli, "k", "tok-k-0004")
    hint = cli.home / "keyring-backend"
    hint.unlink()
    if damage == "non-ascii":
        hint.write_bytes(b"Secr\xe9tService\n")
    elif damage == "named-pipe":
        os.mkfifo(hint, 0o600)
    elif damage == "folder":
        hint.mkdir()
    else:
        hint.write_bytes(b"SecretService" + b" " * (1 << 20))
    result = cli("token", "k", timeout=30)
    assert (result.code, result.out) == (0, "tok-k-0004\n"), result.err[-500:]
    assert "Traceback" not in result.err and "internal error" not in result.err
