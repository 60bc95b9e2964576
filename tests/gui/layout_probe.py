"""What a person sees of the row buttons, measured: the window at its default size with many
accounts (a vertical scrollbar), after widening another column, and maximised. Used in
process by test_layout.py, and as a child process for other screens and scales:

    QT_SCALE_FACTOR=2 python -m tests.gui.layout_probe 200     prints the measures as JSON
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QSize
from PySide6.QtWidgets import QApplication, QToolButton

from vault_app.core.model import Account, Status
from vault_app.gui.account_model import ACTIONS, COLUMNS, NAME, STATUS
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow
from vault_app.gui.row_actions import RowActions


def accounts(count: int) -> list[Account]:
    now = time.time()
    kinds = ("alor", "traderevolution", "apirone", "oauth2", "static")
    return [
        Account(
            id=f"id-{n}",
            name=f"account-with-a-longish-name-{n:04d}" if n % 7 == 0 else f"account-{n:04d}",
            provider=kinds[n % len(kinds)],
            status=(Status.OK, Status.ERROR, Status.SIGN_IN_NEEDED)[n % 3],
            access_expires_at=now + 30 + n * 7,
            refresh_expires_at=now + 30 * 86400,
            last_refresh_at=now - 120,
        )
        for n in range(count)
    ]


def settle() -> None:
    for _ in range(5):
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def rows(window: MainWindow) -> dict[str, Any]:
    """The row buttons on screen, against the room they have."""
    table = window.table
    problems: list[str] = []
    seen = 0
    for row in window._rows_on_screen():
        index = window.proxy.index(row, ACTIONS)
        widget = table.indexWidget(index)
        if not isinstance(widget, RowActions):
            problems.append(f"row {row}: no buttons")
            continue
        seen += 1
        cell = table.visualRect(index)
        if widget.width() < widget.sizeHint().width():
            problems.append(f"row {row}: buttons squeezed ({widget.width()} < hint)")
        if cell.width() < widget.sizeHint().width():
            problems.append(f"row {row}: cell {cell.width()} px narrower than its buttons")
        for action, button in widget.buttons.items():
            hint: QSize = button.sizeHint()
            if button.width() < hint.width() or button.height() < hint.height():
                problems.append(f"row {row}: {action} squeezed to {button.size().toTuple()}")
            if not widget.rect().contains(button.geometry()):
                problems.append(f"row {row}: {action} outside its cell")
            if button.toolButtonStyle().name != "ToolButtonIconOnly" or button.icon().isNull():
                problems.append(f"row {row}: {action} is not an icon button")
            if not button.toolTip() or not button.accessibleName():
                problems.append(f"row {row}: {action} has no tooltip or accessible name")
    return {"rows_with_buttons": seen, "problems": problems}


def headers(window: MainWindow) -> list[str]:
    """Column titles cut short."""
    header = window.table.horizontalHeader()
    metrics = header.fontMetrics()
    return [
        title
        for column, title in enumerate(COLUMNS)
        if header.sectionSize(column) < metrics.horizontalAdvance(title) + 8
    ]


def toolbar(window: MainWindow) -> list[str]:
    """Toolbar buttons cut short (or hidden in the overflow menu while there is room)."""
    out = []
    for button in window.toolbar.findChildren(QToolButton):
        if button.isVisible() and button.width() < button.sizeHint().width():
            out.append(button.text())
    return out


def measure(window: MainWindow) -> dict[str, Any]:
    """Default size, after widening Name and Status by 300 px, and maximised."""
    screen = window.screen().availableGeometry()
    out: dict[str, Any] = {
        "screen": [screen.width(), screen.height()],
        "window": [window.frameGeometry().width(), window.frameGeometry().height()],
        "fits": screen.contains(window.frameGeometry())
        or (window.width() <= screen.width() and window.height() <= screen.height()),
        "vertical_scrollbar": window.table.verticalScrollBar().isVisible(),
        "default": rows(window),
        "headers_cut": headers(window),
        "toolbar_cut": toolbar(window),
        "actions_width": window.table.columnWidth(ACTIONS),
    }
    for column in (NAME, STATUS):
        window.table.setColumnWidth(column, window.table.columnWidth(column) + 300)
    settle()
    window._ensure_row_widgets()
    settle()
    out["widened"] = rows(window)
    out["widened_actions_width"] = window.table.columnWidth(ACTIONS)
    out["horizontal_scrollbar_after_widening"] = window.table.horizontalScrollBar().isVisible()
    window.showMaximized()
    settle()
    window._ensure_row_widgets()
    settle()
    out["maximised"] = rows(window)
    return out


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    app = QApplication(sys.argv[:1])
    window = MainWindow(None, SecretClipboard())
    window._accounts_loaded(accounts(count))
    window.show()
    settle()
    window._ensure_row_widgets()
    settle()
    result = measure(window)
    result["scale"] = window.devicePixelRatio()
    window.close()
    app.processEvents()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
