"""Screenshots of the window's sign-in dialog in its two waiting states, for README and docs/:
a Keycloak-style account waiting for the browser, and a Google-style account showing its device
code, link and QR code. The dialog is the real one; only the server's part is played here (the
links and the code are what those servers hand out), and no browser is opened.

Run through scripts/screenshots, which starts a private Xvfb display."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QStyleFactory

from vault_app.core.model import Account
from vault_app.core.sign_in import BrowserStep, DeviceStep, SignInView
from vault_app.gui.interactive_sign_in import SignInDialog

KEYCLOAK_URL = (
    "https://sso.example.com/realms/dev/protocol/openid-connect/auth?response_type=code"
    "&client_id=token-vault&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
    "&state=Xy3v9Q&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    "&code_challenge_method=S256&scope=openid+offline_access&prompt=consent"
)
GOOGLE_DEVICE = DeviceStep(
    user_code="GQVQ-JKEC",
    verification_uri="https://www.google.com/device",
    verification_uri_complete="https://www.google.com/device?user_code=GQVQ-JKEC",
    expires_in=1800,
)


class PlayedServer:
    """The adapter's `login` as far as the waiting state: shows the step, then waits."""

    def __init__(self, step: BrowserStep | DeviceStep) -> None:
        self.step = step

    async def login(self, _account_id: str, view: SignInView) -> Account:
        view.show(self.step)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def shoot(out: Path) -> None:
    cases = (
        (
            "sign-in-browser.png",
            Account("1", "keycloak-dev", "oauth2", {"grant": "authorization_code"}),
            BrowserStep(KEYCLOAK_URL),
        ),
        (
            "sign-in-device.png",
            Account("2", "google-drive", "oauth2", {"grant": "device_code"}),
            GOOGLE_DEVICE,
        ),
    )
    for name, account, step in cases:
        dialog = SignInDialog(PlayedServer(step), account, lambda _text: None)  # type: ignore[arg-type]
        dialog.show()
        dialog.start_button.click()
        await asyncio.sleep(0.5)
        dialog.adjustSize()
        await asyncio.sleep(0.3)
        dialog.grab().save(str(out / name))
        dialog.close()
        await asyncio.sleep(0.1)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    out.mkdir(exist_ok=True)
    os.environ["BROWSER"] = "true"  # the dialog opens the link: here, nowhere
    qt = QApplication(sys.argv[:1])
    qt.setStyle(QStyleFactory.create("Fusion"))
    qt.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot(out))


if __name__ == "__main__":
    main()
