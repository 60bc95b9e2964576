"""The account table's model: metadata only, never a secret. A 1 Hz tick repaints only the
time columns; statuses and icons change through the adapter's signals."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QIcon

from vault_app.core.model import Account, Status
from vault_app.core.schedule import EngineSettings, refresh_at
from vault_app.core.timefmt import ago, relative, span
from vault_app.resource_files import resource_path

COLUMNS = ("Name", "Provider", "Status", "Access token", "Refresh token", "Last refresh", "")
NAME, PROVIDER, STATUS, ACCESS, REFRESH, LAST, ACTIONS = range(len(COLUMNS))
TICKING = (ACCESS, LAST)  # the columns whose text changes with time alone
SORT_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
TICK_ROLE = Qt.ItemDataRole.UserRole + 2  # (text, colour or None) in one call, for painting
AMBER = QColor("#b7791f")
RED = QColor("#c2372f")

_Index = QModelIndex | QPersistentModelIndex
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.ToolTipRole,
        SORT_ROLE,
        ID_ROLE,
        TICK_ROLE,
    }
)


class AccountModel(QAbstractTableModel):
    def __init__(
        self, accounts: list[Account] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._accounts: list[Account] = list(accounts or [])
        self._rows: dict[str, int] = {}
        self._busy: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self.settings = EngineSettings()
        self._icons: dict[str, QIcon] = {}
        self._shown: dict[tuple[str, int], tuple[str | None, int | None]] = {}  # tick's memory
        self._reindex()

    # -- contents ---------------------------------------------------------------------------

    def _reindex(self) -> None:
        self._rows = {a.id: i for i, a in enumerate(self._accounts)}

    def set_accounts(self, accounts: list[Account]) -> None:
        self._shown.clear()
        self.beginResetModel()
        self._accounts = list(accounts)
        self._reindex()
        self.endResetModel()

    def accounts(self) -> list[Account]:
        return list(self._accounts)

    def account(self, account_id: str) -> Account | None:
        row = self._rows.get(account_id)
        return None if row is None else self._accounts[row]

    def upsert(self, account: Account) -> None:
        row = self._rows.get(account.id)
        if row is None:
            row = len(self._accounts)
            self.beginInsertRows(QModelIndex(), row, row)
            self._accounts.append(account)
            self._rows[account.id] = row
            self.endInsertRows()
            return
        self._accounts[row] = account
        self._row_changed(row)

    def remove(self, account_id: str) -> None:
        row = self._rows.get(account_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._accounts[row]
        self._reindex()
        self.endRemoveRows()

    def set_busy(self, account_id: str, busy: bool) -> None:
        (self._busy.add if busy else self._busy.discard)(account_id)
        if busy:
            self._retry_at.pop(account_id, None)
        self._status_changed(account_id)

    def set_retry(self, account_id: str, retry_at: float) -> None:
        self._retry_at[account_id] = retry_at
        self._status_changed(account_id)

    def _status_changed(self, account_id: str) -> None:
        row = self._rows.get(account_id)
        if row is not None:
            index = self.index(row, STATUS)
            self.dataChanged.emit(index, index)

    def _row_changed(self, row: int) -> None:
        # One signal per cell: a view repaints a changed single cell only if it is on
        # screen, but any range by repainting everything (20 ms with buttons on 15 rows).
        for column in range(ACTIONS):
            cell = self.index(row, column)
            self.dataChanged.emit(cell, cell)

    def tick(self, rows: Iterable[int] | None = None) -> None:
        """Time passed: the countdown cells of `rows` (the window passes the rows on screen)
        whose text or colour changed since the last tick get a signal each, so a view
        repaints those cells and nothing else (a range of cells makes it repaint
        everything). None: every row, one signal per column."""
        roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole]
        if rows is None:
            if self._accounts:
                last = len(self._accounts) - 1
                for column in TICKING:
                    self.dataChanged.emit(self.index(0, column), self.index(last, column), roles)
            return
        now = time.time()
        shown = self._shown
        for row in rows:
            account = self._accounts[row]
            for column in TICKING:
                text, color = self._looks(account, column, now)
                looks = (text, None if color is None else color.rgb())
                key = (account.id, column)
                if shown.get(key) != looks:
                    shown[key] = looks
                    cell = self.index(row, column)
                    self.dataChanged.emit(cell, cell, roles)

    # -- Qt model API -----------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._accounts)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def status_key(self, account: Account, now: float) -> str:
        if account.id in self._busy:
            return "refreshing"
        if account.id in self._retry_at and account.status is Status.ERROR:
            return "retrying"
        shown = account.display_status(now)
        return "error" if shown == "expired" else shown

    def status_text(self, account: Account, now: float) -> str:
        key = self.status_key(account, now)
        if key == "retrying":
            return f"Retrying in {span(max(self._retry_at[account.id] - now, 0))}"
        return {
            "ok": "OK",
            "refreshing": "Refreshing…",
            "sign_in_needed": "Sign-in needed",
            "signed_out": "Signed out",
            "error": "Error",
        }.get(key, key)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Painting asks every cell for ten roles; most are answered "none" right here.
        if role not in _ROLES or not index.isValid() or not 0 <= index.row() < len(self._accounts):
            return None
        account = self._accounts[index.row()]
        column = index.column()
        now = time.time()
        if role == ID_ROLE:
            return account.id
        if role == TICK_ROLE:
            return self._looks(account, column, now)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(account, column, now)
        if role == SORT_ROLE:
            return self._sort_key(account, column)
        if role == Qt.ItemDataRole.DecorationRole and column == STATUS:
            return self._icon(self.status_key(account, now))
        if role == Qt.ItemDataRole.ForegroundRole and column == ACCESS:
            return self._countdown_brush(account, now)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == STATUS and account.last_error:
                return account.last_error
            if column == REFRESH:
                return account.refresh_warning(now)
        return None

    def _text(self, account: Account, column: int, now: float) -> str | None:
        if column == NAME:
            return account.name
        if column == PROVIDER:
            return account.provider
        if column == STATUS:
            return self.status_text(account, now)
        if column == ACCESS:
            if account.status in (Status.SIGNED_OUT,):
                return "—"
            if account.access_expires_at is None:
                return "expiry unknown"
            left = account.access_expires_at - now
            return f"expired {span(left)} ago" if left <= 0 else span(left)
        if column == REFRESH:
            warning = account.refresh_warning(now)
            return (
                warning.replace("the refresh token ", "")
                if warning
                else relative(account.refresh_expires_at, now, unknown="—")
            )
        if column == LAST:
            return ago(account.last_refresh_at, now, unknown="never")
        return None

    def _looks(self, account: Account, column: int, now: float) -> tuple[str | None, QColor | None]:
        """What a countdown cell shows: its text and, when not the default, its colour."""
        brush = self._countdown_brush(account, now) if column == ACCESS else None
        return self._text(account, column, now), None if brush is None else brush.color()

    def _sort_key(self, account: Account, column: int) -> Any:
        if column == ACCESS:
            return account.access_expires_at or float("inf")
        if column == REFRESH:
            return account.refresh_expires_at or float("inf")
        if column == LAST:
            return account.last_refresh_at or 0.0
        return (self._text(account, column, time.time()) or "").lower()

    def _countdown_brush(self, account: Account, now: float) -> QBrush | None:
        expires = account.access_expires_at
        if expires is None or account.status is Status.SIGNED_OUT:
            return None
        if expires <= now:
            return QBrush(RED)
        due = refresh_at(account, self.settings, 0.0)
        if due is not None and now >= due:
            return QBrush(AMBER)
        return None

    def _icon(self, key: str) -> QIcon:
        icon = self._icons.get(key)
        if icon is None:
            icon = self._icons[key] = QIcon(str(resource_path(f"icons/status-{key}.svg")))
        return icon


class AccountFilter(QSortFilterProxyModel):
    """The filter box: matches name, provider or status, case-insensitively."""

    def __init__(self, source: AccountModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        # Time columns change every second; re-sorting on each tick would jump rows about.
        self.setDynamicSortFilter(False)
