"""The main window: menu bar, toolbar, filter box, the account table with per-row
actions (also in the Account menu, a context menu and on shortcuts), and a status bar with
the latest message, the next refresh, the clipboard countdown and where secrets are kept.

It fits the screen it opens on, remembers its size, columns and sort order, works from the
keyboard alone, and says in full what failed, for which account, and what to do."""

from __future__ import annotations

import base64
import binascii
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QCursor,
    QGuiApplication,
    QHideEvent,
    QKeyEvent,
    QKeySequence,
    QScreen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.account_store import DEFAULT_SETTINGS
from vault_app.core.errors import RejectedError, TransientError, UserFacingError
from vault_app.core.model import Account, Status, TokenSet
from vault_app.core.schedule import EngineSettings
from vault_app.core.timefmt import span
from vault_app.gui import first_paint, theme
from vault_app.gui.account_model import (
    ACCESS,
    ACTIONS,
    COLUMNS,
    COUNTDOWNS,
    ID_ROLE,
    LAST,
    NAME,
    PROVIDER,
    REFRESH,
    STATUS,
    AccountFilter,
    AccountModel,
)
from vault_app.gui.account_table import AccountTable
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.countdown_delegate import CountdownDelegate
from vault_app.gui.empty_state import EmptyState
from vault_app.gui.failures import Failure, failure
from vault_app.gui.guard import guarded
from vault_app.gui.plain_text import shown
from vault_app.gui.row_actions import RowActions, actions_width
from vault_app.gui.status_bar import StatusBar

# The window is built and painted before the event loop, the engine and the dialogs are
# imported (see app.run_gui): those come in only where they are used.
if TYPE_CHECKING:
    from vault_app.core.engine import Event
    from vault_app.core.errors import UserFacingError
    from vault_app.core.providers.base import RevokeOutcome
    from vault_app.gui.account_dialog import AccountDialog
    from vault_app.gui.adapter import VaultAdapter

# Default column widths: text each column should show in full, plus the cell's padding.
COLUMN_SAMPLES = {
    NAME: "apirone-wallet-main",
    PROVIDER: "traderevolution",
    STATUS: "Retrying in 59s",
    ACCESS: "expired 12m 05s ago",
    REFRESH: "expires in 14 days",
    LAST: "2h 05m ago",
}
CELL_PADDING = 20  # px: text margins and the sort indicator's room
STATUS_ICON = 22  # px: the status icon and its gap
MIN_COLUMN = 48
DEFAULT_ROWS = 14  # rows the default window height shows
SCREEN_SHARE = 0.9  # of the screen's free area a new window may take
MIN_SIZE = QSize(480, 320)
TRAY_MENU_RECENT = 8  # how many recently copied accounts are remembered
SAVE_STATE_MS = 1000  # column and sort changes are saved this long after the last one
# Fusion marks a focused tool button faintly; keyboard users need to see it at a glance.
TOOLBAR_FOCUS = "QToolButton:focus { border: 2px solid palette(highlight); border-radius: 3px; }"
SORT_ORDERS = {"ascending": Qt.SortOrder.AscendingOrder, "descending": Qt.SortOrder.DescendingOrder}


