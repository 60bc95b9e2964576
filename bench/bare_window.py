"""The start-up floor: a bare PySide6 window (QApplication + QMainWindow + an empty QTableView),
with the same markers as Token Vault (vault_app/gui/first_paint.py): when
$TOKEN_VAULT_FIRST_PAINT names a file, the wall-clock time of the window's first paint is
appended to it as "paint <time>" and "rows <time>" (an empty table: its first frame is all).
Kept minimal on purpose; it imports nothing from vault_app."""

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView


class FirstPaint(QObject):
    def __init__(self, widget: QMainWindow, path: str) -> None:
        super().__init__(widget)
        self.path = path
        self.widget = widget
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            # Its first frame is all it has to show: the first paint, and its "rows".
            now = time.time()
            with open(self.path, "a", encoding="ascii") as out:
                out.write(f"paint {now:.6f}\nrows {now:.6f}\n")
            self.widget.removeEventFilter(self)
        return False


def main() -> int:
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("Bare window")
    window.resize(1000, 480)
    window.setCentralWidget(QTableView())
    path = os.environ.get("TOKEN_VAULT_FIRST_PAINT")
    if path:
        FirstPaint(window, path)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
