"""Screenshots of the real app in demo mode, for README and docs/. Run through
scripts/screenshots, which starts a private Xvfb display (with a tray host) per screen size.

Every window picture is taken at the window's DEFAULT size for its screen (never widened: a
wider picture hides what a narrow window cuts off).

    python scripts/screenshots.py main OUT      light and dark window, empty window, Show
                                                dialog, Add dialog for every provider and
                                                grant, tray menu (a 1400x900 screen)
    python scripts/screenshots.py small OUT     the window on a 1024x768 screen, 200 accounts
    python scripts/screenshots.py scale2 OUT    the window at QT_SCALE_FACTOR=2, 200 accounts
    python scripts/screenshots.py sign-in OUT   the Add form waiting for a browser sign-in
                                                (Keycloak-style) and showing a device code
                                                (Google-style); any screen, any scale
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from vault_app.core.providers.base import get_provider, kinds
from vault_app.demo import start_demo
from vault_app.gui import theme
from vault_app.gui.app import App

SETTLE = 32.0  # s: past the demo's first refreshes (a retrying and a sign-in-needed row)


async def settle(seconds: float) -> None:
    await asyncio.sleep(seconds)


def save(widget: QWidget, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"{path}: {widget.width()}x{widget.height()} (logical)")


def add_dialogs(parent: QWidget) -> list[tuple[str, QDialog]]:
    """The Add dialog for every provider and, for oauth2, every grant. Uses the dialogs'
    own sample builder when it has one."""
    from vault_app.gui import account_dialog

    sample = getattr(account_dialog, "sample_for_screenshot", None)
    out: list[tuple[str, QDialog]] = []
    for kind in kinds():
        grant_field = get_provider(kind).field("grant")
        grants: list[str | None] = list(grant_field.choices) if grant_field else [None]
        for grant in grants:
            label = f"{kind}-{grant}" if grant else kind
            if callable(sample):
                dialog = sample(kind, grant)
                dialog.setParent(parent, dialog.windowFlags())
            else:
                dialog = account_dialog.AccountDialog(parent=parent)
                dialog.name.setText(f"my-{kind}")
                dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
                editor = dialog.editors.get("grant")
                if grant and editor is not None and editor.combo is not None:
                    editor.combo.setCurrentText(grant)
            out.append((label.replace("_", "-"), dialog))
    return out


KEYCLOAK_URL = (
    "https://sso.example.com/realms/dev/protocol/openid-connect/auth?response_type=code"
    "&client_id=token-vault&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
    "&state=Xy3v9Q&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    "&code_challenge_method=S256&scope=openid+offline_access&prompt=consent"
)


async def sign_in_pictures(out: Path) -> None:
    """The real Add form and its real sign-in action in their waiting states; only the
    server's part is played (the links and the code are what those servers hand out) and
    no browser opens."""
    from vault_app.core import sign_in
    from vault_app.core.sign_in import BrowserStep, DeviceStep, Step
    from vault_app.gui.account_dialog import sample_for_screenshot
    from vault_app.gui.interactive_sign_in import InteractiveSignIn

    sign_in.open_browser = lambda _url: None  # type: ignore[assignment]
    cases: list[tuple[str, str, dict[str, str], Step]] = [
        (
            "sign-in-browser.png",
            "authorization_code",
            {
                "issuer": "https://sso.example.com/realms/dev",
                "client_id": "token-vault",
                "scope": "openid offline_access",
                "redirect_uri": "http://127.0.0.1:8765/callback",
            },
            BrowserStep(KEYCLOAK_URL),
        ),
        (
            "sign-in-device.png",
            "device_code",
            {
                "issuer": "https://accounts.google.com",
                "client_id": "1234-abc.apps.googleusercontent.com",
                "client_auth": "post",
                "client_secret": "GOCSPX-example-secret",
                "scope": "openid email",
            },
            DeviceStep(
                "GQVQ-JKEC",
                "https://www.google.com/device",
                "https://www.google.com/device?user_code=GQVQ-JKEC",
                1800,
            ),
        ),
    ]
    for name, grant, fields, step in cases:
        dialog = sample_for_screenshot("oauth2", grant)
        dialog.name.setText("keycloak-dev" if grant == "authorization_code" else "google-drive")
        for field, value in fields.items():
            dialog.editors[field].set_value(value)
        dialog.show()
        dialog.name.deselect()
        await settle(0.3)
        action = dialog._action
        assert isinstance(action, InteractiveSignIn)
        dialog._set_working(True)  # as after pressing the button; the vault is not asked
        action.present(dialog, step)
        await settle(0.5)
        save(dialog, out / name)
        dialog.close()
        await settle(0.1)


async def main_pictures(qt: QApplication, out: Path, demo: Any) -> None:
    from vault_app.gui.show_dialog import ShowDialog

    vault, server, note = demo
    closing = asyncio.Event()
    app = App(vault, minimized=False, demo_note=note, request_quit=closing.set)
    app.show()
    await settle(SETTLE)
    app.window.table.selectRow(0)
    app.window.table.setFocus()
    save(app.window, out / "window-light.png")

    for label, dialog in add_dialogs(app.window):
        dialog.show()
        await settle(0.3)
        save(dialog, out / f"add-dialog-{label}.png")
        dialog.close()

    account = next(a for a in app.window.model.accounts() if a.name == "tv-broker")
    tokens = await app.adapter.token(account.id)
    show = ShowDialog(account, tokens, lambda _text: None, app.window)
    show.show()
    await settle(0.3)
    save(show, out / "show-dialog.png")
    show.close()

    await tray_menu(qt, app, out / "tray-menu.png")

    theme.theme().apply(qt, "dark")
    await settle(0.5)
    save(app.window, out / "window-dark.png")
    theme.theme().apply(qt, "light")
    await app.shutdown()
    server.stop()


async def tray_menu(qt: QApplication, app: App, path: Path) -> None:
    """The tray menu with its Copy submenu open, as on screen."""
    if app.tray is None:
        print("no tray on this display: no tray menu picture")
        return
    menu, copy_menu = app.tray.menu, app.tray.copy_menu
    menu.popup(app.window.geometry().topLeft() + QPoint(40, 40))
    await settle(0.3)
    item = menu.actionGeometry(copy_menu.menuAction())
    copy_menu.popup(menu.mapToGlobal(item.topRight()))
    await settle(0.3)
    area = menu.geometry().united(copy_menu.geometry()).adjusted(-2, -2, 2, 2)
    screen = qt.primaryScreen()
    screen.grabWindow(0, area.x(), area.y(), area.width(), area.height()).save(str(path))
    print(f"{path}: {area.width()}x{area.height()} (logical)")
    copy_menu.hide()
    menu.hide()


async def empty_picture(out: Path) -> None:
    """The first run: no accounts yet."""
    import tempfile

    from vault_app.core.secret_store import MemoryBackend
    from vault_app.core.vault import Vault

    with tempfile.TemporaryDirectory() as home:
        closing = asyncio.Event()
        app = App(
            Vault(Path(home), backend=MemoryBackend()),
            minimized=False,
            request_quit=closing.set,
        )
        app.show()
        await settle(1.0)
        save(app.window, out / "window-empty.png")
        await app.shutdown()
        app.window.close()


async def many_pictures(qt: QApplication, out: Path, name: str, demo: Any) -> None:
    """The window with 200 accounts (a vertical scrollbar) at its default size."""
    vault, server, note = demo
    closing = asyncio.Event()
    app = App(vault, minimized=False, demo_note=note, request_quit=closing.set)
    app.show()
    await settle(SETTLE)
    app.window.table.selectRow(2)
    app.window.table.setFocus()
    save(app.window, out / f"{name}.png")
    # As after some use: two accounts pinned to the tray menu, three copied lately.
    accounts = app.window.model.accounts()
    for account in (accounts[0], accounts[5]):
        app.window.toggle_pin(account.id)
    for account in (accounts[40], accounts[12], accounts[77]):
        app.window._note_copied(account.id)
    await settle(0.5)
    await tray_menu(qt, app, out / f"{name}-tray-menu.png")
    await app.shutdown()
    server.stop()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "main"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
    out.mkdir(exist_ok=True)
    if mode == "sign-in":  # no demo needed
        qt = QApplication(sys.argv[:1])
        qt.setQuitOnLastWindowClosed(False)
        theme.theme().apply(qt, "light")
        loop = qasync.QEventLoop(qt)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(sign_in_pictures(out))
        return
    if mode in ("small", "scale2"):
        os.environ.setdefault("TOKEN_VAULT_DEMO_ACCOUNTS", "200")
    demo = start_demo()  # seeds on its own short-lived loop, before ours runs
    qt = QApplication(sys.argv[:1])
    theme.theme().apply(qt, "light")
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    work: Any
    if mode == "main":

        async def both() -> None:
            await empty_picture(out)
            await main_pictures(qt, out, demo)

        work = both()
    elif mode == "small":
        work = many_pictures(qt, out, "window-1024x768", demo)
    elif mode == "scale2":
        work = many_pictures(qt, out, "window-scale2", demo)
    else:
        raise SystemExit(f"unknown mode {mode!r}: main, small, scale2 or sign-in")
    with loop:
        loop.run_until_complete(work)


if __name__ == "__main__":
    main()
