"""The main window: toolbar, filter box, the account table with per-row actions (also in a
context menu and on shortcuts), and a status bar with the keyring backend, the next refresh
and the clipboard countdown."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.account_store import DEFAULT_SETTINGS
from vault_app.core.model import Account, TokenSet
from vault_app.core.schedule import EngineSettings
from vault_app.core.timefmt import span
from vault_app.gui.account_model import (
    ACTIONS,
    ID_ROLE,
    NAME,
    TICKING,
    AccountFilter,
    AccountModel,
)
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.countdown_delegate import CountdownDelegate

# The window is built and painted before the event loop, the engine and the dialogs are
# imported (see app.run_gui): those come in only where they are used.
if TYPE_CHECKING:
    from vault_app.gui.account_dialog import AccountDialog
    from vault_app.gui.adapter import VaultAdapter


class RowActions(QWidget):
    """Show / Copy / Refresh / Revoke for one account, as real, focusable, named buttons."""

    triggered = Signal(str, str)  # action, account id

    def __init__(self, account_id: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        for action in ("Show", "Copy", "Refresh", "Revoke"):
            button = QToolButton()
            button.setText(action)
            button.setAutoRaise(True)
            button.setAccessibleName(f"{action} {name}")
            button.setToolTip(f"{action} the token of {name}")
            key = action.lower()
            button.clicked.connect(lambda _=False, a=key: self.triggered.emit(a, account_id))
            layout.addWidget(button)
            self.buttons[action.lower()] = button
        layout.addStretch(1)


class MainWindow(QMainWindow):
    quit_requested = Signal()
    hidden_to_tray = Signal()

    def __init__(self, adapter: VaultAdapter | None, clipboard: SecretClipboard) -> None:
        """Without an adapter the window can be shown at once; its actions stay disabled
        until `attach` gives it one."""
        super().__init__()
        self.clipboard = clipboard
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.hide_to_tray = False  # set by the tray when the desktop has one
        self.told_about_tray = False
        self.setWindowTitle("Token Vault")
        self.resize(1000, 480)

        self.model = AccountModel(parent=self)
        self.proxy = AccountFilter(self.model)
        self._build_toolbar()
        self._build_table()
        self._build_status_bar()
        self._dialogs: list[QWidget] = []  # keep non-modal dialogs alive while open
        self._told_unexpected = False
        for action in self.actions():
            action.setEnabled(False)
        if adapter is not None:
            self.attach(adapter)

    # -- construction -----------------------------------------------------------------------

    def _action(
        self,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
        slot: Callable[[], None],
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.add_action = self._action("Add", QKeySequence.StandardKey.New, self.open_add)
        self.refresh_all_action = self._action(
            "Refresh all", "Ctrl+R", lambda: self.adapter.refresh_all()
        )
        self.settings_action = self._action(
            "Settings", QKeySequence.StandardKey.Preferences, self.open_settings
        )
        for action in (self.add_action, self.refresh_all_action, self.settings_action):
            bar.addAction(action)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter accounts (Ctrl+F)")
        self.filter.setAccessibleName("Filter accounts")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(280)
        self.filter.textChanged.connect(self._filter_changed)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        bar.addWidget(self.filter)
        self._action("Find", QKeySequence.StandardKey.Find, self.filter.setFocus)

        # Per-selection actions: the same as the row buttons, on the keyboard.
        self.show_action = self._action("Show token", "Return", lambda: self._on_selected("show"))
        self.copy_action = self._action(
            "Copy token", QKeySequence.StandardKey.Copy, lambda: self._on_selected("copy")
        )
        self.refresh_action = self._action("Refresh", "F5", lambda: self._on_selected("refresh"))
        self.revoke_action = self._action(
            "Revoke…", "Ctrl+Shift+Delete", lambda: self._on_selected("revoke")
        )
        self.edit_action = self._action("Edit…", "Ctrl+E", lambda: self._on_selected("edit"))
        self.remove_action = self._action(
            "Remove…", QKeySequence.StandardKey.Delete, lambda: self._on_selected("remove")
        )

    def _build_table(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Accounts")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((160, 120, 170, 130, 150, 110)):
            self.table.setColumnWidth(column, width)
        self.countdown_delegate = CountdownDelegate(self.table)
        for column in TICKING:
            self.table.setItemDelegateForColumn(column, self.countdown_delegate)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _index: self._on_selected("show"))
        self.table.verticalScrollBar().valueChanged.connect(self._ensure_row_widgets)
        for signal in (self.proxy.rowsInserted, self.proxy.modelReset, self.proxy.layoutChanged):
            signal.connect(self._schedule_row_widgets)
        self.empty = QLabel("No accounts yet. Press Add (Ctrl+N) to add one.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setVisible(False)
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.keyring_label = QLabel("Keyring: checking…")
        self.next_label = QLabel("")
        self.clipboard_label = QLabel("")
        for label in (self.keyring_label, self.next_label, self.clipboard_label):
            status.addPermanentWidget(label)
        self.clipboard.countdown.connect(self._clipboard_countdown)
        self._second = QTimer(self)  # the countdowns and the status bar, once a second
        self._second.setInterval(1000)
        self._second.timeout.connect(self.tick)

    def attach(self, adapter: VaultAdapter) -> None:
        self.adapter = adapter
        for action in self.actions():
            action.setEnabled(True)
        self._second.start()
        adapter.accounts_loaded.connect(self._accounts_loaded)
        adapter.account_changed.connect(self._account_changed)
        adapter.account_removed.connect(self.model.remove)
        adapter.refresh_started.connect(lambda i: self.model.set_busy(i, True))
        adapter.refresh_finished.connect(lambda i: self.model.set_busy(i, False))
        adapter.refresh_failed.connect(lambda i, _m, at: self.model.set_retry(i, at))
        adapter.error.connect(self.show_error)
        adapter.unexpected.connect(self.show_unexpected)
        adapter.keyring_ready.connect(lambda name: self.keyring_label.setText(f"Keyring: {name}"))
        adapter.keyring_unusable.connect(
            lambda _why: self.keyring_label.setText("Keyring: unavailable")
        )

    # -- contents ---------------------------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.model.settings = EngineSettings.from_settings(self.settings)

    def _accounts_loaded(self, accounts: list[Account]) -> None:
        self.model.set_accounts(accounts)
        self._update_empty()

    def _account_changed(self, account: Account) -> None:
        self.model.upsert(account)
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty.setVisible(self.model.rowCount() == 0)

    def _filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._schedule_row_widgets()

    def _schedule_row_widgets(self, *_args: object) -> None:
        QTimer.singleShot(0, self._ensure_row_widgets)

    def _rows_on_screen(self) -> range:
        """The proxy rows visible in the table (plus the one partly below)."""
        rows = self.proxy.rowCount()
        if not rows:
            return range(0)
        first = max(self.table.rowAt(0), 0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        last = rows - 1 if last < 0 else last
        return range(first, min(last + 2, rows))

    def tick(self) -> None:
        """Once a second: the countdowns of the rows on screen (the others are worked out
        when they scroll into view), and the status bar."""
        proxy, source = self.proxy, self.proxy.mapToSource
        if self.isVisible():
            self.model.tick(source(proxy.index(row, 0)).row() for row in self._rows_on_screen())
        self._update_next()

    def _ensure_row_widgets(self, *_args: object) -> None:
        """Row buttons exist for the rows on screen only, so 2,000 accounts cost no more to
        show than 20; scrolling creates the rest as they appear."""
        for row in self._rows_on_screen():
            index = self.proxy.index(row, ACTIONS)
            if self.table.indexWidget(index) is None:
                account_id = str(index.data(ID_ROLE))
                name = str(self.proxy.index(row, NAME).data())
                actions = RowActions(account_id, name)
                actions.triggered.connect(self.act)
                self.table.setIndexWidget(index, actions)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._schedule_row_widgets()

    def selected_id(self) -> str | None:
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            current = self.table.currentIndex()
            return str(current.data(ID_ROLE)) if current.isValid() else None
        return str(indexes[0].data(ID_ROLE))

    def _on_selected(self, action: str) -> None:
        account_id = self.selected_id()
        if account_id is not None:
            self.act(action, account_id)

    def _context_menu(self, point: QPoint) -> None:
        index = self.table.indexAt(point)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        menu = QMenu(self)
        from vault_app.gui.interactive_sign_in import is_interactive

        account = self.model.account(self.selected_id() or "")
        if account is not None and is_interactive(account):
            sign_in = menu.addAction("Sign in…")
            sign_in.triggered.connect(lambda: self.open_sign_in(account.id))
            menu.addSeparator()
        for action in (
            self.show_action,
            self.copy_action,
            self.refresh_action,
            None,
            self.edit_action,
            self.revoke_action,
            self.remove_action,
        ):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(point))

    # -- actions ----------------------------------------------------------------------------

    def act(self, action: str, account_id: str) -> None:
        account = self.model.account(account_id)
        if account is None:
            return
        if action == "copy":
            self.copy(account)
        elif action == "show":
            self.adapter.spawn(
                self.adapter.token(account.id), lambda tokens: self._open_show(account, tokens)
            )
        elif action == "refresh":
            self.adapter.refresh([account.id])
        elif action == "revoke":
            self.confirm_revoke(account)
        elif action == "edit":
            self.open_edit(account)
        elif action == "sign_in":
            self.open_sign_in(account.id)
        elif action == "remove":
            self.confirm_remove(account)

    def copy(self, account: Account) -> None:
        """Copy in the default format, refreshing first if the token is expired."""

        def put(tokens: TokenSet) -> None:
            from vault_app.gui.show_dialog import copy_forms

            form = str(self.settings.get("copy_format") or "raw")
            self.copy_text(copy_forms(account, tokens).get(form) or tokens.access_token)

        self.adapter.spawn(self.adapter.token(account.id), put)

    def copy_text(self, text: str) -> None:
        self.clipboard.copy(text, int(self.settings.get("clipboard_seconds") or 0))

    def _open_show(self, account: Account, tokens: TokenSet) -> None:
        from vault_app.gui.show_dialog import ShowDialog

        dialog = ShowDialog(account, tokens, self.copy_text, self)
        self._keep(dialog)
        dialog.open()

    def _keep(self, dialog: QWidget) -> None:
        self._dialogs.append(dialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(
            lambda *_a, d=dialog: self._dialogs.remove(d) if d in self._dialogs else None
        )

    def confirm_revoke(self, account: Account) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            f"Revoke {account.name}?",
            self.adapter.revoke_description(account),
            QMessageBox.StandardButton.Cancel,
            self,
        )
        revoke = box.addButton("Revoke", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def done(_result: int) -> None:
            if box.clickedButton() is revoke:
                self.adapter.spawn(
                    self.adapter.revoke(account.id),
                    lambda outcome: self.statusBar().showMessage(
                        f"{account.name}: {outcome.message}", 10000
                    ),
                )

        box.finished.connect(done)
        self._keep(box)
        box.open()

    def confirm_remove(self, account: Account) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            f"Remove {account.name}?",
            f"Remove {account.name} and delete its secrets from the keyring? "
            "Its tokens are not revoked at the server.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)

        def done(_result: int) -> None:
            if box.clickedButton() is remove:
                self.adapter.spawn(self.adapter.remove(account.id))

        box.finished.connect(done)
        self._keep(box)
        box.open()

    def open_add(self) -> None:
        from vault_app.gui.account_dialog import AccountDialog

        self._open_account_dialog(AccountDialog(parent=self))

    def open_edit(self, account: Account) -> None:
        from vault_app.gui.account_dialog import AccountDialog

        self._open_account_dialog(AccountDialog(account, parent=self))

    def _open_account_dialog(self, dialog: AccountDialog) -> None:
        def submit(name: str, kind: str, fields: dict[str, str], secrets: dict[str, str]) -> None:
            editing = dialog.account
            work = (
                self.adapter.edit(editing.id, fields, secrets)
                if editing is not None
                else self.adapter.add(name, kind, fields, secrets)
            )

            def outcome(result: tuple[Account, Any]) -> None:
                from vault_app.gui.interactive_sign_in import is_interactive

                account, failure = result
                dialog.account = account
                if failure is None and is_interactive(account):
                    dialog.show_outcome(True, f"Saved. Sign in to {account.name} to finish.")
                    self.open_sign_in(account.id)
                elif failure is None:
                    dialog.show_outcome(True, f"Signed in. {account.name} is ready.")
                else:
                    dialog.show_outcome(False, f"Saved, but signing in failed: {failure}")

            self.adapter.spawn(work, outcome)

        dialog.submit.connect(submit)
        self.adapter.error.connect(
            lambda message: dialog.show_outcome(False, message) if dialog.isVisible() else None
        )
        self._keep(dialog)
        dialog.open()

    def open_sign_in(self, account_id: str) -> None:
        """The browser or device sign-in dialog of an account; the browser opens only when
        the person presses its button."""
        from vault_app.gui.interactive_sign_in import SignInDialog, is_interactive

        account = self.model.account(account_id)
        if account is None or self.adapter is None or not is_interactive(account):
            return
        dialog = SignInDialog(self.adapter, account, self.copy_text, self)
        self._keep(dialog)
        dialog.open()

    def open_settings(self) -> None:
        from vault_app.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.adapter.autostart_enabled(), self)

        def done(result: int) -> None:
            if result == SettingsDialog.DialogCode.Accepted:
                self.adapter.spawn(self.adapter.save_settings(dialog.values()), self.apply_settings)

        dialog.finished.connect(done)
        self._keep(dialog)
        dialog.open()

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def show_unexpected(self, message: str) -> None:
        """A bug is shown in a dialog once; after that the status bar is enough."""
        self.show_error(message)
        if not self._told_unexpected:
            self._told_unexpected = True
            box = QMessageBox(
                QMessageBox.Icon.Critical,
                "Token Vault",
                message,
                QMessageBox.StandardButton.Ok,
                self,
            )
            self._keep(box)
            box.open()

    # -- status bar -------------------------------------------------------------------------

    def _update_next(self) -> None:
        next_at = self.adapter.engine.next_at
        if self.adapter.engine.paused:
            self.next_label.setText("Refresh paused")
        elif next_at is None:
            self.next_label.setText("")
        else:
            self.next_label.setText(f"Next refresh in {span(max(next_at - time.time(), 0))}")

    def _clipboard_countdown(self, seconds: int) -> None:
        self.clipboard_label.setText(f"Clipboard clears in {seconds} s" if seconds else "")

    # -- closing ----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.hide_to_tray:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
            return
        event.accept()
        self.quit_requested.emit()
