"""The main window against a real vault (in-memory keyring): table, row buttons, copy with
the secret marker, Show, Revoke's confirmation, filter, keyboard."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QToolButton
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from tests.gui.conftest import jwt_for, until
from vault_app.core.model import Account, Status
from vault_app.core.vault import Vault
from vault_app.gui import theme
from vault_app.gui.account_model import ACCESS, LAST, STATUS, AccountModel
from vault_app.gui.clipboard import SECRET_MARKERS, SecretClipboard
from vault_app.gui.main_window import MainWindow
from vault_app.gui.row_actions import RowActions
from vault_app.gui.show_dialog import ShowDialog


async def _seed(vault: Vault, **tokens: str) -> None:
    for name, token in tokens.items():
        _, failure = await vault.add(name, "static", {}, {"token": token})
        assert failure is None


def test_table_lists_accounts_with_row_buttons(
    window: MainWindow, run: Any, qtbot: QtBot, memory_vault: Vault
) -> None:
    run(_seed(memory_vault, alpha=jwt_for(3600), beta=jwt_for(3600)))
    window.adapter.load()
    window.show()
    qtbot.waitExposed(window)
    run(until(lambda: window.table.indexWidget(window.proxy.index(1, 6)) is not None))
    assert window.proxy.rowCount() == 2
    names = [window.proxy.index(r, 0).data() for r in range(2)]
    assert names == ["alpha", "beta"]
    actions = window.table.indexWidget(window.proxy.index(0, 6))
    assert isinstance(actions, RowActions)
    labels = [b.accessibleName() for b in actions.findChildren(QToolButton)]
    assert labels == [
        "Show the token of alpha",
        "Copy the token of alpha",
        "Refresh alpha now",
        "Revoke alpha",
    ]
    window.filter.setText("bet")
    assert window.proxy.rowCount() == 1


def test_copy_marks_the_clipboard_secret_and_wipes_it(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    token = jwt_for(3600)
    run(_seed(memory_vault, alpha=token))
    window.adapter.load()
    window.settings["clipboard_seconds"] = 1
    window.table.selectRow(0)
    window.copy_action.trigger()  # Ctrl+C
    clipboard = QGuiApplication.clipboard()
    run(until(lambda: clipboard.text() == token))
    data = clipboard.mimeData()
    for mime, value in SECRET_MARKERS.items():
        assert bytes(data.data(mime).data()) == value
    assert window.clipboard_label.text().startswith("Clipboard clears in")
    run(until(lambda: clipboard.text() == "", timeout=5))


def test_wipe_leaves_a_clipboard_the_user_changed(window: MainWindow, run: Any) -> None:
    clipboard = QGuiApplication.clipboard()
    window.clipboard.copy("secret-value-1234", 1)
    clipboard.setText("something the user copied later")
    run(until(lambda: window.clipboard_label.text() == "", timeout=5))
    assert clipboard.text() == "something the user copied later"
    window.clipboard.copy("secret-value-5678", 60)
    window.clipboard.wipe()  # what quitting does
    assert clipboard.text() == ""


def test_show_dialog_masks_until_revealed(qtbot: QtBot) -> None:
    token = jwt_for(600)
    from vault_app.core.model import TokenSet

    copied: list[str] = []
    account = Account(id="a", name="alpha", provider="static", fields={"header_name": "X-Key"})
    dialog = ShowDialog(
        account, TokenSet(access_token=token, expires_at=time.time() + 600), copied.append
    )
    qtbot.addWidget(dialog)
    assert dialog.token_edit.echoMode() == dialog.token_edit.EchoMode.Password
    dialog.reveal.click()
    assert dialog.token_edit.echoMode() == dialog.token_edit.EchoMode.Normal
    assert '"sub": "gui"' in dialog.claims.toPlainText()
    assert dialog.forms["header"] == f"X-Key: Bearer {token}"
    assert dialog.forms["curl"].startswith(f"curl -H 'X-Key: Bearer {token}'")


def test_revoke_asks_first_and_says_what_happens(
    window: MainWindow, run: Any, qtbot: QtBot, memory_vault: Vault
) -> None:
    run(_seed(memory_vault, alpha=jwt_for(3600)))
    window.adapter.load()
    account = window.model.accounts()[0]
    window.confirm_revoke(account)
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    assert "forgets it locally" in box.text()
    revoke = next(b for b in box.buttons() if b.text() == "Revoke")
    revoke.click()
    run(until(lambda: window.model.accounts()[0].status is Status.SIGNED_OUT))


def test_model_contract_and_one_second_tick(qtmodeltester: ModelTester, qtbot: QtBot) -> None:
    now = time.time()
    model = AccountModel(
        [
            Account(
                id="a",
                name="a",
                provider="static",
                status=Status.OK,
                access_expires_at=now + 100,
                last_refresh_at=now - 1700,
            ),
            Account(
                id="b",
                name="b",
                provider="static",
                status=Status.OK,
                access_expires_at=now - 5,
                last_refresh_at=now - 1800,
            ),
            Account(
                id="c",
                name="c",
                provider="static",
                status=Status.OK,
                access_expires_at=now + 1500,
                last_refresh_at=now - 300,
            ),
        ]
    )
    qtmodeltester.check(model)
    colours = theme.current()
    assert model.index(0, ACCESS).data(Qt.ItemDataRole.ForegroundRole).color() == colours.due
    assert model.index(1, ACCESS).data(Qt.ItemDataRole.ForegroundRole).color() == colours.bad
    assert model.index(2, ACCESS).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(1, ACCESS).data().startswith("expired")
    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda tl, br, *_: changed.append((tl.row(), tl.column(), br.row(), br.column()))
    )
    model.tick()
    assert changed == [(0, STATUS, 2, STATUS), (0, ACCESS, 2, ACCESS), (0, LAST, 2, LAST)]
    changed.clear()
    model.tick([2, 0])  # the rows on screen: one signal per cell, so only they repaint
    assert changed == [
        (2, STATUS, 2, STATUS),
        (2, ACCESS, 2, ACCESS),
        (2, LAST, 2, LAST),
        (0, STATUS, 0, STATUS),
        (0, ACCESS, 0, ACCESS),
        (0, LAST, 0, LAST),
    ]
    assert model.index(0, STATUS).data(Qt.ItemDataRole.DecorationRole) is not None


def test_tick_signals_only_cells_that_look_different(monkeypatch: pytest.MonkeyPatch) -> None:
    """A countdown under an hour changes every second; "last refresh" once a minute."""
    clock = [1_700_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    model = AccountModel(
        [
            Account(
                id="a",
                name="a",
                provider="oauth2",
                status=Status.OK,
                access_expires_at=clock[0] + 600,
                last_refresh_at=clock[0] - 125,
            )
        ]
    )
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda tl, _br, *_: changed.append((tl.row(), tl.column())))
    model.tick([0])
    assert changed == [(0, STATUS), (0, ACCESS), (0, LAST)]
    assert model.index(0, LAST).data() == "2m ago"
    changed.clear()
    model.tick([0])  # the same second: nothing to repaint
    assert changed == []
    clock[0] += 1
    model.tick([0])
    assert changed == [(0, ACCESS)]
    changed.clear()
    clock[0] += 60
    model.tick([0])
    assert changed == [(0, ACCESS), (0, LAST)]
    assert model.index(0, LAST).data() == "3m ago"


def test_countdown_timer_runs_only_while_the_window_is_shown(
    window: MainWindow, run: Any, qtbot: QtBot, memory_vault: Vault
) -> None:
    """Hidden in the tray, the app has nothing to draw: the 1 Hz tick stops, and showing the
    window brings the countdowns up to date at once and starts it again."""
    run(_seed(memory_vault, alpha=jwt_for(3600)))
    window.adapter.load()
    assert not window.second.isActive()  # attached, never shown
    ticks: list[int] = []
    window.model.dataChanged.connect(lambda *_a: ticks.append(1))
    window.show()
    qtbot.waitExposed(window)
    assert window.second.isActive()
    assert window.second.interval() == 1000
    window.hide()
    assert not window.second.isActive()
    window.model._shown.clear()  # as if an hour passed: every ticking cell looks different
    ticks.clear()
    window.show()
    qtbot.waitExposed(window)
    assert window.second.isActive()
    assert ticks, "showing the window did not bring its countdowns up to date"
    window.close()


def test_the_first_frame_shows_the_previewed_accounts(qtbot: QtBot) -> None:
    """launch.py hands the window the accounts before it is shown: its first paint has the
    rows. The full load that follows with the same accounts resets nothing; a file that
    fails the full load takes the preview away without claiming an empty vault."""
    from PySide6.QtCore import QEvent, QObject

    now = time.time()
    accounts = [
        Account(id=f"id-{i}", name=f"acct-{i}", provider="static", access_expires_at=now + 600)
        for i in range(3)
    ]
    window = MainWindow(None, SecretClipboard())
    qtbot.addWidget(window)
    window.show_preview(accounts)
    rows_at_first_paint: list[int] = []

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not rows_at_first_paint:
                rows_at_first_paint.append(window.proxy.rowCount())
            return False

    watch = Watch()
    window.table.viewport().installEventFilter(watch)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bool(rows_at_first_paint))
    assert rows_at_first_paint == [3]
    resets: list[int] = []
    window.model.modelReset.connect(lambda: resets.append(1))
    window._accounts_loaded([a.copy() for a in accounts])  # what the full load gives
    assert resets == [] and window.proxy.rowCount() == 3
    window.forget_preview()
    assert window.proxy.rowCount() == 0
    assert window.stack.currentWidget() is window.table  # not the first-run page
