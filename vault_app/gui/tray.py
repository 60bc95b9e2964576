"""The tray icon (when the desktop has a tray): coloured by the worst status, a tooltip with
the next expiry, a menu to copy any account's token, refresh all, pause, show/hide and quit,
and notifications for what needs the user."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from vault_app.core.model import Account, Status
from vault_app.core.timefmt import span
from vault_app.resource_files import resource_path

COLOURS = {"ok": "#2e9d57", "warning": "#d08a18", "error": "#c2372f", "idle": "#8a8f98"}
REPEATED_FAILURES = 3


def worst(accounts: list[Account], retrying: set[str], now: float) -> str:
    """The colour key for a set of accounts: error beats warning beats ok."""
    if any(a.status is Status.SIGN_IN_NEEDED for a in accounts):
        return "error"
    if any(a.status is Status.ERROR or a.id in retrying for a in accounts):
        return "warning"
    if any(a.display_status(now) == "expired" for a in accounts):
        return "error"
    return "ok" if any(a.status is Status.OK for a in accounts) else "idle"


def tinted_icon(colour: str) -> QIcon:
    """The app icon with a status dot in the corner."""
    base = QIcon(str(resource_path("token-vault.svg"))).pixmap(64, 64)
    pixmap = QPixmap(base)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(QColor("white"))
    painter.drawEllipse(38, 38, 24, 24)
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    copy_requested = Signal(str)  # account id
    refresh_all_requested = Signal()
    pause_toggled = Signal(bool)
    toggle_window = Signal()
    quit_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.copy_menu = self.menu.addMenu("Copy token")
        self.refresh_action = QAction("Refresh all", self.menu)
        self.refresh_action.triggered.connect(self.refresh_all_requested)
        self.pause_action = QAction("Pause refresh", self.menu)
        self.pause_action.setCheckable(True)
        self.pause_action.toggled.connect(self.pause_toggled)
        self.window_action = QAction("Show/Hide window", self.menu)
        self.window_action.triggered.connect(self.toggle_window)
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(self.quit_requested)
        for action in (
            self.refresh_action,
            self.pause_action,
            None,
            self.window_action,
            self.quit_action,
        ):
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.failures: dict[str, int] = {}
        self.key = ""
        self.update([], set())

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window.emit()

    def update(self, accounts: list[Account], retrying: set[str]) -> None:
        now = time.time()
        key = worst(accounts, retrying, now)
        if key != self.key:
            self.key = key
            self.icon.setIcon(tinted_icon(COLOURS[key]))
        upcoming = [a for a in accounts if a.access_expires_at and a.access_expires_at > now]
        tip = "Token Vault"
        if upcoming:
            first = min(upcoming, key=lambda a: a.access_expires_at or 0)
            tip += f"\nNext expiry: {first.name} in {span((first.access_expires_at or now) - now)}"
        problems = sum(a.status in (Status.SIGN_IN_NEEDED, Status.ERROR) for a in accounts)
        if problems:
            tip += f"\n{problems} account{'s' if problems != 1 else ''} need attention"
        self.icon.setToolTip(tip)
        self.copy_menu.clear()
        for account in sorted(accounts, key=lambda a: a.name.lower()):
            action = self.copy_menu.addAction(account.name)
            action.setEnabled(account.status is not Status.SIGNED_OUT)
            action.triggered.connect(lambda _=False, i=account.id: self.copy_requested.emit(i))
        self.copy_menu.setEnabled(bool(accounts))

    def notify(self, title: str, message: str, critical: bool = False) -> None:
        icon = (
            QSystemTrayIcon.MessageIcon.Critical
            if critical
            else QSystemTrayIcon.MessageIcon.Warning
        )
        self.icon.showMessage(title, message, icon, 10000)

    def failure(self, account_id: str) -> int:
        self.failures[account_id] = self.failures.get(account_id, 0) + 1
        return self.failures[account_id]

    def success(self, account_id: str) -> None:
        self.failures.pop(account_id, None)
