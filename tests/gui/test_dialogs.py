"""Add / Edit / Sign in against a real vault (in-memory keyring) and real loopback servers:
the form follows the schema and the grant, speaks the user's words, keeps nothing a failed
first sign-in did not earn (unless "Save anyway"), closes on success, stores a bare key's
empty scheme, walks Tab in layout order, and the sign-in form focuses the field to replace.
Settings are saved in the metadata file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from tests.fakes.certs import make_key_and_cert
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.gui.conftest import jwt_for, until
from vault_app.core.model import Account, Status
from vault_app.core.vault import Vault
from vault_app.gui import account_dialog
from vault_app.gui.account_dialog import (
    AccountDialog,
    SignInAction,
    SignInRequest,
    register_sign_in_action,
    sample_for_screenshot,
)
from vault_app.gui.main_window import MainWindow
from vault_app.gui.settings_dialog import SettingsDialog
from vault_app.gui.show_dialog import ShowDialog
from vault_app.system.desktop_entry import XdgAutostartWriter
from vault_app.system.launcher import APP_ID


def _choose(dialog: AccountDialog, kind: str) -> None:
    dialog.kind.setCurrentIndex(dialog.kind.findData(kind))


def _open_add(window: MainWindow) -> AccountDialog:
    window.open_add()
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    assert dialog.isVisible()
    return dialog


def _closed(dialog: QWidget) -> bool:
    """Closed: the window's dialogs delete themselves on close."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def _line(dialog: AccountDialog, name: str) -> QLineEdit:
    line = dialog.editors[name].line
    assert line is not None
    return line


def _add_with_wrong_secret(window: MainWindow, fake: OAuth2Fake, name: str) -> AccountDialog:
    """The Add dialog for an oauth2 account `name` of `fake`'s client "gui", sent with a
    wrong client secret."""
    dialog = _open_add(window)
    _choose(dialog, "oauth2")
    dialog.name.setText(name)
    _line(dialog, "token_url").setText(fake.token_url)
    _line(dialog, "client_id").setText("gui")
    _line(dialog, "client_secret").setText("wrong-secret-0001")
    dialog.sign_in.click()
    return dialog


def _type(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """As a person types: key by key, then moving on (focus out)."""
    qtbot.keyClicks(widget, text)
    if isinstance(widget, QLineEdit):
        widget.editingFinished.emit()


def test_add_dialog_follows_the_schema_and_the_grant(qtbot: QtBot) -> None:
    dialog = AccountDialog()
    qtbot.addWidget(dialog)
    _choose(dialog, "oauth2")
    assert "private_key" not in dialog.shown_fields()
    assert "password" not in dialog.shown_fields()
    dialog.editors["grant"].set_value("jwt_bearer")
    assert {"private_key", "certificate", "assertion_sub"} <= set(dialog.shown_fields())
    dialog.editors["grant"].set_value("password")
    assert {"username", "password"} <= set(dialog.shown_fields())
    assert _line(dialog, "client_secret").echoMode() == QLineEdit.EchoMode.Password


def test_grant_specific_fields_are_marked_needed(qtbot: QtBot) -> None:
    dialog = AccountDialog()
    qtbot.addWidget(dialog)
    _choose(dialog, "oauth2")

    def label(name: str) -> str:
        widget = dialog.form.labelForField(dialog.editors[name])
        assert isinstance(widget, QLabel)
        return widget.text()

    assert dialog.needed_fields() == ["token_url", "client_id", "client_secret"]
    assert label("client_secret") == "Client secret *"
    dialog.editors["grant"].set_value("password")
    assert dialog.needed_fields() == ["token_url", "client_id", "username", "password"]
    assert label("client_secret") == "Client secret"
    dialog.editors["client_auth"].set_value("none")  # a public client needs no client_id
    assert dialog.needed_fields() == ["token_url", "username", "password"]
    assert label("client_id") == "Client ID"
    dialog.editors["grant"].set_value("jwt_bearer")
    assert {"private_key", "certificate", "assertion_sub", "client_id"} <= set(
        dialog.needed_fields()
    )


def test_no_messages_before_anything_is_typed_then_the_users_words(qtbot: QtBot) -> None:
    dialog = AccountDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    _choose(dialog, "oauth2")
    assert dialog.problem.isHidden() and dialog.outcome.isHidden()
    assert dialog.sign_in.isEnabled()

    _type(qtbot, _line(dialog, "token_url"), "http://auth.example.com/token")
    assert dialog.problem.text() == (
        "Token URL: plain http is only allowed to loopback; use https://auth.example.com."
    )
    _line(dialog, "token_url").setText("https://auth.example.com/token")
    assert dialog.problem.isHidden()

    # "auto" client authentication with nothing filled in: say what to fill in, by label.
    dialog.name.setText("api")
    dialog.sign_in.click()
    assert dialog.problem.text() == "Fill in Client ID and Client secret."
    assert "client_auth" not in dialog.problem.text()
    assert dialog.focusWidget() is _line(dialog, "client_id")
    assert dialog.outcome.isHidden()  # nothing was attempted

    _choose(dialog, "static")
    _type(qtbot, _line(dialog, "expires_at"), "next tuesday")
    assert dialog.problem.text().startswith("Expires at: not an ISO date")
    assert "expires_at" not in dialog.problem.text()


def test_a_successful_add_closes_and_the_window_shows_the_account(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    dialog = _open_add(window)
    _choose(dialog, "static")
    dialog.name.setText("key")
    _line(dialog, "token").setText(jwt_for(3600))
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)))
    account = memory_vault.load().find("key")
    assert account.status is Status.OK
    assert window.model.account(account.id) is not None
    assert window.selected_id() == account.id


