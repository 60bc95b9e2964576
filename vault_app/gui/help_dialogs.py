"""Help: the keyboard shortcuts (listed from the window's own actions, so the list is never
out of date) and About."""

from __future__ import annotations

import html

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vault_app import __version__

EXTRA_KEYS = (
    ("Tab / Shift+Tab", "Move between the toolbar, the filter and the table"),
    ("Escape (in the filter)", "Clear the filter; again: back to the table"),
    ("Ctrl+C (in the filter)", "Copy the token of the selected (or only) account"),
    ("Down (in the filter)", "Go to the table"),
    ("Menu key / Shift+F10", "The selected account's context menu"),
    ("Alt+letter / F10", "The menu bar"),
)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(keys, what) for each action with a shortcut, then the keys that are not actions."""
    rows = []
    for action in actions:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.text().replace("&", "").rstrip("…")))
    return rows + list(EXTRA_KEYS)


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        for row, (keys, what) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(what))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, min(600, 60 + 28 * len(rows)))


def about_text(home: str, keyring: str) -> str:
    """Rich text for the About box; every value in it is escaped."""
    return (
        f"<h3>Token Vault {html.escape(__version__)}</h3>"
        "<p>Keeps API access tokens fresh in the background and copies them with one click. "
        "Every secret stays in the system keyring.</p>"
        f"<p>Accounts file: {html.escape(home)}<br>{html.escape(keyring)}</p>"
        "<p>From a terminal: <code>token-vault token NAME</code> prints a valid token; "
        "<code>token-vault --help</code> lists the rest.</p>"
        "<p>MIT licence.</p>"
    )
