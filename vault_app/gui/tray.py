"""The tray icon (when the desktop has a tray): coloured by the worst status, a tooltip with the
next expiry, a short Copy menu (pinned and recently copied accounts, "More…" for the rest),
refresh all, pause, show/hide and quit; and notifications that say, in plain words, what needs
the user, and bring up the account when clicked."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from vault_app.core.model import Account, Status
from vault_app.core.timefmt import span
from vault_app.gui.plain_text import shown
from vault_app.gui.theme import TRAY_DOTS
from vault_app.resource_files import resource_path

REPEATED_FAILURES = 3
COPY_MENU_CAP = 8  # pinned and recent accounts in a cut Copy menu; the rest are a "More…" away
# Up to this many accounts the Copy menu lists them all: 12 rows fit even a 768 px screen at
# scale 2, and a cut list would hide accounts nobody pinned yet (nine listed none).
COPY_MENU_ALL = 12
NOTIFY_MS = 10000


def worst(accounts: list[Account], retrying: set[str], now: float) -> str:
    """The colour key for a set of accounts: error beats warning beats ok."""
    if any(a.status is Status.SIGN_IN_NEEDED for a in accounts):
        return "error"
    if any(a.status is Status.ERROR or a.id in retrying for a in accounts):
        return "warning"
    if any(a.display_status(now) == "expired" for a in accounts):
        return "error"
    return "ok" if any(a.status is Status.OK for a in accounts) else "idle"


def copy_menu_accounts(
    accounts: list[Account],
    pinned: list[str],
    recent: list[str],
    cap: int = COPY_MENU_CAP,
    list_all: int = COPY_MENU_ALL,
) -> tuple[list[Account], bool]:
    """The accounts the tray's Copy menu lists: all of them when there are at most
    `list_all` (pinned first, the rest by name); otherwise the pinned ones (in the order
    pinned), then the most recently copied, at most `cap`. The flag says whether some were
    left out (the menu then ends with "More…")."""
    if len(accounts) <= max(cap, list_all):
        by_id = {a.id: a for a in accounts}
        first = [by_id[i] for i in pinned if i in by_id]
        rest = sorted((a for a in accounts if a.id not in set(pinned)), key=_name_key)
        return first + rest, False
    by_id = {a.id: a for a in accounts}
    chosen: list[Account] = []
    for account_id in [*pinned, *recent]:
        account = by_id.get(account_id)
        if account is not None and account not in chosen:
            chosen.append(account)
        if len(chosen) == cap:
            break
    return chosen, True


def _name_key(account: Account) -> str:
    return account.name.casefold()


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


def notice_text(text: str) -> str:
    """Text for a desktop notification: some notification servers read markup in it, so
    nothing from outside may look like a tag or an entity."""
    return shown(text, 400).replace("<", "\u2039").replace(">", "\u203a").replace("&", "+")


class Tray(QObject):
    copy_requested = Signal(str)  # account id
    more_requested = Signal()  # the window's filter, for accounts not in the Copy menu
    refresh_all_requested = Signal()
    pause_toggled = Signal(bool)
    toggle_window = Signal()
    quit_requested = Signal()
    message_clicked = Signal(object)  # the account id the last notification was about, or None

    def __init__(self) -> None:
        super().__init__()
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.copy_menu = self.menu.addMenu("Copy token")
        self.refresh_action = QAction("Refresh all", self.menu)
        self.refresh_action.triggered.connect(self.refresh_all_requested)
        self.pause_action = QAction("Pause refreshing", self.menu)
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
        self.icon.messageClicked.connect(lambda: self.message_clicked.emit(self._about))
        self.failures: dict[str, int] = {}
        self.key = ""
        self._about: str | None = None
        self.update([], set())

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window.emit()

    def update(
        self,
        accounts: list[Account],
        retrying: set[str],
        pinned: list[str] | None = None,
        recent: list[str] | None = None,
    ) -> None:
        now = time.time()
        key = worst(accounts, retrying, now)
        if key != self.key:
            self.key = key
            self.icon.setIcon(tinted_icon(TRAY_DOTS[key]))
        upcoming = [a for a in accounts if a.access_expires_at and a.access_expires_at > now]
        tip = "Token Vault"
        if upcoming:
            first = min(upcoming, key=lambda a: a.access_expires_at or 0)
            left = span((first.access_expires_at or now) - now)
            tip += f"\nNext expiry: {shown(first.name, 40)} in {left}"
        problems = sum(a.status in (Status.SIGN_IN_NEEDED, Status.ERROR) for a in accounts)
        if problems:
            tip += f"\n{problems} account{'s' if problems != 1 else ''} need attention"
        self.icon.setToolTip(tip)
        self._fill_copy_menu(accounts, pinned or [], recent or [], now)

    def _fill_copy_menu(
        self, accounts: list[Account], pinned: list[str], recent: list[str], now: float
    ) -> None:
        self.copy_menu.clear()
        listed, more = copy_menu_accounts(accounts, pinned, recent)
        for account in listed:
            label = shown(account.name, 40).replace("&", "&&")
            if account.status is Status.SIGNED_OUT:
                label += " (signed out)"
            elif account.status is Status.SIGN_IN_NEEDED:
                label += " (sign-in needed)"
            elif account.display_status(now) == "expired":
                label += " (expired)"
            action = self.copy_menu.addAction(label)
            action.setEnabled(account.status is not Status.SIGNED_OUT)
            action.triggered.connect(lambda _=False, i=account.id: self.copy_requested.emit(i))
        if more:
            if listed:
                self.copy_menu.addSeparator()
            else:
                note = self.copy_menu.addAction("Pin accounts to list them here")
                note.setEnabled(False)
            others = len(accounts) - len(listed)
            more_action = self.copy_menu.addAction(f"More… ({others} others)")
            more_action.triggered.connect(self.more_requested)
        self.copy_menu.setEnabled(bool(accounts))

    def notify(
        self,
        title: str,
        message: str,
        critical: bool = False,
        account_id: str | None = None,
        information: bool = False,
    ) -> bool:
        """A desktop notification; clicking it emits `message_clicked` with `account_id`.
        False when it cannot be shown (no tray, or no message support)."""
        if not self.icon.isVisible() or not QSystemTrayIcon.supportsMessages():
            return False
        if critical:
            icon = QSystemTrayIcon.MessageIcon.Critical
        elif information:
            icon = QSystemTrayIcon.MessageIcon.Information
        else:
            icon = QSystemTrayIcon.MessageIcon.Warning
        self._about = account_id
        self.icon.showMessage(notice_text(title), notice_text(message), icon, NOTIFY_MS)
        return True

    def failure(self, account_id: str) -> int:
        self.failures[account_id] = self.failures.get(account_id, 0) + 1
        return self.failures[account_id]

    def success(self, account_id: str) -> None:
        self.failures.pop(account_id, None)
