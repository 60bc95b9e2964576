"""The idle floor: a bare PySide6 tray app (QApplication, a tray icon, a hidden QMainWindow with
an empty QTableView), doing nothing. Whatever it spends asleep in the tray is Qt's own cost;
bench/idle.py measures it side by side with Token Vault. Imports nothing from vault_app."""

import sys

from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QMainWindow, QSystemTrayIcon, QTableView


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    window = QMainWindow()
    window.setWindowTitle("Bare tray")
    window.setCentralWidget(QTableView())
    pixmap = QPixmap(22, 22)
    pixmap.fill()
    tray = QSystemTrayIcon(QIcon(pixmap))
    tray.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
