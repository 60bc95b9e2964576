"""Child process for the tray test: opens the app on the display it is given (with a tray
host), seeds two accounts, and prints what the tray shows as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import jwt
import qasync
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from vault_app.core.model import Status
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.gui.app import TRAY_UPDATE_MS, App


async def main(home: Path, shot: str | None) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while not QSystemTrayIcon.isSystemTrayAvailable():
        if time.monotonic() > deadline:
            return {"tray": False}
        await asyncio.sleep(0.1)
    vault = Vault(home, backend=MemoryBackend())
    token = jwt.encode({"exp": int(time.time() + 900)}, "k" * 32, "HS256")
    await vault.add("alpha", "static", {}, {"token": token})
    await vault.add("beta", "static", {}, {"token": token})
    closing = asyncio.Event()
    app = App(vault, minimized=True, request_quit=closing.set)
    app.show()
    await asyncio.sleep(0.5)
    assert app.tray is not None
    tray = app.tray
    copy_entries = [a.text() for a in tray.copy_menu.actions()]
    before = tray.key
    # One account needs a sign-in: the icon turns to the error colour.
    account = app.window.model.accounts()[0]
    account.status = Status.SIGN_IN_NEEDED
    app.window.model.upsert(account)
    app.adapter.account_changed.emit(account)
    await asyncio.sleep(TRAY_UPDATE_MS / 1000 + 0.3)  # tray updates are coalesced
    tray.pause_action.trigger()
    paused = app.engine.paused
    window_visible_at_start = app.window.isVisible()
    tray.window_action.trigger()
    shown = app.window.isVisible()
    app.window.close()  # hides to the tray instead of quitting
    still_running = not closing.is_set() and not app.window.isVisible()
    # A notification about beta, clicked: the window comes up with beta selected.
    beta = next(a for a in app.window.model.accounts() if a.name == "beta")
    notified = tray.notify("beta needs a new sign-in", "Click to open it.", True, beta.id)
    tray.icon.messageClicked.emit()
    await asyncio.sleep(0.2)
    clicked_shows = app.window.isVisible() and app.window.selected_id() == beta.id
    if shot:
        tray.menu.popup(app.window.geometry().center())
        await asyncio.sleep(0.3)
        tray.menu.grab().save(shot)
        tray.menu.hide()
    result = {
        "tray": True,
        "visible": tray.icon.isVisible(),
        "copy": copy_entries,
        "key_before": before,
        "key_after": tray.key,
        "tooltip": tray.icon.toolTip(),
        "paused": paused,
        "window_at_start": window_visible_at_start,
        "shown": shown,
        "close_hides": still_running,
        "notified": notified,
        "clicked_shows": clicked_shows,
        "menu": [a.text() for a in tray.menu.actions() if a.text()],
    }
    tray.quit_action.trigger()
    await closing.wait()
    await app.shutdown()
    return result


if __name__ == "__main__":
    qt = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    with loop:
        out = loop.run_until_complete(
            main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
        )
    print(json.dumps(out))
