"""`token-vault` with no command opens the window on the X display."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO


def _window_titles() -> str:
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=10, check=False
    )
    return tree.stdout


def test_no_command_opens_the_window(vault_home: Path) -> None:
    env = dict(os.environ, TOKEN_VAULT_HOME=str(vault_home), QT_QPA_PLATFORM="xcb")
    app = subprocess.Popen(
        [sys.executable, "-m", "vault_app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while '"Token Vault"' not in _window_titles():
            assert app.poll() is None, app.communicate()
            assert time.monotonic() < deadline, "no Token Vault window within 30 s"
            time.sleep(0.1)
    finally:
        app.terminate()
        _, err = app.communicate(timeout=10)
    assert "Traceback" not in err
    # Opening the window reads no secret and creates no vault file.
    assert not (vault_home / "accounts.json").exists()
