"""Add/Edit from the field schema, and Settings saved in the metadata file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from tests.gui.conftest import until
from vault_app.core.model import Status
from vault_app.core.vault import Vault
from vault_app.gui.account_dialog import AccountDialog
from vault_app.gui.main_window import MainWindow
from vault_app.gui.settings_dialog import SettingsDialog
from vault_app.system.desktop_entry import XdgAutostartWriter
from vault_app.system.launcher import APP_ID


def _visible(dialog: AccountDialog) -> list[str]:
    return [name for row, name in enumerate(dialog.editors) if dialog.form.isRowVisible(row)]


def test_add_dialog_follows_the_schema_and_the_grant(qtbot: QtBot) -> None:
    dialog = AccountDialog()
    qtbot.addWidget(dialog)
    kinds = [dialog.kind.itemData(i) for i in range(dialog.kind.count())]
    dialog.kind.setCurrentIndex(kinds.index("oauth2"))
    assert "private_key" not in _visible(dialog)
    assert "password" not in _visible(dialog)
    dialog.editors["grant"].set_value("jwt_bearer")
    assert {"private_key", "certificate", "assertion_sub"} <= set(_visible(dialog))
    dialog.editors["grant"].set_value("password")
    assert {"username", "password"} <= set(_visible(dialog))
    secret = dialog.editors["client_secret"].line
    assert isinstance(secret, QLineEdit)
    assert secret.echoMode() == QLineEdit.EchoMode.Password

    dialog.name.setText("api")
    dialog.editors["token_url"].set_value("http://auth.example.com/token")
    assert "plain http is only allowed to loopback" in dialog.problem.text()
    assert not dialog.sign_in.isEnabled()
    dialog.editors["token_url"].set_value("https://auth.example.com/token")
    assert dialog.problem.text() == ""
    assert dialog.sign_in.isEnabled()


def test_sign_in_shows_the_outcome_without_closing(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    window.open_add()
    dialog = next(d for d in window._dialogs if isinstance(d, AccountDialog))
    kinds = [dialog.kind.itemData(i) for i in range(dialog.kind.count())]
    dialog.kind.setCurrentIndex(kinds.index("static"))
    dialog.name.setText("key")
    dialog.editors["token"].set_value("static-token-from-dialog-1")
    dialog.sign_in.click()
    run(until(lambda: "Signed in" in dialog.outcome.text()))
    assert dialog.isVisible()
    account = memory_vault.load().find("key")
    assert account.status is Status.OK
    assert window.model.account(account.id) is not None
    # A second press now edits the same account instead of adding another.
    dialog.editors["scheme"].set_value("Token")
    dialog.sign_in.click()
    run(until(lambda: memory_vault.load().find("key").fields.get("scheme") == "Token"))
    assert len(memory_vault.load().accounts) == 1
    dialog.close()


def test_settings_are_saved_in_the_vault_file(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    saved = run(
        window.adapter.save_settings({"clipboard_seconds": 45, "refresh_ahead_fraction": 0.4})
    )
    window.apply_settings(saved)
    assert memory_vault.load().settings["clipboard_seconds"] == 45
    assert window.adapter.engine.settings.ahead_fraction == 0.4
    assert window.settings["clipboard_seconds"] == 45


def test_autostart_from_settings_writes_and_removes_the_xdg_entry(
    window: MainWindow, run: Any, tmp_path: Path, qtbot: QtBot
) -> None:
    entry = tmp_path / "config" / "autostart" / f"{APP_ID}.desktop"
    window.adapter.autostart = XdgAutostartWriter(entry)
    window.open_settings()
    dialog = next(d for d in window._dialogs if isinstance(d, SettingsDialog))
    assert dialog.autostart.isEnabled() and not dialog.autostart.isChecked()
    dialog.autostart.setChecked(True)
    dialog.accept()
    run(until(entry.exists))
    assert "--minimized" in next(
        line for line in entry.read_text().splitlines() if line.startswith("Exec=")
    )
    run(until(lambda: window.settings.get("autostart") is True))

    entry.unlink()  # removed by hand: the dialog shows what the system will do, not the file
    window.open_settings()
    dialog = [d for d in window._dialogs if isinstance(d, SettingsDialog)][-1]
    assert not dialog.autostart.isChecked()
    dialog.autostart.setChecked(True)
    dialog.accept()
    run(until(entry.exists))
    window.open_settings()
    dialog = [d for d in window._dialogs if isinstance(d, SettingsDialog)][-1]
    assert dialog.autostart.isChecked()
    dialog.autostart.setChecked(False)
    dialog.accept()
    run(until(lambda: not entry.exists()))
    run(until(lambda: window.settings.get("autostart") is False))


def test_autostart_that_cannot_be_written_is_reported(
    window: MainWindow, run: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("a file where the autostart folder should be")
    window.adapter.autostart = XdgAutostartWriter(blocker / "autostart" / f"{APP_ID}.desktop")
    messages: list[str] = []
    window.adapter.error.connect(messages.append)
    window.adapter.spawn(window.adapter.save_settings({"autostart": True, "clipboard_seconds": 9}))
    run(until(lambda: bool(messages)))
    assert messages[0].startswith("Settings saved, but autostart could not be turned on: ")
    assert "\n" not in messages[0]
    assert window.adapter.vault.load().settings["clipboard_seconds"] == 9
    assert window.adapter.vault.load().settings["autostart"] is False


def test_autostart_is_not_offered_without_a_writer(window: MainWindow) -> None:
    """The demo passes none: it changes nothing on the computer."""
    window.open_settings()
    dialog = next(d for d in window._dialogs if isinstance(d, SettingsDialog))
    assert not dialog.autostart.isEnabled()
    assert "autostart" not in dialog.values()
