"""The accounts table view: a list of accounts, one per row, moved through by row."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView

from vault_app.gui.guard import guarded

_Move = QAbstractItemView.CursorAction


class AccountTable(QTableView):
    """Home and End go to the first and the last account (with or without Ctrl), as in any
    list of entries; QTableView's own Home and End go to the first and last column, which
    on a narrow window scrolls the names out of sight and leaves the selection in place."""

    @guarded(fallback=lambda self, *_a: QModelIndex())
    def moveCursor(self, cursorAction: _Move, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        if cursorAction in (_Move.MoveHome, _Move.MoveEnd):
            model = self.model()
            rows = model.rowCount() if model is not None else 0
            if rows == 0:
                return QModelIndex()
            column = max(self.currentIndex().column(), 0)
            row = 0 if cursorAction == _Move.MoveHome else rows - 1
            return model.index(row, column)
        return super().moveCursor(cursorAction, modifiers)
