"""Start-up of the window. A minimal list of accounts for now; the full window, tray and
clipboard come with the window issue."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QHeaderView, QMainWindow, QMessageBox, QTableView

from vault_app.core.account_store import AccountStore
from vault_app.core.errors import UserFacingError
from vault_app.gui.account_model import AccountModel
from vault_app.resource_files import resource_path


class MainWindow(QMainWindow):
    def __init__(self, model: AccountModel) -> None:
        super().__init__()
        self.setWindowTitle("Token Vault")
        self.resize(900, 420)
        self.table = QTableView(self)
        self.table.setModel(model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.setCentralWidget(self.table)


def build_window(store: AccountStore) -> tuple[MainWindow, AccountModel, str | None]:
    """The window with the vault's accounts, or an empty one and the reason it is empty."""
    model = AccountModel()
    problem = None
    try:
        model.set_accounts(sorted(store.load().accounts, key=lambda a: a.name.lower()))
    except UserFacingError as exc:
        problem = exc.message
    window = MainWindow(model)
    # Countdowns move every second; the model recomputes relative times on each repaint.
    timer = QTimer(window)
    timer.timeout.connect(window.table.viewport().update)
    timer.start(1000)
    return window, model, problem


def run_gui(*, minimized: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Token Vault")
    app.setDesktopFileName("token-vault")
    app.setWindowIcon(QIcon(str(resource_path("token-vault.svg"))))
    window, _model, problem = build_window(AccountStore())
    if not minimized:
        window.show()
    if problem:
        QMessageBox.critical(window, "Token Vault", problem)
    return app.exec()
