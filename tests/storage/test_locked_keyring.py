"""A locked keyring gives exit 6 and one clear line, never a hang: the pitfall of a login
keyring created with another password (DESIGN.md section 9), reproduced in a nested session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = r"""
set -eu
printf 'first-password' | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >/dev/null 2>&1 &
first=$!
sleep 0.5
printf 'tok-locked-keyring-0001\n' | "$PY" -m vault_app add acct --provider static --secret token
kill $first; wait $first 2>/dev/null || true
# Same keyring files, another password: the login keyring stays locked.
printf 'another-password' | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >/dev/null 2>&1 &
second=$!
sleep 0.5
set +e
"$PY" -m vault_app token acct
echo "exit=$?"
kill $second
"""


def _run_locked(tmp_path: Path, display: str | None) -> tuple[str, str, float]:
    if shutil.which("dbus-run-session") is None or shutil.which("gnome-keyring-daemon") is None:
        pytest.fail(
            "dbus-run-session and gnome-keyring-daemon are needed (scripts/test installs them)"
        )
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env.update(
        {
            "PY": sys.executable,
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_RUNTIME_DIR": str(tmp_path / "run"),
            "TOKEN_VAULT_HOME": str(tmp_path / "vault"),
            "TOKEN_VAULT_KEYRING_TIMEOUT": "3",
        }
    )
    if display:
        env["DISPLAY"] = display
    for folder in ("data", "run"):
        (tmp_path / folder).mkdir(mode=0o700)
    started = time.monotonic()
    proc = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    return proc.stdout, proc.stderr, time.monotonic() - started


def _token_error(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("token-vault:")]


def test_locked_keyring_without_prompt_host(tmp_path: Path, secret_service: None) -> None:
    out, err, _ = _run_locked(tmp_path, display=None)
    assert "added acct" in out
    assert "exit=6" in out
    assert _token_error(err) == [
        "token-vault: error: the keyring is locked: unlock it (e.g. log in to the desktop "
        "session) and try again"
    ]


def test_unlock_prompt_nobody_answers(tmp_path: Path, secret_service: None) -> None:
    """With a display the unlock prompt opens and waits; the CLI gives up after its timeout."""
    display = os.environ.get("DISPLAY")
    if not display:
        pytest.skip("needs the Xvfb display of scripts/test")
    out, err, elapsed = _run_locked(tmp_path, display=display)
    assert "exit=6" in out
    errors = _token_error(err)
    assert len(errors) == 1
    assert errors[0] == (
        "token-vault: error: the keyring did not answer within 3 s (locked, or waiting on an "
        "unlock prompt?)"
    )
    assert elapsed < 40
