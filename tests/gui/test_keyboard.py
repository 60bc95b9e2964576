"""Every action from the keyboard (issue 11, items 7 and 8): Tab leaves the table and reaches
the toolbar and the filter; focus is always visible; a menu bar holds every action with its
shortcut (Settings on Ctrl+, and Quit on Ctrl+Q among them); Ctrl+C in the filter copies the
selected account's token, Escape clears the filter; the toolbar cannot be lost."""

from __future__ import annotations

import time
from typing import Any

import jwt
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from tests.gui.conftest import until
from vault_app.core.vault import Vault
from vault_app.gui import theme
from vault_app.gui.help_dialogs import shortcut_rows
from vault_app.gui.main_window import MainWindow


def _token(sub: str) -> str:
    now = time.time()
    return jwt.encode({"sub": sub, "iat": int(now), "exp": int(now + 3600)}, "k" * 32, "HS256")


def _loaded(window: MainWindow, run: Any, vault: Vault, qtbot: QtBot, **tokens: str) -> None:
    async def seed() -> None:
        for name, token in tokens.items():
            _, failure = await vault.add(name, "static", {}, {"token": token})
            assert failure is None

    run(seed())
    window.adapter.load()
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitActive(window)  # focus events reach only the active window


def _focus(window: MainWindow) -> QWidget | None:
    return window.focusWidget()


