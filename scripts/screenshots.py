"""Screenshots of the real app in demo mode, for README and docs/: the main window in light
and dark palettes, the Add dialog, the Show dialog and the tray menu.

Run through scripts/screenshots, which starts a private Xvfb display with a tray host."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from vault_app.demo import start_demo
from vault_app.gui.account_dialog import AccountDialog
from vault_app.gui.app import App
from vault_app.gui.show_dialog import ShowDialog


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#202328"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#17191d"),
        (QPalette.ColorRole.AlternateBase, "#1f2227"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#2a2e34"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#2f6db3"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#2a2e34"),
        (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        (QPalette.ColorRole.PlaceholderText, "#8a8f98"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


async def shoot(qt: QApplication, out: Path, demo: tuple[Any, Any, str]) -> None:
    vault, server, note = demo
    closing = asyncio.Event()
    app = App(vault, minimized=False, demo_note=note, request_quit=closing.set)
    app.window.resize(1100, 420)
    app.show()
    await asyncio.sleep(32)  # past the first refreshes: a retrying and a sign-in-needed row
    app.window.table.selectRow(0)
    app.window.grab().save(str(out / "window-light.png"))

    add = AccountDialog(parent=app.window)
    add.name.setText("broker-api")
    add.kind.setCurrentIndex(
        [add.kind.itemData(i) for i in range(add.kind.count())].index("oauth2")
    )
    add.show()
    await asyncio.sleep(0.3)
    add.grab().save(str(out / "add-dialog.png"))
    add.close()

    account = next(a for a in app.window.model.accounts() if a.name == "tv-broker")
    tokens = await app.adapter.token(account.id)
    show = ShowDialog(account, tokens, lambda _text: None, app.window)
    show.show()
    await asyncio.sleep(0.3)
    show.grab().save(str(out / "show-dialog.png"))
    show.close()

    if app.tray is not None:
        app.tray.menu.popup(app.window.geometry().center())
        app.tray.copy_menu.popup(app.window.geometry().center())
        await asyncio.sleep(0.3)
        app.tray.menu.grab().save(str(out / "tray-menu.png"))
        app.tray.copy_menu.hide()
        app.tray.menu.hide()

    qt.setPalette(dark_palette())
    await asyncio.sleep(0.5)
    app.window.grab().save(str(out / "window-dark.png"))
    await app.shutdown()
    server.stop()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    out.mkdir(exist_ok=True)
    demo = start_demo()  # seeds on its own short-lived loop, before ours runs
    qt = QApplication(sys.argv[:1])
    qt.setStyle(QStyleFactory.create("Fusion"))
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot(qt, out, demo))


if __name__ == "__main__":
    main()
