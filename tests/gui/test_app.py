"""The running app: the window appears before any keyring read, SIGTERM quits within 5 s
even with a keyring call stuck, one instance per vault, and without a tray closing quits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from tests.conftest import REPO
from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.model import Account, Status
from vault_app.core.vault import Vault
from vault_app.gui.app import App
from vault_app.gui.single_instance import SingleInstance


def _titles() -> str:
    return subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=10, check=False
    ).stdout


def _launch(env: dict[str, str]) -> subprocess.Popen[str]:
    """`token-vault` with no command, as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "vault_app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_window(app: subprocess.Popen[str], deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while '"Token Vault"' not in _titles():
        assert app.poll() is None, app.communicate()
        assert time.monotonic() < end, "no Token Vault window"
        time.sleep(0.1)


def _due_account(home: Path) -> None:
    """An account whose token is due now, so the engine goes straight to the keyring."""
    now = time.time()

    def add(doc: VaultDoc) -> None:
        doc.accounts.append(
            Account(
                id="stuck",
                name="stuck",
                provider="oauth2",
                fields={"token_url": "https://auth.example.com/token"},
                status=Status.OK,
                access_expires_at=now + 5,
                last_refresh_at=now - 600,
                generation=1,
            )
        )

    AccountStore(home).update(add)


def test_sigterm_quits_within_5_s_with_a_stuck_keyring_call(vault_home: Path) -> None:
    _due_account(vault_home)
    env = dict(
        os.environ,
        TOKEN_VAULT_HOME=str(vault_home),
        QT_QPA_PLATFORM="xcb",
        PYTHON_KEYRING_BACKEND="tests.gui.stuck_keyring.StuckKeyring",
        TOKEN_VAULT_LOG="DEBUG",
    )
    app = _launch(env)
    try:
        _wait_for_window(app)
        time.sleep(1.0)  # the engine is now waiting on the stuck keyring thread
        started = time.monotonic()
        app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if app.poll() is None:
            app.kill()
        _, err = app.communicate()
    assert code == 0, err[-2000:]
    assert elapsed < 5, f"quit took {elapsed:.1f} s"
    assert "Traceback" not in err


def test_second_launch_raises_the_first(qtbot: QtBot, vault_home: Path) -> None:
    first = SingleInstance(vault_home)
    assert first.listen()
    second = SingleInstance(vault_home)
    with qtbot.waitSignal(first.show_requested, timeout=5000):
        assert second.notify_running()
    other_vault = SingleInstance(vault_home.parent / "another-vault")
    assert not other_vault.notify_running()
    first.close()


def test_without_a_tray_closing_the_window_quits(
    qtbot: QtBot, memory_vault: Vault, run: Any
) -> None:
    app = App(memory_vault, minimized=True)
    qtbot.addWidget(app.window)
    assert app.tray is None  # bare Xvfb: no tray host
    assert not app.window.hide_to_tray
    app.show()
    qtbot.waitExposed(app.window)  # --minimized is ignored when there is no tray to hide in
    with qtbot.waitSignal(app.window.quit_requested, timeout=2000):
        app.window.close()
    run(app.shutdown())


def test_no_command_opens_the_window(vault_home: Path) -> None:
    env = dict(os.environ, TOKEN_VAULT_HOME=str(vault_home), QT_QPA_PLATFORM="xcb")
    app = _launch(env)
    try:
        _wait_for_window(app)
    finally:
        app.terminate()
        _, err = app.communicate(timeout=10)
    assert "Traceback" not in err
    # Opening the window reads no secret and creates no vault file.
    assert not (vault_home / "accounts.json").exists()
