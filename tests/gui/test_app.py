"""The running app: the window appears before any keyring read, one instance per vault, and
without a tray closing quits (quitting with something stuck: test_quit.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import REPO
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


def _deep(path: Path) -> None:
    depth = 200_000  # deeper than any JSON parser's recursion limit
    path.write_text('{"schema": 1, "vault_id": "v", "settings": ' + "[" * depth + "]" * depth + "}")


def _fifo(path: Path) -> None:
    os.mkfifo(path, 0o600)  # no writer ever comes: a plain open() waits for ever


@pytest.mark.parametrize("damage", [_deep, _fifo], ids=["nested-200k-deep", "named-pipe"])
def test_a_damaged_metadata_file_still_opens_the_window(
    vault_home: Path, damage: Callable[[Path], None]
) -> None:
    """The settings read before the window opens meet the file first: a nesting too deep
    for Python's json (RecursionError) or a pipe in the file's place must neither kill nor
    freeze the launch; the window opens and says what is wrong with the file."""
    vault_home.mkdir(mode=0o700, exist_ok=True)
    path = vault_home / "accounts.json"
    damage(path)
    if path.is_file():
        path.chmod(0o600)
    env = dict(os.environ, TOKEN_VAULT_HOME=str(vault_home), QT_QPA_PLATFORM="xcb")
    app = _launch(env)
    try:
        _wait_for_window(app)
    finally:
        app.terminate()
        _, err = app.communicate(timeout=10)
    assert "Traceback" not in err


def test_a_first_paint_file_that_cannot_be_written(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$TOKEN_VAULT_FIRST_PAINT (the start-up benchmark's hook) naming a file that cannot be
    written: the error once left the paint event filter (a Qt virtual) and the launch never
    heard of the first paint."""
    from PySide6.QtWidgets import QLabel

    from vault_app.gui import first_paint

    monkeypatch.setenv(first_paint.ENV, str(tmp_path / "missing-folder" / "paint.txt"))
    widget = QLabel("first paint")
    qtbot.addWidget(widget)
    painted: list[bool] = []
    first_paint.watch(widget, lambda: painted.append(True))
    widget.show()
    qtbot.waitUntil(lambda: painted == [True], timeout=10_000)