def test_a_failed_first_sign_in_keeps_nothing_until_save_anyway(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake() as fake:
        fake.add_client("gui", "right-secret-0001")
        dialog = _add_with_wrong_secret(window, fake, "svc")
        run(until(lambda: not dialog.outcome.isHidden() and dialog.sign_in.isEnabled()))
        text = dialog.outcome.text()
        assert text.startswith("Could not sign in, so svc was not added: ")
        assert "invalid_client" in text and "Enter a new Client secret" in text
        assert "Save anyway" in text
        assert memory_vault.load().accounts == []  # nothing stayed behind
        assert window.model.rowCount() == 0
        assert dialog.windowTitle() == "Add account"
        assert not dialog.name.isReadOnly() and dialog.kind.isEnabled()
        assert dialog.focusWidget() is _line(dialog, "client_secret")

        assert dialog.save_anyway.isVisible()
        dialog.save_anyway.click()
        run(until(lambda: _closed(dialog)))
        account = memory_vault.load().find("svc")
        assert account.status is Status.SIGN_IN_NEEDED
        assert account.last_error is not None and "invalid_client" in account.last_error
        assert window.model.account(account.id) is not None
        assert len(fake.requests_to("/token")) == 1  # "Save anyway" does not try again


def test_after_a_failure_rename_and_provider_switch_just_work(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    errors: list[str] = []
    window.adapter.unexpected.connect(errors.append)
    with OAuth2Fake() as fake:
        fake.add_client("gui", "right-secret-0001")
        dialog = _add_with_wrong_secret(window, fake, "first")
        run(until(lambda: dialog.save_anyway.isVisible()))
        dialog.name.setText("renamed")
        assert not dialog.save_anyway.isVisible()  # it would keep what failed, not this
        _choose(dialog, "static")  # "alor has no field 'base_url'" was an internal error
        _line(dialog, "token").setText(jwt_for(3600))
        dialog.sign_in.click()
        run(until(lambda: _closed(dialog)))
    assert [a.name for a in memory_vault.load().accounts] == ["renamed"]
    assert memory_vault.load().find("renamed").provider == "static"
    assert errors == []


def test_edit_keeps_name_and_provider_and_says_what_it_saved(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    account, _ = run(memory_vault.add("key", "static", {}, {"token": jwt_for(3600)}))
    window.open_edit(account)
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    assert dialog.windowTitle() == "Edit key"
    assert dialog.name.isReadOnly() and not dialog.kind.isEnabled()
    assert dialog.sign_in.text() == "Save and sign in"
    _line(dialog, "token").setText(jwt_for(-60))  # an expired key
    dialog.sign_in.click()
    run(until(lambda: not dialog.outcome.isHidden() and dialog.sign_in.isEnabled()))
    text = dialog.outcome.text()
    assert text.startswith("Your changes to key were saved, but signing in failed: ")
    assert "Enter a new Token" in text
    # A GUI user is never told to run a command.
    assert "--secret" not in text and "edit NAME" not in text and "edit key" not in text
    assert dialog.focusWidget() is _line(dialog, "token")
    _line(dialog, "token").setText(jwt_for(3600))
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)))
    assert memory_vault.load().find("key").status is Status.OK


