"""`token-vault` with no command: the window on screen first, everything else after.

A bare PySide6 window appears about 0.2 s after launch; the event loop (asyncio, qasync), the
vault, the engine and the HTTP stack cost as much again in imports alone. So this module
imports only Qt and the window, fills the table from the metadata file (read with json alone:
AccountStore.preview), shows it, waits for its first paint, and only then brings in the rest
(app.serve). Nothing here touches the keyring or the network."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from vault_app.core.account_store import AccountStore, default_home
from vault_app.gui import first_paint, theme
from vault_app.gui.application import QuitAwareApplication
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow
from vault_app.gui.single_instance import SingleInstance
from vault_app.resource_files import resource_path
from vault_app.system.launcher import APP_ID

FIRST_PAINT_WAIT_MS = 500  # the longest the rest waits for the window to be drawn


def run_gui(*, minimized: bool = False, demo: bool = False) -> int:
    app = QApplication.instance() or QuitAwareApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Token Vault")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(QIcon(str(resource_path("token-vault.svg"))))
    app.setQuitOnLastWindowClosed(False)

    instance = None
    if not demo:  # a demo has a throw-away vault of its own: nothing to share
        instance = SingleInstance(default_home())
        if instance.notify_running():
            return 0
    # What the window needs before it opens: its colours, size and place, whether it starts
    # in the tray (that needs a tray), and the accounts, so that its first frame has them.
    preview = AccountStore(instance.home).preview() if instance is not None else None
    accounts, early = preview if preview is not None else (None, {})
    tray = QSystemTrayIcon.isSystemTrayAvailable()
    if tray and not minimized:
        minimized = early.get("start_minimized") is True
    theme.theme().apply(app, str(early.get("colour_scheme") or "system"))
    window = MainWindow(None, SecretClipboard(), demo=demo)
    window.restore_state(early)
    if accounts is not None:
        window.show_preview(accounts)
    if not (minimized and tray):
        _show_and_wait_for_paint(window)

    from vault_app.gui.app import serve

    return serve(app, window, instance, minimized=minimized, demo=demo)


def _show_and_wait_for_paint(window: MainWindow) -> None:
    painted = QEventLoop()
    first_paint.watch(window, painted.quit)
    QTimer.singleShot(FIRST_PAINT_WAIT_MS, painted.quit)
    window.show()
    painted.exec()
