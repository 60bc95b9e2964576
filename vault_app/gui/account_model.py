"""The account table's model: metadata only, never a secret."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from vault_app.core.model import Account
from vault_app.core.timefmt import relative

COLUMNS = ("Name", "Provider", "Status", "Access token", "Refresh token", "Last refresh")

_Index = QModelIndex | QPersistentModelIndex


class AccountModel(QAbstractTableModel):
    def __init__(self, accounts: list[Account] | None = None) -> None:
        super().__init__()
        self._accounts: list[Account] = list(accounts or [])

    def set_accounts(self, accounts: list[Account]) -> None:
        self.beginResetModel()
        self._accounts = list(accounts)
        self.endResetModel()

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

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= index.row() < len(self._accounts):
            return None
        account = self._accounts[index.row()]
        now = time.time()
        column = index.column()
        if column == 0:
            return account.name
        if column == 1:
            return account.provider
        if column == 2:
            return account.display_status(now).replace("_", " ")
        if column == 3:
            return relative(
                account.access_expires_at,
                now,
                unknown="expiry unknown" if account.status.value == "ok" else "-",
            )
        if column == 4:
            return relative(account.refresh_expires_at, now)
        if column == 5:
            return relative(account.last_refresh_at, now)
        return None