def test_static_without_scheme_stores_empty_and_copies_the_bare_header(
    window: MainWindow, run: Any, memory_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []  # what Show hands to the window's secret-marked copy
    monkeypatch.setattr(window, "copy_text", copied.append)
    dialog = _open_add(window)
    _choose(dialog, "static")
    dialog.name.setText("apikey")
    scheme = dialog.editors["scheme"]
    assert scheme.value() == "Bearer"  # a real value, not a grey placeholder
    _line(dialog, "header_name").setText("X-Api-Key")
    _line(dialog, "token").setText("abc123")
    assert dialog.preview is not None
    assert dialog.preview.text() == "X-Api-Key: Bearer ••••••••"
    assert scheme.none_box is not None
    scheme.none_box.setChecked(True)  # "None: send the key alone"
    assert dialog.preview.text() == "X-Api-Key: ••••••••"
    dialog.editors["token"].reveal.click()  # type: ignore[union-attr]
    assert dialog.preview.text() == "X-Api-Key: abc123"
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)))
    account = memory_vault.load().find("apikey")
    assert account.fields["scheme"] == ""

    window._open_show(account)
    show = [d for d in window._dialogs if isinstance(d, ShowDialog)][-1]
    run(until(lambda: show.tokens is not None))
    assert not show.copy_buttons["bearer"].isVisible()  # no scheme: the token alone
    show.copy_buttons["header"].click()
    run(until(lambda: copied == ["X-Api-Key: abc123"]))
    show.close()


def _walk_tab(dialog: QWidget, start: QWidget, steps: int) -> list[QWidget]:
    seen = [start]
    start.setFocus()
    for _ in range(steps):
        current = dialog.focusWidget()
        assert current is not None
        QTest.keyClick(current, Qt.Key.Key_Tab)
        after = dialog.focusWidget()
        assert after is not None
        seen.append(after)
    return seen


def _top_left(dialog: QWidget, widget: QWidget) -> tuple[int, int]:
    point = widget.mapTo(dialog, widget.rect().topLeft())
    return point.y(), point.x()


