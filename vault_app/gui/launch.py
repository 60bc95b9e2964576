"""`token-vault` with no command: the window on screen first, everything else after.

A bare PySide6 window appears about 0.2 s after launch; the event loop (asyncio, qasync), the
vault, the engine and the HTTP stack cost as much again in imports alone. So this module
imports only Qt and the window, shows it, waits for its first paint, and only then brings in
the rest (app.serve). Nothing here touches the keyring or the network."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from vault_app.core import files
from vault_app.core.account_store import FILE_NAME, MAX_FILE_BYTES, default_home
from vault_app.gui import first_paint, theme
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow
from vault_app.gui.single_instance import SingleInstance
from vault_app.resource_files import resource_path
from vault_app.system.launcher import APP_ID

FIRST_PAINT_WAIT_MS = 500  # the longest the rest waits for the window to be drawn


def run_gui(*, minimized: bool = False, demo: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
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
    # Settings the window needs before it opens: its colours, size and place, and whether
    # it starts in the tray (that needs a tray).
    early = _early_settings(instance.home) if instance is not None else {}
    tray = QSystemTrayIcon.isSystemTrayAvailable()
    if tray and not minimized:
        minimized = early.get("start_minimized") is True
    theme.theme().apply(app, str(early.get("colour_scheme") or "system"))
    window = MainWindow(None, SecretClipboard(), demo=demo)
    window.restore_state(early)
    if not (minimized and tray):
        _show_and_wait_for_paint(window)

    from vault_app.gui.app import serve

    return serve(app, window, instance, minimized=minimized, demo=demo)


def _early_settings(home: Path) -> dict[str, Any]:
    """The settings, read without building the accounts (a damaged file is reported once
    the window is up; each value is checked where it is used)."""
    try:
        raw = json.loads(files.read_capped(home / FILE_NAME, MAX_FILE_BYTES))
        settings = raw.get("settings", {})
    except (OSError, ValueError, AttributeError, RecursionError):  # a nesting too deep
        return {}
    return settings if isinstance(settings, dict) else {}


def _show_and_wait_for_paint(window: MainWindow) -> None:
    painted = QEventLoop()
    first_paint.watch(window, painted.quit)
    QTimer.singleShot(FIRST_PAINT_WAIT_MS, painted.quit)
    window.show()
    painted.exec()