class MainWindow(QMainWindow):
    quit_requested = Signal()
    hidden_to_tray = Signal()
    tray_menu_changed = Signal()  # pinned or recently copied accounts changed
    state_changed = Signal(dict)  # settings to save (window state, pins, recent copies)

    def __init__(
        self, adapter: VaultAdapter | None, clipboard: SecretClipboard, *, demo: bool = False
    ) -> None:
        """Without an adapter the window can be shown at once; its actions stay disabled
        until `attach` gives it one."""
        super().__init__()
        self.clipboard = clipboard
        self.demo = demo
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.hide_to_tray = False  # set by the tray when the desktop has one
        self.told_about_tray = False
        # Set by the app when there is a tray: (title, text, account id, is it a failure)
        # -> shown; used for failures while the window is hidden.
        self.notify: Callable[[str, str, str | None, bool], bool] | None = None
        self.keyring_backend = ""
        self._loaded = False
        self._restored = False
        self._dialogs: list[QWidget] = []  # keep non-modal dialogs alive while open
        self._row_widgets: dict[str, RowActions] = {}
        self._base_widths: dict[int, int] = {}
        self._fitting = False
        self.setWindowTitle("Token Vault")
        self.setObjectName("main-window")

        self.model = AccountModel(parent=self)
        self.proxy = AccountFilter(self.model)
        self._extra_account_actions: list[QAction] = []  # add_actions
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self.status = StatusBar(self.statusBar())
        self.keyring_label = self.status.keyring_label
        self.clipboard_label = self.status.clipboard_label
        self.next_label = self.status.next_label
        self.clipboard.countdown.connect(self.status.set_clipboard)
        # The countdowns and the status bar, once a second, only while the window is shown:
        # hidden in the tray the app sleeps until its next deadline (showEvent, hideEvent).
        self.second = QTimer(self)
        self.second.setInterval(1000)
        self.second.timeout.connect(self.tick)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_STATE_MS)
        self._save_timer.timeout.connect(lambda: self.state_changed.emit(self.state_values()))
        self._set_default_columns()
        self._size_to_screen()
        self._tab_order()
        theme.theme().changed.connect(self._theme_changed)
        for action in self._adapter_actions:
            action.setEnabled(False)
        if adapter is not None:
            self.attach(adapter)

    # -- construction -----------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        icon: str | None = None,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if icon:
            action.setIcon(theme.icon(icon))
            action.setProperty("icon-name", icon)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        act = self._action
        self.add_action = act("&Add account…", self.open_add, "Ctrl+N", "add", "Add an account")
        self.import_action = act("&Import…", self.import_accounts, "Ctrl+I", "import")
        self.export_action = act("&Export…", self.export_accounts, "Ctrl+Shift+S", "export")
        self.settings_action = act("&Settings…", self.open_settings, "Ctrl+,", "settings")
        preferences = QKeySequence(QKeySequence.StandardKey.Preferences)
        if not preferences.isEmpty() and preferences != QKeySequence("Ctrl+,"):
            self.settings_action.setShortcuts([QKeySequence("Ctrl+,"), preferences])
        self.close_action = act("&Close window", self.close, "Ctrl+W")
        self.quit_action = act("&Quit", self.quit_requested.emit, "Ctrl+Q", "quit")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        def on(action: str) -> Callable[[], None]:
            return lambda: self._on_selected(action)

        self.show_action = act("&Show token", on("show"), "Return", "show")
        self.copy_action = act("&Copy token", self._copy_shortcut, "Ctrl+C", "copy")
        self.refresh_action = act("&Refresh", on("refresh"), "F5", "refresh")
        self.refresh_all_action = act(
            "Refresh &all", self.refresh_all, "Ctrl+R", "refresh", "Refresh every account now"
        )
        self.sign_in_action = act("Sign &in…", on("sign_in"), "Ctrl+L", "sign-in")
        self.edit_action = act("&Edit…", on("edit"), "Ctrl+E", "edit")
        self.pin_action = act("&Pin to tray menu", on("pin"), "Ctrl+P", "pin")
        self.pin_action.setCheckable(True)
        self.revoke_action = act("Re&voke…", on("revoke"), "Ctrl+Shift+Delete", "revoke")
        self.remove_action = act(
            "Re&move…", on("remove"), QKeySequence.StandardKey.Delete, "remove"
        )
        self.find_action = act("&Filter", self.focus_filter, QKeySequence.StandardKey.Find)
        self.shortcuts_action = act("&Keyboard shortcuts", self.open_shortcuts, "F1", "help")
        self.about_action = act("&About Token Vault", self.open_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.account_actions = [
            self.show_action,
            self.copy_action,
            self.refresh_action,
            self.sign_in_action,
            self.edit_action,
            self.pin_action,
            self.revoke_action,
            self.remove_action,
        ]
        # What needs the vault (enabled once the adapter is attached).
        self._adapter_actions = [
            self.add_action,
            self.import_action,
            self.export_action,
            self.settings_action,
            self.refresh_all_action,
            *self.account_actions,
        ]

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (
            self.add_action,
            None,
            self.import_action,
            self.export_action,
            None,
            self.settings_action,
            None,
            self.close_action,
            self.quit_action,
        ):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        self.account_menu = bar.addMenu("&Account")
        self._fill_account_menu(self.account_menu, with_refresh_all=True)
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.find_action)
        self.view_menu.addSeparator()
        scheme_menu = self.view_menu.addMenu("Colour &scheme")
        self.scheme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for value, label in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
            action = QAction(label, self)
            action.setCheckable(True)
            action.triggered.connect(lambda _c=False, v=value: self.set_colour_scheme(v))
            group.addAction(action)
            scheme_menu.addAction(action)
            self.scheme_actions[value] = action
        self.scheme_actions["system"].setChecked(True)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

    def _fill_account_menu(self, menu: QMenu, *, with_refresh_all: bool = False) -> None:
        refresh = (
            [self.refresh_action, self.refresh_all_action]
            if with_refresh_all
            else [self.refresh_action]
        )
        for action in (
            self.show_action,
            self.copy_action,
            *refresh,
            None,
            self.sign_in_action,
            self.edit_action,
            self.pin_action,
            None,
            self.revoke_action,
            self.remove_action,
        ):
            menu.addSeparator() if action is None else menu.addAction(action)
        if self._extra_account_actions:  # add_actions (the Account menu gets them there)
            menu.addSeparator()
            menu.addActions(self._extra_account_actions)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Toolbar")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        # No right-click menu that hides it; View ▸ Toolbar brings it back if it is hidden.
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)
        bar.setStyleSheet(TOOLBAR_FOCUS)
        self.toolbar = bar
        for action in (self.add_action, self.refresh_all_action, self.settings_action):
            bar.addAction(action)
        self.toolbar_buttons = [bar.widgetForAction(a) for a in bar.actions()]
        for button in self.toolbar_buttons:
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # reachable with Tab
        self.toolbar_action = bar.toggleViewAction()
        self.toolbar_action.setText("&Toolbar")
        self.toolbar_action.toggled.connect(lambda _on: self._save_state_soon())
        self.view_menu.insertAction(self.find_action, self.toolbar_action)
        # This window is its toolbar's only owner: no other context menu lists it.
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        # Above the table, not in the toolbar: always on screen, however narrow the window
        # and whether or not the toolbar is shown.
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, provider or status (Ctrl+F)")
        self.filter.setAccessibleName("Filter accounts")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        layout.addWidget(self.filter)
        self.stack = QStackedWidget()
        self.table = AccountTable()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Accounts")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(MIN_COLUMN)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(ACTIONS, QHeaderView.ResizeMode.Fixed)
        header.sectionResized.connect(self._section_resized)
        header.sortIndicatorChanged.connect(lambda *_a: self._save_state_soon())
        self.countdown_delegate = CountdownDelegate(self.table, self.model, self.proxy)
        for column in COUNTDOWNS:
            self.table.setItemDelegateForColumn(column, self.countdown_delegate)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _index: self._on_selected("show"))
        self.table.verticalScrollBar().valueChanged.connect(self._ensure_row_widgets)
        self.table.viewport().installEventFilter(self)
        self.table.installEventFilter(self)
        self.filter.installEventFilter(self)
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._update_actions())
        for signal in (self.proxy.rowsInserted, self.proxy.modelReset, self.proxy.layoutChanged):
            signal.connect(self._schedule_row_widgets)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._update_empty)
        self.stack.addWidget(self.table)
        self.empty: EmptyState | None = None  # made when first needed: not before first paint
        self.no_match = QLabel("")
        self.no_match.setTextFormat(Qt.TextFormat.PlainText)
        self.no_match.setVisible(False)
        layout.addWidget(self.no_match)
        layout.addWidget(self.stack)
        self.setCentralWidget(central)
        sample = RowActions(Account(id="", name="", provider=""))
        self.table.verticalHeader().setDefaultSectionSize(
            max(sample.sizeHint().height() + 2, self.table.fontMetrics().height() + 10)
        )
        sample.deleteLater()
        self._paint_selection(False)

    def _tab_order(self) -> None:
        chain: list[QWidget] = [*self.toolbar_buttons, self.filter, self.table]
        if self.empty is not None:
            chain += [self.empty.add_button, self.empty.import_button, self.empty.demo_button]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _empty_page(self) -> EmptyState:
        if self.empty is None:
            self.empty = EmptyState(offer_demo=not self.demo)
            self.empty.add_requested.connect(self.open_add)
            self.empty.import_requested.connect(self.import_accounts)
            self.empty.demo_requested.connect(self.start_demo)
            self.stack.addWidget(self.empty)
            self._tab_order()
        return self.empty

    def _set_default_columns(self) -> None:
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        header_metrics = header.fontMetrics()
        for column, sample in COLUMN_SAMPLES.items():
            width = metrics.horizontalAdvance(sample) + CELL_PADDING
            if column == STATUS:
                width += STATUS_ICON
            title = header_metrics.horizontalAdvance(COLUMNS[column]) + CELL_PADDING + 16
            self._base_widths[column] = max(width, title)
        self.actions_width = actions_width() + 2
        self._fitting = True
        try:
            for column, width in self._base_widths.items():
                self.table.setColumnWidth(column, width)
            self.table.setColumnWidth(ACTIONS, self.actions_width)
        finally:
            self._fitting = False
        self.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)

    def preferred_size(self) -> QSize:
        """What the window would like: every column at its default width, DEFAULT_ROWS rows."""
        table = self.table
        scrollbar = table.style().pixelMetric(table.style().PixelMetric.PM_ScrollBarExtent)
        frame = 2 * table.frameWidth()
        width = sum(self._base_widths.values()) + self.actions_width + scrollbar + frame + 12
        rows = table.verticalHeader().defaultSectionSize() * DEFAULT_ROWS
        chrome = (
            self.menuBar().sizeHint().height()
            + self.toolbar.sizeHint().height()
            + self.statusBar().sizeHint().height()
            + table.horizontalHeader().sizeHint().height()
            + frame
            + 12
        )
        return QSize(width, rows + chrome)

    def _size_to_screen(self) -> None:
        """A default size that fits the screen the window opens on (the one under the
        mouse pointer, as window managers place new windows), centred on it."""
        candidates: list[QScreen | None] = [
            QGuiApplication.screenAt(QCursor.pos()),
            QGuiApplication.primaryScreen(),
        ]
        screen = next((s for s in candidates if s is not None), None)
        if screen is None:
            self.resize(self.preferred_size())
            return
        free = screen.availableGeometry()
        wanted = self.preferred_size()
        size = QSize(
            min(wanted.width(), int(free.width() * SCREEN_SHARE)),
            min(wanted.height(), int(free.height() * SCREEN_SHARE)),
        )
        self.setMinimumSize(
            QSize(min(MIN_SIZE.width(), size.width()), min(MIN_SIZE.height(), size.height()))
        )
        self.resize(size)
        self.move(free.center() - QPoint(size.width() // 2, size.height() // 2))

    def attach(self, adapter: VaultAdapter) -> None:
        self.adapter = adapter
        for action in self._adapter_actions:
            action.setEnabled(True)
        self._update_actions()
        if self.isVisible():
            self.second.start()
        adapter.accounts_loaded.connect(self._accounts_loaded)
        adapter.account_changed.connect(self._account_changed)
        adapter.account_removed.connect(self._account_removed)
        adapter.refresh_started.connect(lambda i: self.model.set_busy(i, True))
        adapter.refresh_finished.connect(lambda i: self.model.set_busy(i, False))
        adapter.refresh_failed.connect(lambda i, _m, at: self.model.set_retry(i, at))
        adapter.error.connect(self.show_error)
        adapter.unexpected.connect(self.show_unexpected)
        adapter.keyring_ready.connect(self._keyring_ready)
        adapter.keyring_unusable.connect(lambda why: self.status.set_keyring(None, why))

    # -- settings and remembered state ------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.model.settings = EngineSettings.from_settings(self.settings)
        self.model.set_pinned(self._ids("pinned_accounts"))
        preference = str(self.settings.get("colour_scheme") or "system")
        if preference not in theme.PREFERENCES:
            preference = "system"
        self.scheme_actions[preference].setChecked(True)
        app = QApplication.instance()
        if isinstance(app, QApplication) and preference != theme.theme().preference:
            theme.theme().apply(app, preference)
        if not self._restored:
            self.restore_state(self.settings)
        self.tray_menu_changed.emit()

    def _ids(self, key: str) -> list[str]:
        value = self.settings.get(key)
        return [str(v) for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def restore_state(self, settings: dict[str, Any]) -> None:
        """Size, position, column widths, sort order and toolbar as the user left them.
        Everything is checked: the file may have been edited, or come from another screen."""
        self._restored = True
        geometry = settings.get("window_geometry")
        if isinstance(geometry, str) and geometry:
            try:
                raw = base64.b64decode(geometry.encode("ascii"), validate=True)
            except (ValueError, binascii.Error, UnicodeError):
                raw = b""
            if raw and self.restoreGeometry(QByteArray(raw)):
                self._keep_on_screen()
        widths = settings.get("column_widths")
        if isinstance(widths, dict):
            for title, width in widths.items():
                if title in COLUMNS[:ACTIONS] and isinstance(width, int):
                    column = COLUMNS.index(title)
                    self._base_widths[column] = min(max(width, MIN_COLUMN), 2000)
            self._fit_columns()
        column_name = settings.get("sort_column")
        order = SORT_ORDERS.get(str(settings.get("sort_order")), Qt.SortOrder.AscendingOrder)
        if column_name in COLUMNS[:ACTIONS]:
            self.table.sortByColumn(COLUMNS.index(str(column_name)), order)
        visible = settings.get("toolbar_visible")
        if isinstance(visible, bool):
            self.toolbar.setVisible(visible)

    def _keep_on_screen(self) -> None:
        """A restored window larger than its screen (a smaller monitor now) is shrunk."""
        screen: QScreen | None = self.screen()
        if screen is None:
            return
        free = screen.availableGeometry()
        size = self.size().boundedTo(free.size())
        if size != self.size():
            self.resize(size)
        if not free.intersects(self.frameGeometry()):
            self.move(free.topLeft())

    def state_values(self) -> dict[str, Any]:
        """The window's remembered state, as settings."""
        header = self.table.horizontalHeader()
        return {
            "window_geometry": base64.b64encode(bytes(self.saveGeometry().data())).decode(),
            "column_widths": {COLUMNS[c]: w for c, w in sorted(self._base_widths.items())},
            "sort_column": COLUMNS[header.sortIndicatorSection()]
            if 0 <= header.sortIndicatorSection() < ACTIONS
            else COLUMNS[NAME],
            "sort_order": "descending"
            if header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
            else "ascending",
            "toolbar_visible": not self.toolbar.isHidden(),
        }

    def _save_state_soon(self) -> None:
        if self._restored:
            self._save_timer.start()

    def _remember(self, values: dict[str, Any]) -> None:
        """Keep settings in memory now and have them saved."""
        self.settings.update(values)
        self.state_changed.emit(values)

    def set_colour_scheme(self, preference: str) -> None:
        self._remember({"colour_scheme": preference})
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.theme().apply(app, preference)

    def _paint_selection(self, focused: bool) -> None:
        self.table.setPalette(theme.theme().selection_palette(self.table.palette(), focused))

    def _theme_changed(self) -> None:
        self._paint_selection(self.table.hasFocus())
        for action in self.actions():
            name = action.property("icon-name")
            if isinstance(name, str):
                action.setIcon(theme.icon(name))
        for row in list(self._row_widgets.values()):
            row.update_icons()
        if self.empty is not None:
            self.empty.update_icons()
        self.table.viewport().update()
        self.toolbar.setStyleSheet(TOOLBAR_FOCUS)

    # -- contents ---------------------------------------------------------------------------

    def _accounts_loaded(self, accounts: list[Account]) -> None:
        first = not self._loaded
        self._loaded = True
        self.model.set_accounts(accounts)
        self._update_empty()
        self._update_actions()
        if first:  # the first frame that shows the accounts (or the first-run page)
            page = self.stack.currentWidget()
            watched = self.table.viewport() if page is self.table or page is None else page
            first_paint.watch(watched, name="rows")

    def show_preview(self, accounts: list[Account]) -> None:
        """The accounts as launch.py read them for the first frame (AccountStore.preview).
        The adapter's load follows: the same accounts change nothing, others replace them,
        and a file that fails its checks takes them away (forget_preview)."""
        self._accounts_loaded(accounts)

    def forget_preview(self) -> None:
        """The metadata file failed the full load: show none of what the preview read."""
        self._loaded = False
        self.model.set_accounts([])
        self._update_empty()
        self._update_actions()

    def _account_changed(self, account: Account) -> None:
        known = self.model.row_of(account.id) is not None
        self.model.upsert(account)
        row = self._row_widgets.get(account.id)
        if row is not None:
            row.update_for(account)
        if not (known and self._loaded):  # a changed row leaves the table as full as it was
            self._loaded = True
            self._update_empty()
        if account.id == self.selected_id():
            self._update_actions()

    def _account_removed(self, account_id: str) -> None:
        self.model.remove(account_id)
        self._update_actions()

    def _update_empty(self, *_args: object) -> None:
        empty = self._loaded and self.model.rowCount() == 0
        self.stack.setCurrentWidget(self._empty_page() if empty else self.table)
        self.filter.setVisible(not empty)  # nothing to filter yet
        no_match = bool(self.filter.text().strip()) and not empty and self.proxy.rowCount() == 0
        self.no_match.setVisible(no_match)
        if no_match:
            self.no_match.setText(
                f"No account matches “{shown(self.filter.text(), 60)}”. Escape clears the filter."
            )

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_needle(text)
        self._update_empty()
        self._schedule_row_widgets()
        if self.proxy.rowCount() == 1:
            self.table.selectRow(0)

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
        """Once a second: the time-driven cells of the rows on screen (the others are worked
        out when they scroll into view), and the status bar."""
        proxy, source = self.proxy, self.proxy.mapToSource
        if self.isVisible():
            self.model.tick(source(proxy.index(row, 0)).row() for row in self._rows_on_screen())
        engine = self.adapter.engine
        next_at = engine.next_at
        self.status.set_next_refresh(
            None if next_at is None else next_at - time.time(), bool(engine.paused)
        )

    def _ensure_row_widgets(self, *_args: object) -> None:
        """Row buttons exist for the rows on screen only, so 2,000 accounts cost no more to
        show than 20; scrolling creates the rest as they appear."""
        for row in self._rows_on_screen():
            index = self.proxy.index(row, ACTIONS)
            if self.table.indexWidget(index) is not None:
                continue
            account = self.model.account(str(index.data(ID_ROLE)))
            if account is None:
                continue
            actions = RowActions(account)
            actions.triggered.connect(self._row_button)
            self._row_widgets[account.id] = actions
            actions.destroyed.connect(
                lambda *_a, i=account.id, w=actions: (
                    self._row_widgets.pop(i, None) if self._row_widgets.get(i) is w else None
                )
            )
            self.table.setIndexWidget(index, actions)

    def _row_button(self, action: str, account_id: str) -> None:
        self.select_account(account_id)
        self.act(action, account_id)

    # -- columns ----------------------------------------------------------------------------

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if self._fitting or column == ACTIONS:
            return
        self._base_widths[column] = new  # the user's width for it
        self._fit_columns()
        self._save_state_soon()

    def _fit_columns(self) -> None:
        """Columns keep the widths they were given; room left over goes to Name, so the
        table fills the window. The actions column never shrinks: when the columns are wider
        than the window, the table scrolls sideways instead."""
        available = self.table.viewport().width()
        used = sum(self._base_widths.values()) + self.actions_width
        extra = max(available - used, 0)
        self._fitting = True
        try:
            for column, width in self._base_widths.items():
                target = width + (extra if column == NAME else 0)
                if self.table.columnWidth(column) != target:
                    self.table.setColumnWidth(column, target)
            if self.table.columnWidth(ACTIONS) != self.actions_width:
                self.table.setColumnWidth(ACTIONS, self.actions_width)
        finally:
            self._fitting = False

    # -- events -----------------------------------------------------------------------------

    @guarded(fallback=False)
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
            self._schedule_row_widgets()
        elif watched is self.table and event.type() == QEvent.Type.FocusIn:
            # Focus is always visible: the table shows it by its selected row, in the
            # highlight colour (a quieter one while the focus is elsewhere).
            self._paint_selection(True)
            QTimer.singleShot(0, self._select_current_row)  # after the view's own handling
        elif watched is self.table and event.type() == QEvent.Type.FocusOut:
            self._paint_selection(False)
        elif watched is self.filter and isinstance(event, QKeyEvent):
            return self._filter_key(event)
        return False

    def _select_current_row(self) -> None:
        if not self.table.selectionModel().hasSelection() and self.proxy.rowCount():
            self.table.selectRow(max(self.table.currentIndex().row(), 0))

    def _filter_key(self, event: QKeyEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            if event.matches(QKeySequence.StandardKey.Copy) and not self.filter.hasSelectedText():
                event.accept()  # ours, not the line edit's
                return True
            return False
        if event.type() != QEvent.Type.KeyPress:
            return False
        if event.matches(QKeySequence.StandardKey.Copy) and not self.filter.hasSelectedText():
            self._copy_shortcut()
            return True
        if event.key() == Qt.Key.Key_Escape:
            if self.filter.text():
                self.filter.clear()
            else:
                self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        if event.key() == Qt.Key.Key_Down and self.proxy.rowCount():
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return False

    @guarded()
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if hasattr(self, "adapter") and not self.second.isActive():
            self.tick()  # what a second of sleep, or an hour in the tray, changed
            self.second.start()

    @guarded()
    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.second.stop()

    @guarded()
    def closeEvent(self, event: QCloseEvent) -> None:
        self.state_changed.emit(self.state_values())
        if self.hide_to_tray:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
            return
        event.accept()
        self.quit_requested.emit()

    # -- selection --------------------------------------------------------------------------

    def add_actions(self, *, account: list[QAction], window: list[QAction]) -> None:
        """Actions of other parts of the app (the local proxies): `account` ones act on the
        selected account (Account menu, context menu; enabled as the others are), `window`
        ones go to the View menu."""
        self._extra_account_actions.extend(account)
        self.account_actions.extend(account)
        self._adapter_actions.extend(account)
        self.account_menu.addSeparator()
        self.account_menu.addActions(account)
        self.view_menu.addSeparator()
        self.view_menu.addActions(window)
        self._update_actions()

    def selected_id(self) -> str | None:
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            return None
        return str(indexes[0].data(ID_ROLE))

    def selected_account(self) -> Account | None:
        account_id = self.selected_id()
        return None if account_id is None else self.model.account(account_id)

    def select_account(self, account_id: str) -> bool:
        row = self.model.row_of(account_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, NAME))
        if not index.isValid():  # filtered out: show everything again
            self.filter.clear()
            index = self.proxy.mapFromSource(self.model.index(row, NAME))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def show_account(self, account_id: str | None) -> None:
        """Bring the window up with the account selected (a notification was clicked)."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if account_id is not None:
            self.select_account(account_id)
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_actions(self) -> None:
        account = self.selected_account()
        attached = hasattr(self, "adapter")
        for action in self.account_actions:
            action.setEnabled(attached and account is not None)
        if account is None or not attached:
            self.pin_action.setChecked(False)
            return
        from vault_app.gui.plain_words import is_interactive

        # A browser or device account may sign in again at any time (another user, say).
        needs_user = account.status in (Status.SIGN_IN_NEEDED, Status.SIGNED_OUT)
        self.sign_in_action.setEnabled(needs_user or is_interactive(account))
        self.revoke_action.setEnabled(account.status is not Status.SIGNED_OUT)
        self.pin_action.setChecked(account.id in self.model.pinned)

    def _on_selected(self, action: str) -> None:
        account_id = self.selected_id()
        if account_id is None:
            if self.proxy.rowCount() == 1:  # one match for the filter: that one
                account_id = str(self.proxy.index(0, NAME).data(ID_ROLE))
            else:
                self.status.show_message("Select an account first.")
                return
        self.act(action, account_id)

    def _copy_shortcut(self) -> None:
        """Ctrl+C: the filter's selected text if it has some, else the selected (or only
        listed) account's token."""
        if self.filter.hasFocus() and self.filter.hasSelectedText():
            self.filter.copy()
            return
        self._on_selected("copy")

    def focus_filter(self) -> None:
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()

    def _context_menu(self, point: QPoint) -> None:
        index = self.table.indexAt(point)
        if not index.isValid():
            index = self.table.currentIndex()  # the Menu key: the current row
            if not index.isValid():
                return
            point = self.table.visualRect(index).center()
        self.table.selectRow(index.row())
        menu = QMenu(self)
        self._fill_account_menu(menu)
        menu.popup(self.table.viewport().mapToGlobal(point))

    # -- actions ----------------------------------------------------------------------------

    def act(self, action: str, account_id: str) -> None:
        account = self.model.account(account_id)
        if account is None:
            return
        if action == "copy":
            self.copy(account)
        elif action == "show":
            self._open_show(account)
        elif action == "refresh":
            self.refresh(account)
        elif action == "revoke":
            self.confirm_revoke(account)
        elif action == "sign_in":
            self.open_sign_in(account)
        elif action == "edit":
            self.open_edit(account)
        elif action == "pin":
            self.toggle_pin(account.id)
        elif action == "remove":
            self.confirm_remove(account)

    def copy(self, account: Account) -> None:
        """Copy in the default format, refreshing first if the token is expired. A signed-out
        account is never signed back in without asking; one whose token has expired and that
        needs a sign-in says so at once."""
        if account.status is Status.SIGNED_OUT:
            self._ask_sign_in_first(account, "copy")
            return
        expired = account.access_expires_at is None or account.access_expires_at <= time.time()
        if account.status is Status.SIGN_IN_NEEDED and expired:
            self._copy_failed(account, RejectedError(account.last_error or "sign-in needed"))
            return

        def put(tokens: TokenSet) -> None:
            from vault_app.gui.show_dialog import copy_forms

            form = str(self.settings.get("copy_format") or "raw")
            self.copy_text(copy_forms(account, tokens).get(form) or tokens.access_token)
            words = f"Copied {shown(account.name, 60)}."
            left = tokens.remaining()
            if account.status is Status.SIGN_IN_NEEDED and left is not None:
                words = (
                    f"Copied {shown(account.name, 60)}: this token expires in {span(left)}, "
                    "and the account needs a new sign-in (Account ▸ Sign in…)."
                )
            self.status.show_message(words)
            self._note_copied(account.id)

        # The server refused this account's refresh: hand out what is left of its token
        # rather than ask again (the status bar says how long it lasts).
        min_valid = 1 if account.status is Status.SIGN_IN_NEEDED else 30
        self.adapter.spawn(
            self.adapter.token(account.id, min_valid),
            put,
            on_error=lambda exc: self._copy_failed(account, exc),
        )

    def _copy_failed(self, account: Account, exc: BaseException) -> None:
        # Whatever an earlier copy left would be pasted in its place: take it away.
        if self.clipboard.holds_ours():
            self.clipboard.wipe()
        self.report(failure("copy the token of", account, exc, retried=True))

    def copy_text(self, text: str) -> None:
        self.clipboard.copy(text, int(self.settings.get("clipboard_seconds") or 0))

    def _open_show(self, account: Account, tokens: TokenSet | None = None) -> None:
        """Show opens at once, also for a failing account: the dialog fetches the token
        itself, follows the account, and says what is wrong when there is no token."""
        from vault_app.gui.show_dialog import ShowDialog

        dialog = ShowDialog(account, tokens, self.copy_text, self, adapter=self.adapter)
        dialog.sign_in_requested.connect(self.open_sign_in)
        self._keep(dialog)
        dialog.open()

    def _note_copied(self, account_id: str) -> None:
        recent = [account_id, *(i for i in self._ids("recent_accounts") if i != account_id)]
        self._remember({"recent_accounts": recent[:TRAY_MENU_RECENT]})
        self.tray_menu_changed.emit()

    def toggle_pin(self, account_id: str) -> None:
        pinned = self._ids("pinned_accounts")
        if account_id in pinned:
            pinned.remove(account_id)
        else:
            pinned.append(account_id)
        self._remember({"pinned_accounts": pinned})
        self.model.set_pinned(pinned)
        self._update_actions()
        self.tray_menu_changed.emit()

    def refresh(self, account: Account) -> None:
        if account.provider == "static":
            self.status.show_message(
                f"{shown(account.name, 60)} is a fixed key: there is nothing to refresh. "
                "To replace it, choose Account ▸ Edit…",
                20,
            )
            return
        if account.status is Status.SIGNED_OUT:
            self._ask_sign_in_first(account, "refresh")
            return
        self.adapter.spawn(
            self.adapter.refresh_now([account.id]),
            lambda events: self._refreshed(events, [account]),
            on_error=lambda exc: self.report(failure("refresh", account, exc, retried=True)),
        )

    def refresh_all(self) -> None:
        # Fixed keys have nothing to refresh; signed-out accounts and those the server
        # refused wait for the user (Sign in…), as the engine leaves them.
        waiting = (Status.SIGNED_OUT, Status.SIGN_IN_NEEDED)
        accounts = [
            a for a in self.model.accounts() if a.provider != "static" and a.status not in waiting
        ]
        left_out = sum(a.status in waiting for a in self.model.accounts())
        words = f"Refreshing {len(accounts)} account{'s' if len(accounts) != 1 else ''}"
        if left_out:
            words += f" ({left_out} need a sign-in first)"
        self.status.show_message(words + "…")
        self.adapter.spawn(
            self.adapter.refresh_now([a.id for a in accounts]),
            lambda events: self._refreshed(events, accounts),
            on_error=lambda exc: self.report(
                failure("refresh the accounts", None, exc, retried=True)
            ),
        )

    def _refreshed(self, events: dict[str, Event], accounts: list[Account]) -> None:
        from vault_app.core.engine import EventKind

        failed: list[tuple[Account, UserFacingError]] = []
        for account in accounts:
            event = events.get(account.id)
            if event is None:
                continue
            if event.kind is EventKind.SIGN_IN_NEEDED:
                failed.append((account, RejectedError(event.message or "rejected")))
            elif event.kind is EventKind.REFRESH_FAILED:
                failed.append((account, TransientError(event.message or "failed")))
        done = len(accounts) - len(failed)
        if len(failed) == 1:
            account, exc = failed[0]
            self.report(failure("refresh", account, exc, retried=True))
        elif failed:
            lines = "\n".join(f"• {shown(a.name, 60)}: {shown(e.message, 300)}" for a, e in failed)
            self.report(
                Failure(
                    f"Could not refresh {len(failed)} of {len(accounts)} accounts",
                    lines,
                    "Token Vault keeps the stored tokens and tries again on its own. Accounts "
                    "the server refused need a new sign-in (Account ▸ Sign in…).",
                )
            )
        if done:
            names = shown(accounts[0].name, 60) if len(accounts) == 1 else f"{done} accounts"
            self.status.show_message(f"Refreshed {names}.")

    def _ask_sign_in_first(self, account: Account, verb: str) -> None:
        """A signed-out account is only signed in again when the user says so."""
        name = shown(account.name, 60)
        if not self.isVisible():
            if self.notify is not None:
                self.notify(
                    f"{name} is signed out",
                    "Open Token Vault and choose Account ▸ Sign in… to use it again.",
                    account.id,
                    True,
                )
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            f"{name} is signed out",
            f"{name} holds no token: it was revoked, imported or never signed in.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText("Sign in again to get a new token?")
        go = box.addButton("Sign in…", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(go)

        def done(_result: int) -> None:
            if box.clickedButton() is go:
                self.open_sign_in(account)

        box.finished.connect(done)
        self._keep(box)
        box.open()

    def _keep(self, dialog: QWidget) -> None:
        self._dialogs.append(dialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(
            lambda *_a, d=dialog: self._dialogs.remove(d) if d in self._dialogs else None
        )

    # -- failures and messages --------------------------------------------------------------

    def report(self, what: Failure) -> None:
        """A failure in full: a message box while the window is on screen, a notification
        (whose click shows the account) while it is hidden in the tray."""
        self.status.show_message(f"{what.title}.", 30)
        hidden = not self.isVisible()
        if (
            hidden
            and self.notify is not None
            and self.notify(what.title, what.text(), what.account_id, True)
        ):
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Token Vault",
            what.title + ".",
            QMessageBox.StandardButton.Close,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(what.text())
        sign_in = None
        if what.offer_sign_in and what.account_id is not None:
            sign_in = box.addButton("Sign in…", QMessageBox.ButtonRole.AcceptRole)
            box.setDefaultButton(sign_in)

        def done(_result: int) -> None:
            if sign_in is not None and box.clickedButton() is sign_in:
                account = self.model.account(what.account_id or "")
                if account is not None:
                    self.open_sign_in(account)

        box.finished.connect(done)
        self._keep(box)
        box.open()

    def show_error(self, message: str) -> None:
        """A failure the adapter reported without an account (loading the vault, a dialog's
        work): in the status bar, and in a message box unless a dialog already says it."""
        self.status.show_message(message, 30)
        if QApplication.activeModalWidget() is None:
            self.report(Failure("Token Vault could not do that", shown(message, 2000), ""))

    def show_unexpected(self, message: str) -> None:
        """A bug: a message box every time (what was being done failed, and the user needs
        to know); details are in the log."""
        self.report(Failure("Unexpected error", message, ""))

    def _keyring_ready(self, name: str) -> None:
        self.keyring_backend = name
        self.status.set_keyring(name)

    # -- dialogs ----------------------------------------------------------------------------

    def confirm_revoke(self, account: Account) -> None:
        from vault_app.gui.revoke_dialog import RevokeDialog

        box = RevokeDialog(account, self)

        def revoked(outcome: RevokeOutcome) -> None:
            self.statusBar().showMessage(f"{account.name}: {outcome.message}", 10000)

        def failed(error: UserFacingError) -> None:
            from vault_app.gui.revoke_dialog import report_failure

            report_failure(self, account, error)

        def done(result: int) -> None:
            if result == RevokeDialog.DialogCode.Accepted:
                self.adapter.spawn(self.adapter.revoke(account.id), revoked, failed)

        box.finished.connect(done)
        self._keep(box)
        box.open()

    def confirm_remove(self, account: Account) -> None:
        name = shown(account.name, 60)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            f"Remove {name}?",
            f"Remove {name} and delete its secrets from the keyring? "
            "Its tokens are not revoked at the server.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def done(_result: int) -> None:
            if box.clickedButton() is remove:
                self.adapter.spawn(
                    self.adapter.remove(account.id),
                    lambda _none: self.status.show_message(f"Removed {name}."),
                    on_error=lambda exc: self.report(failure("remove", account, exc)),
                )

        box.finished.connect(done)
        self._keep(box)
        box.open()

    def open_add(self) -> None:
        from vault_app.gui.account_dialog import AccountDialog

        self._open_account_dialog(AccountDialog(parent=self, adapter=self.adapter))

    def open_edit(self, account: Account) -> None:
        from vault_app.gui.account_dialog import AccountDialog

        if self._provider_known(account, "edit"):
            self._open_account_dialog(AccountDialog(account, parent=self, adapter=self.adapter))

    def _provider_known(self, account: Account, verb: str) -> bool:
        """An account of a provider kind this version lacks (written by a newer version, or
        a hand-edited file) has no form: another provider's would stand in for it."""
        from vault_app.core.providers.base import kinds

        if account.provider in kinds():
            return True
        name, kind = shown(account.name, 60), shown(account.provider, 60)
        self.report(
            Failure(
                f"Cannot {verb} {name}",
                f"{name} uses the provider “{kind}”, which this version of Token Vault does "
                "not know (the account may come from a newer version).",
                "Its stored data is left as it is. Update Token Vault to use it, or remove it.",
                account.id,
            )
        )
        return False

    def open_sign_in(self, account: Account) -> None:
        """The account's form in sign-in mode: the reason shown, the field to replace
        focused, Name and Provider locked. A browser or device account's form has "Sign in
        with browser" / "Get a sign-in code" as its button (gui/interactive_sign_in.py):
        nothing opens in a browser until that is pressed."""
        from vault_app.gui.account_dialog import AccountDialog

        if self._provider_known(account, "sign in to"):
            self._open_account_dialog(AccountDialog.for_sign_in(account, parent=self))

    def _open_account_dialog(self, dialog: AccountDialog) -> None:
        """The dialog stores and signs in by itself (through the adapter); once it is done
        the window selects the account and says so."""

        def saved(account: Account) -> None:
            self.model.upsert(account)
            self._update_empty()
            for row in range(self.proxy.rowCount()):
                if self.proxy.index(row, NAME).data(ID_ROLE) == account.id:
                    self.table.selectRow(row)
                    self.table.scrollTo(self.proxy.index(row, NAME))
                    break
            state = "signed in" if account.status is Status.OK else "saved, not signed in"
            self.statusBar().showMessage(f"{account.name}: {state}", 10000)

        dialog.saved.connect(saved)
        self._keep(dialog)
        dialog.open()

    def open_settings(self) -> None:
        from vault_app.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.adapter.autostart_enabled(), self)

        def done(result: int) -> None:
            if result == SettingsDialog.DialogCode.Accepted:
                values = dialog.values()
                self.apply_settings({**self.settings, **values})
                self.adapter.spawn(
                    self.adapter.save_settings(values),
                    self.apply_settings,
                    on_error=lambda exc: self.report(failure("save the settings", None, exc)),
                )

        dialog.finished.connect(done)
        self._keep(dialog)
        dialog.open()

    def open_shortcuts(self) -> None:
        from vault_app.gui.help_dialogs import ShortcutsDialog

        dialog = ShortcutsDialog(self.actions(), self)
        self._keep(dialog)
        dialog.open()

    def open_about(self) -> None:
        from vault_app.gui.help_dialogs import about_text
        from vault_app.gui.status_bar import keyring_words

        home = str(self.adapter.vault.store.path) if hasattr(self, "adapter") else ""
        box = QMessageBox(self)
        box.setWindowTitle("About Token Vault")
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(about_text(home, keyring_words(self.keyring_backend)))
        self._keep(box)
        box.open()

    def start_demo(self) -> None:
        from PySide6.QtCore import QProcess

        from vault_app.system.launcher import launch_command

        command = launch_command()
        QProcess.startDetached(command[0], [*command[1:], "--demo"])
        self.status.show_message("Starting the demo in a second window…")

    # -- import and export ------------------------------------------------------------------

    def export_accounts(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _kind = QFileDialog.getSaveFileName(
            self,
            "Export account definitions (no secrets)",
            str(Path.home() / "token-vault-accounts.json"),
            "Token Vault export (*.json);;All files (*)",
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        def done(count: int) -> None:
            self.status.show_message(
                f"Exported {count} account definition{'s' if count != 1 else ''} to {path} "
                "(names and settings, no secrets).",
                20,
            )

        self.adapter.spawn(
            self.adapter.export_accounts(path),
            done,
            on_error=lambda exc: self.report(failure(f"export to {path}", None, exc)),
        )

    def import_accounts(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _kind = QFileDialog.getOpenFileName(
            self,
            "Import account definitions",
            str(Path.home()),
            "Token Vault export (*.json);;All files (*)",
        )
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path) -> None:
        def done(result: Any) -> None:
            added, skipped = list(result.added), list(result.skipped)
            lines = []
            if added:
                lines.append(f"Added {len(added)}: {', '.join(shown(n, 60) for n in added)}.")
            if skipped:
                lines.append(
                    f"Skipped {len(skipped)} that exist already: "
                    f"{', '.join(shown(n, 60) for n in skipped)}."
                )
            if added:
                lines.append(
                    "Imported accounts hold no secrets yet: sign in to each one (select it, "
                    "then Account ▸ Sign in…)."
                )
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Import",
                f"Imported from {shown(path, 200)}." if added else "Nothing was imported.",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setInformativeText("\n\n".join(lines))
            self._keep(box)
            box.open()

        self.adapter.spawn(
            self.adapter.import_accounts(path),
            done,
            on_error=lambda exc: self.report(failure(f"import {path}", None, exc)),
        )