def test_tab_follows_the_layout_and_pem_fields_pass_it_on(qtbot: QtBot) -> None:
    dialog = sample_for_screenshot("oauth2", "jwt_bearer")
    qtbot.addWidget(dialog)
    dialog.resize(700, 2000)  # everything on screen: the order is read from positions
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(700, 2000)
    QApplication.processEvents()
    focusable = [
        w
        for w in dialog.findChildren(QWidget)
        if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]
    order = _walk_tab(dialog, dialog.name, len(focusable) - 1)
    assert len(set(order)) == len(focusable), "Tab missed or repeated a widget"
    fields = [w for w in order if w not in dialog.buttons.buttons()]
    rows = [_top_left(dialog, w) for w in fields]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows), "Tab jumped up the form"
    # The buttons come last, left to right.
    buttons = order[len(fields) :]
    assert buttons == sorted(buttons, key=lambda b: b.mapTo(dialog, b.rect().topLeft()).x())
    assert dialog.sign_in in buttons and dialog.close_button in buttons
    assert order[:4] == [
        dialog.name,
        dialog.kind,
        _line(dialog, "issuer"),
        _line(dialog, "token_url"),
    ]
    order[2].setFocus()
    QTest.keyClick(order[2], Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert dialog.focusWidget() is dialog.kind

    key = dialog.editors["private_key"]
    assert key.text is not None and key.reveal is not None
    key.reveal.click()  # shown to type into
    key.text.setPlainText("-----BEGIN PRIVATE KEY-----")
    key.text.setFocus()
    QTest.keyClick(key.text, Qt.Key.Key_Tab)
    assert key.text.toPlainText() == "-----BEGIN PRIVATE KEY-----"  # no tab swallowed
    assert dialog.focusWidget() is not key.text
    assert dialog.focusWidget() is key.buttons[0]  # its Paste button


def test_return_signs_in_and_escape_closes(qtbot: QtBot) -> None:
    dialog = AccountDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    _choose(dialog, "static")
    QTest.keyClick(dialog.name, Qt.Key.Key_Return)  # the default button: Sign in
    assert dialog.problem.text() == "Fill in Name and Token."
    assert dialog.focusWidget() is dialog.name
    assert dialog.isVisible()
    dialog.name.setText("bad/name")
    QTest.keyClick(dialog.name, Qt.Key.Key_Return)
    assert dialog.problem.text().startswith("Name: no slashes")
    # Return on a focused helper button presses that button, not Sign in.
    show_token = dialog.editors["token"].reveal
    assert show_token is not None
    show_token.setFocus()
    QTest.keyClick(show_token, Qt.Key.Key_Space)
    assert show_token.isChecked()
    _choose(dialog, "oauth2")
    dialog.editors["grant"].set_value("jwt_bearer")
    paste = dialog.editors["private_key"].buttons[0]
    paste.setFocus()
    QTest.keyClick(paste, Qt.Key.Key_Return)
    # Pressing Sign in would have moved the cursor to the first field to fix.
    assert dialog.focusWidget() is paste
    QTest.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def _needs_sign_in(kind: str, fields: dict[str, str], secrets: list[str], error: str) -> Account:
    return Account(
        id="a1",
        name=f"{kind}-acct",
        provider=kind,
        fields=fields,
        status=Status.SIGN_IN_NEEDED,
        last_error=error,
        secret_fields=secrets,
    )


@pytest.mark.parametrize(
    ("kind", "fields", "secrets", "error", "focused"),
    [
        (
            "alor",
            {"environment": "production"},
            ["refresh_token"],
            "alor: refresh: rejected by oauth.alor.ru (HTTP 401: token revoked)",
            "refresh_token",
        ),
        (
            "traderevolution",
            {"base_url": "https://bo.example.com/api", "login": "trader"},
            ["password"],
            "traderevolution: sign-in: rejected by bo.example.com (HTTP 401: bad password)",
            "password",
        ),
        (
            "apirone",
            {"login": "wallet-1"},
            ["password"],
            "apirone: sign-in: rejected by apirone.com (HTTP 401)",
            "password",
        ),
        (
            "static",
            {"scheme": "Bearer"},
            ["token"],
            "static: the stored token expired at 2024-01-01 10:00 UTC: a new one is needed",
            "token",
        ),
        (
            "oauth2",
            {"token_url": "https://a.example.com/t", "grant": "client_credentials"},
            ["client_secret"],
            "oauth2: client_credentials grant: rejected by a.example.com (invalid_client: "
            "client authentication failed (check client_id, client_secret, client_auth))",
            "client_secret",
        ),
        (
            "oauth2",
            {"token_url": "https://a.example.com/t", "grant": "password", "username": "u"},
            ["password"],
            "oauth2: password grant: rejected by a.example.com (invalid_grant: the "
            "credentials or refresh token are invalid, expired or revoked)",
            "password",
        ),
        (
            "oauth2",
            {"token_url": "https://a.example.com/t", "grant": "refresh_token"},
            ["refresh_token"],
            "oauth2: refresh: rejected by a.example.com (invalid_grant: …)",
            "refresh_token",
        ),
        (
            "oauth2",
            {"token_url": "https://a.example.com/t", "grant": "jwt_bearer", "client_id": "c"},
            ["private_key", "certificate"],
            "oauth2: jwt_bearer grant: rejected by a.example.com (invalid_grant: bad assertion)",
            "private_key",
        ),
    ],
)
def test_for_sign_in_says_why_and_focuses_the_field_to_replace(
    qtbot: QtBot,
    kind: str,
    fields: dict[str, str],
    secrets: list[str],
    error: str,
    focused: str,
) -> None:
    account = _needs_sign_in(kind, fields, secrets, error)
    dialog = AccountDialog.for_sign_in(account, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    assert dialog.windowTitle() == f"Sign in to {account.name}"
    assert dialog.name.isReadOnly() and not dialog.kind.isEnabled()
    editor = dialog.editors[focused]
    assert dialog.focusWidget() is editor.focus_target()
    reason = dialog.reason.text()
    assert reason.startswith(f"{account.name} needs you to sign in again. ")
    assert f"{kind}: " not in reason  # the internal prefix is gone
    assert "--secret" not in reason and "edit NAME" not in reason
    assert editor.spec.label in reason
    assert not dialog.reason.isHidden()
    # The stored secret is kept unless replaced, and says so.
    line = editor.line
    if line is not None:
        assert line.text() == "" and "stored" in line.placeholderText()


def test_sign_in_with_a_new_secret_repairs_the_account(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake() as fake:
        fake.add_client("gui", "first-secret-0001")
        account, failure = run(
            memory_vault.add(
                "svc",
                "oauth2",
                {"token_url": fake.token_url, "client_id": "gui"},
                {"client_secret": "first-secret-0001"},
            )
        )
        assert failure is None
        fake.add_client("gui", "second-secret-0002")  # rotated at the server
        with pytest.raises(Exception, match="invalid_client"):
            run(memory_vault.force_refresh(account.id))
        account = memory_vault.load().find("svc")
        assert account.status is Status.SIGN_IN_NEEDED
        dialog = AccountDialog.for_sign_in(account, window)
        window._open_account_dialog(dialog)
        assert dialog.focusWidget() is _line(dialog, "client_secret")
        _line(dialog, "client_secret").setText("second-secret-0002")
        dialog.sign_in.click()
        run(until(lambda: _closed(dialog)))
        assert memory_vault.load().find("svc").status is Status.OK


def test_a_pem_file_that_cannot_be_used_is_said_in_words(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = sample_for_screenshot("oauth2", "jwt_bearer")
    qtbot.addWidget(dialog)
    binary = tmp_path / "key.der"
    binary.write_bytes(b"\x30\x82\xff\xfe" * 10)
    dialog.editors["private_key"].load_file(binary)
    assert dialog.problem.text() == "Private key: cannot use key.der: not a text (PEM) file."
    pem = make_key_and_cert()
    good = tmp_path / "key.pem"
    good.write_text(pem.key_pem)
    dialog.editors["private_key"].load_file(good)
    assert dialog.editors["private_key"].value() == pem.key_pem
    summary = dialog.editors["private_key"].summary
    assert summary is not None and summary.text().startswith("Set, hidden (")
    assert "PRIVATE KEY-----" not in summary.text().replace("BEGIN PRIVATE KEY", "")


# -- Settings (the window engineer's dialog; its tests have lived here) ---------------------


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


# -- the seam for interactive grants --------------------------------------------------------


class _WaitingAction(SignInAction):
    """Stands in for a browser sign-in: shows a waiting state and waits for the test."""

    button_text = "Sign in with browser"

    def __init__(self) -> None:
        self.requests: list[SignInRequest] = []
        self.cancelled = 0

    def start(self, dialog: AccountDialog, request: SignInRequest) -> None:
        self.requests.append(request)
        layout = dialog.action_area.layout()
        assert layout is not None
        layout.addWidget(QLabel("Waiting for the browser…"))
        dialog.action_area.setVisible(True)

    def cancel(self) -> None:
        self.cancelled += 1


def test_a_provider_and_grant_can_bring_its_own_sign_in(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = _WaitingAction()
    monkeypatch.setattr(account_dialog, "_ACTIONS", {})
    register_sign_in_action("oauth2", "password", lambda: action)
    dialog = AccountDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    _choose(dialog, "oauth2")
    assert dialog.sign_in.text() == "Sign in"
    dialog.editors["grant"].set_value("password")
    assert dialog.sign_in.text() == "Sign in with browser"
    dialog.name.setText("browser")
    _line(dialog, "token_url").setText("https://auth.example.com/token")
    _line(dialog, "client_id").setText("app")
    _line(dialog, "username").setText("me")
    _line(dialog, "password").setText("pw-0001")
    dialog.sign_in.click()
    assert [r.name for r in action.requests] == ["browser"]
    assert action.requests[0].fields["grant"] == "password"
    assert action.requests[0].secrets == {"password": "pw-0001"}
    assert dialog.action_area.isVisible() and not dialog.sign_in.isEnabled()
    dialog.reject()  # closed while waiting: the action is told
    assert action.cancelled == 1


def test_an_unexpected_error_ends_the_wait_and_says_so(window: MainWindow, run: Any) -> None:
    dialog = _open_add(window)

    async def broken() -> None:
        raise RuntimeError("a bug")

    dialog._set_working(True)
    window.adapter.spawn(broken(), None, dialog.failed)
    run(until(lambda: dialog.sign_in.isEnabled()))
    assert dialog.outcome.text().startswith("Could not add the account: Unexpected error: ")
    dialog.close()


def test_closing_while_signing_in_leaves_the_outcome_to_the_window(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    messages: list[str] = []
    bugs: list[str] = []
    window.adapter.error.connect(messages.append)
    window.adapter.unexpected.connect(bugs.append)
    with OAuth2Fake() as fake:
        fake.add_client("gui", "gui-secret-0001")
        fake.inject("/token", Fault.hang())  # answered only when the server stops
        dialog = _open_add(window)
        _choose(dialog, "oauth2")
        dialog.name.setText("svc")
        _line(dialog, "token_url").setText(fake.token_url)
        _line(dialog, "client_id").setText("gui")
        _line(dialog, "client_secret").setText("gui-secret-0001")
        dialog.sign_in.click()
        run(until(lambda: len(fake.requests_to("/token")) == 1))
        dialog.close()
        assert _closed(dialog)
    run(until(lambda: bool(messages)))
    assert messages[0].startswith("Signing in to svc failed, so it was not added: ")
    assert memory_vault.load().accounts == []
    assert bugs == []


@pytest.mark.parametrize("opener", ["open_edit", "open_sign_in"])
def test_an_account_of_a_provider_this_version_does_not_know_opens_no_wrong_form(
    window: MainWindow, opener: str
) -> None:
    """An account written by a newer version (or a hand-edited file) names a provider kind
    this version lacks: Edit showed it as an ALOR Broker form, and saving said "Correct the
    form and try again", which no form can do. It says what is wrong instead."""
    account = Account(id="f" * 32, name="future", provider="futureprov", status=Status.ERROR)
    window.model.upsert(account)
    getattr(window, opener)(account)
    assert not [d for d in window._dialogs if isinstance(d, AccountDialog)]
    boxes = [d for d in window._dialogs if isinstance(d, QMessageBox)]
    assert boxes, "nothing said why the form does not open"
    text = f"{boxes[-1].text()} {boxes[-1].informativeText()}"
    assert "future" in text and "futureprov" in text and "newer version" in text
    assert "ALOR" not in text


def test_a_stored_choice_this_version_does_not_offer_is_shown_not_replaced(
    qtbot: QtBot,
) -> None:
    """A stored grant the form does not offer ("implicit", from an edited file) was shown as
    the first choice, so saving any other change silently switched the account to
    client_credentials. The form shows the stored value and says it must be changed."""
    account = Account(
        id="e" * 32,
        name="odd",
        provider="oauth2",
        fields={"token_url": "https://a.example.com/t", "client_id": "c", "grant": "implicit"},
        status=Status.SIGN_IN_NEEDED,
        secret_fields=["client_secret"],
    )
    dialog = AccountDialog(account)
    qtbot.addWidget(dialog)
    editor = dialog.editors["grant"]
    assert editor.value() == "implicit"
    dialog._submit()
    assert "implicit" in dialog.problem.text()
    assert dialog.problem.isVisible() or not dialog.problem.isHidden()


def test_a_fixed_key_whose_typed_expiry_has_passed_points_at_expires_at(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    """A static key saved with "Expires at" 2020-01-01: Sign in… asked for a new Token, and
    a new token failed the same way, round and round; the date was the fault and the form
    never said so. It names Expires at and puts the cursor there; clearing it repairs it."""
    account, failure = run(
        memory_vault.add("key", "static", {"expires_at": "2020-01-01"}, {"token": "abc-123"})
    )
    assert failure is not None
    account = memory_vault.load().find("key")
    window.adapter.load()
    window.open_sign_in(account)
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    run(until(lambda: dialog.isVisible()))
    QApplication.processEvents()
    reason = dialog.reason.text()
    assert "Expires at" in reason and "expires_at" not in reason
    assert "Enter a new Token" not in reason
    assert dialog.focusWidget() is dialog.editors["expires_at"].focus_target()
    _line(dialog, "expires_at").clear()
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)))
    assert memory_vault.load().find("key").status is Status.OK