def test_tab_leaves_the_table_and_reaches_toolbar_and_filter(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    _loaded(window, run, memory_vault, qtbot, alpha=_token("a"), beta=_token("b"))
    window.table.setFocus()
    visited = []
    for _ in range(5):
        qtbot.keyClick(_focus(window), Qt.Key.Key_Tab)
        widget = _focus(window)
        assert widget is not None
        visited.append(widget.accessibleName() or getattr(widget, "text", str)())
    assert visited == ["Add account", "Refresh all", "Settings", "Filter accounts", "Accounts"]
    qtbot.keyClick(_focus(window), Qt.Key.Key_Backtab)
    assert _focus(window) is window.filter


def test_focus_is_always_visible_in_the_table(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    _loaded(window, run, memory_vault, qtbot, alpha=_token("a"), beta=_token("b"))
    window.table.clearSelection()
    window.filter.setFocus()
    qtbot.keyClick(window.filter, Qt.Key.Key_Down)  # into the table
    assert _focus(window) is window.table
    # A row shows where the focus is.
    qtbot.waitUntil(window.table.selectionModel().hasSelection, timeout=2000)
    app_highlight = QApplication.palette().color(QPalette.ColorRole.Highlight)
    assert window.table.palette().color(QPalette.ColorRole.Highlight) == app_highlight
    window.filter.setFocus()
    resting = window.table.palette().color(QPalette.ColorRole.Highlight)
    assert resting == theme.current().resting_selection != app_highlight


def _menu_actions(menu: QMenu) -> list[QAction]:
    out = []
    for action in menu.actions():
        out.append(action)
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            out.extend(_menu_actions(submenu))
    return out


def test_menu_bar_holds_every_action_with_its_shortcut(window: MainWindow) -> None:
    menus: dict[str, QMenu] = {}
    for entry in window.menuBar().actions():
        menu = entry.menu()
        assert isinstance(menu, QMenu)
        menus[entry.text().replace("&", "")] = menu
    assert list(menus) == ["File", "Account", "View", "Help"]
    texts = {
        title: [a.text().replace("&", "") for a in menu.actions() if a.text()]
        for title, menu in menus.items()
    }
    assert texts["File"][:4] == ["Add account…", "Import…", "Export…", "Settings…"]
    assert texts["File"][-1] == "Quit"
    for wanted in ("Show token", "Copy token", "Refresh", "Revoke…", "Sign in…", "Edit…"):
        assert wanted in texts["Account"]
    assert "Remove…" in texts["Account"] and "Pin to tray menu" in texts["Account"]
    assert "Toolbar" in texts["View"] and "Filter" in texts["View"]
    assert texts["Help"] == ["Keyboard shortcuts", "About Token Vault"]
    assert window.settings_action.shortcut() == QKeySequence("Ctrl+,")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    in_menus = {id(a) for m in menus.values() for a in _menu_actions(m)}
    for action in window.actions():
        assert id(action) in in_menus, f"{action.text()} is in no menu"
    keys = dict(shortcut_rows(window.actions()))
    assert keys["Ctrl+Q"] == "Quit" and keys["Ctrl+,"] == "Settings"


def test_ctrl_c_in_the_filter_copies_the_selected_token(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    beta = _token("b")
    _loaded(window, run, memory_vault, qtbot, alpha=_token("a"), beta=beta)
    run(until(lambda: window.proxy.rowCount() == 2))
    window.filter.setFocus()
    qtbot.keyClicks(window.filter, "bet")
    assert window.proxy.rowCount() == 1 and window.selected_id() is not None
    qtbot.keyClick(window.filter, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    clipboard = QGuiApplication.clipboard()
    run(until(lambda: clipboard.text() == beta))
    assert window.status.message_text() == "Copied beta."
    # With text selected in the filter, Ctrl+C copies that text, as in any text field.
    window.filter.selectAll()
    qtbot.keyClick(window.filter, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == "bet"
    window.clipboard.wipe()


def test_escape_clears_the_filter_then_goes_back_to_the_table(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    _loaded(window, run, memory_vault, qtbot, alpha=_token("a"))
    window.focus_filter()
    qtbot.keyClicks(window.filter, "zzz")
    assert window.no_match.isVisible() and "zzz" in window.no_match.text()
    qtbot.keyClick(window.filter, Qt.Key.Key_Escape)
    assert window.filter.text() == "" and window.proxy.rowCount() == 1
    qtbot.keyClick(window.filter, Qt.Key.Key_Escape)
    assert _focus(window) is window.table


def test_the_toolbar_cannot_be_lost(window: MainWindow, qtbot: QtBot) -> None:
    window.show()
    qtbot.waitExposed(window)
    toolbar = window.toolbar
    assert toolbar.contextMenuPolicy() == Qt.ContextMenuPolicy.PreventContextMenu
    assert window.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu
    popup = window.createPopupMenu()  # what a right click on the bars would offer
    assert popup is None or window.toolbar_action in popup.actions()
    window.toolbar_action.trigger()  # View ▸ Toolbar
    assert toolbar.isHidden()
    window.focus_filter()  # the filter does not live in the toolbar
    assert window.filter.isVisible() and _focus(window) is window.filter
    window.toolbar_action.trigger()
    assert toolbar.isVisible()
    assert window.state_values()["toolbar_visible"] is True


def test_context_menu_from_the_keyboard(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    _loaded(window, run, memory_vault, qtbot, alpha=_token("a"))
    run(until(lambda: window.proxy.rowCount() == 1))
    window.table.setCurrentIndex(window.proxy.index(0, 0))
    window._context_menu(QPoint(-5, -5))  # the Menu key: no point under the mouse
    menu = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible())
    names = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert names[:3] == ["Show token", "Copy token", "Refresh"]
    assert "Pin to tray menu" in names
    menu.close()


def test_home_and_end_go_to_the_first_and_last_account_without_scrolling_sideways(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    """In a list of accounts Home and End mean the first and the last account (as in
    KeePassXC's entry list). QTableView moves to the first / last COLUMN instead: on a narrow
    window End scrolled the names out of sight and left the selection where it was."""
    names = {f"acct-{n:02d}": _token(str(n)) for n in range(30)}
    _loaded(window, run, memory_vault, qtbot, **names)
    window.resize(520, 400)  # narrower than the columns: the table scrolls sideways
    run(until(lambda: window.table.horizontalScrollBar().maximum() > 0))
    window.table.setFocus()
    window.table.selectRow(3)
    bar = window.table.horizontalScrollBar()
    for keys, row in (
        ((Qt.Key.Key_End,), 29),
        ((Qt.Key.Key_Home,), 0),
        ((Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier), 29),
        ((Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier), 0),
    ):
        qtbot.keyClick(window.table, *keys)
        assert window.selected_account() is not None
        assert window.selected_account().name == f"acct-{row:02d}", keys  # type: ignore[union-attr]
        assert bar.value() == 0, f"{keys} scrolled the names out of sight"
