"""Child process for the fit test: on the display (and QT_SCALE_FACTOR) it is started with,
opens every dialog (Add for every provider and grant, the browser and device sign-in waiting
in the form, Edit, Sign in, Show, Revoke) and prints
as JSON where each one and the parts that must stay visible (messages, buttons) ended up.
With a folder argument it also saves a picture of each.

    python -m tests.gui.dialog_fit_probe [PICTURES_FOLDER]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRect
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QStyleFactory, QWidget

from vault_app.core import sign_in
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import get_provider, kinds
from vault_app.core.providers.oauth2 import GRANTS
from vault_app.core.sign_in import BrowserStep, DeviceStep, Step
from vault_app.gui import account_dialog, show_dialog
from vault_app.gui.account_dialog import AccountDialog
from vault_app.gui.interactive_sign_in import InteractiveSignIn
from vault_app.gui.message_bar import Tone
from vault_app.gui.revoke_dialog import RevokeDialog

LONG_ERROR = (
    "Could not sign in, so oauth2-main was not added: Client credentials grant: rejected by "
    "auth.example.com (invalid_client: client authentication failed (check Client ID, Client "
    "secret, Client authentication); server says: the client secret has expired, ask the "
    "administrator of the authorization server for a new one). Enter a new Client secret and "
    "press Sign in. Or press Save anyway to keep oauth2-main as it is and sign in later."
)


def settle(window: QWidget | None = None) -> None:
    """Let the window be mapped and exposed (a late configure from the X server would show
    here) and every posted event run."""
    if window is not None:
        QTest.qWaitForWindowExposed(window, 5000)
    for _ in range(3):
        QApplication.processEvents()
    QTest.qWait(50)


def rect(widget: QWidget) -> list[int]:
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


def measure(dialog: QDialog, must_see: list[QWidget]) -> dict[str, Any]:
    screen = dialog.screen().availableGeometry()
    frame = dialog.frameGeometry()
    inside = QRect(dialog.mapToGlobal(QPoint(0, 0)), dialog.size())
    hidden = []
    for widget in must_see:
        box = QRect(*rect(widget))
        if not widget.isVisible() or not screen.contains(box) or not inside.contains(box):
            hidden.append(widget.accessibleName() or type(widget).__name__)
    out: dict[str, Any] = {
        "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
        "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
        "on_screen": screen.contains(frame),
        "hidden": hidden,
        "height": dialog.height(),
        "needed_height": needed_height(dialog),
    }
    area = getattr(dialog, "scroll_area", None)
    if area is not None:
        content = area.widget()
        out["scrolls"] = content.height() > area.viewport().height()
        out["scrollbar"] = area.verticalScrollBar().isVisible()
        # Space the content got beyond what it needs at its width (an empty band).
        wanted = (
            content.heightForWidth(content.width())
            if content.hasHeightForWidth()
            else content.sizeHint().height()
        )
        out["content_slack"] = content.height() - wanted
    return out


def needed_height(dialog: QDialog) -> int:
    """The height the dialog's contents ask for at its current width."""
    layout = dialog.layout()
    if layout is not None and layout.hasHeightForWidth():
        return layout.totalHeightForWidth(dialog.width())
    return dialog.sizeHint().height()


def shoot(dialog: QWidget, folder: Path | None, name: str) -> None:
    if folder is not None:
        dialog.grab().save(str(folder / f"{name}.png"))


def add_cases() -> list[tuple[str, str | None]]:
    cases: list[tuple[str, str | None]] = []
    for kind in kinds():
        if get_provider(kind).field("grant") is not None:
            cases += [(kind, grant) for grant in GRANTS]
        else:
            cases.append((kind, None))
    return cases


def account_buttons(dialog: AccountDialog) -> list[QWidget]:
    return [dialog.sign_in, dialog.close_button]


def run(folder: Path | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind, grant in add_cases():
        dialog = account_dialog.sample_for_screenshot(kind, grant)
        dialog.show()
        settle(dialog)
        name = f"add-{kind}" + (f"-{grant}" if grant else "")
        results[name] = measure(dialog, account_buttons(dialog))
        shoot(dialog, folder, name)
        # A long failure message: the message and the buttons stay on screen.
        dialog.outcome.show_message(LONG_ERROR, Tone.ERROR)
        dialog.save_anyway.setVisible(True)
        settle()
        results[name + "-failed"] = measure(
            dialog, [dialog.outcome, dialog.save_anyway, *account_buttons(dialog)]
        )
        shoot(dialog, folder, name + "-failed")
        dialog.close()

    # The browser and device sign-in waiting in the form (played: no server, no browser).
    sign_in.open_browser = lambda _url: None  # type: ignore[assignment]
    steps: list[tuple[str, Step]] = [
        ("authorization_code", BrowserStep("https://auth.example.com/authorize?" + "x=1&" * 80)),
        (
            "device_code",
            DeviceStep(
                "WDJB-MJHT",
                "https://auth.example.com/device",
                "https://auth.example.com/device?user_code=WDJB-MJHT",
                600,
            ),
        ),
    ]
    for mode in ("add", "sign_in"):
        for grant, step in steps:
            dialog = account_dialog.sample_for_screenshot("oauth2", grant, mode=mode)
            dialog.show()
            settle(dialog)
            action = dialog._action
            assert isinstance(action, InteractiveSignIn)
            dialog._set_working(True)
            action.present(dialog, step)
            settle()
            panel = action.panel
            assert panel is not None
            must: list[QWidget] = [panel.link, panel.copy_link, panel.open_link]
            must += [panel.cancel_button, panel.time_left, *account_buttons(dialog)]
            if isinstance(step, DeviceStep):
                must += [panel.code, panel.copy_code, panel.qr]
            name = f"waiting-{mode}-{grant}"
            results[name] = measure(dialog, must)
            results[name]["focus_visible"] = _focus_visible(dialog)
            shoot(dialog, folder, name)
            dialog.close()

    # Switching to a shorter form shrinks the dialog back to that form's own size.
    dialog = account_dialog.sample_for_screenshot("oauth2", "jwt_bearer")
    dialog.show()
    settle(dialog)
    tall = dialog.height()
    dialog.editors["grant"].set_value("client_credentials")
    settle()
    after_grant = dialog.height()
    dialog.kind.setCurrentIndex(dialog.kind.findData("static"))
    settle()
    results["shrink"] = {"tall": tall, "grant": after_grant, "provider": dialog.height()}
    dialog.close()

    for mode in ("edit", "sign_in"):
        for kind, grant in (("oauth2", "jwt_bearer"), ("alor", None), ("static", None)):
            dialog = account_dialog.sample_for_screenshot(kind, grant, mode=mode)
            dialog.show()
            settle(dialog)
            name = f"{mode}-{kind}" + (f"-{grant}" if grant else "")
            must = [*account_buttons(dialog)] + ([dialog.reason] if mode == "sign_in" else [])
            results[name] = measure(dialog, must)
            results[name]["focus_visible"] = _focus_visible(dialog)
            shoot(dialog, folder, name)
            dialog.close()

    show = show_dialog.sample_for_screenshot("oauth2")
    show.show()
    settle(show)
    results["show"] = measure(show, [show.close_button, show.reveal])
    shoot(show, folder, "show")
    show.message.show_message(LONG_ERROR, Tone.ERROR)
    settle()
    results["show-failed"] = measure(show, [show.close_button, show.message])
    shoot(show, folder, "show-failed")
    show.close()

    account = Account(
        id="r", name="alor-main", provider="alor", status=Status.OK, secret_fields=["refresh_token"]
    )
    revoke = RevokeDialog(account)
    revoke.show()
    settle(revoke)
    results["revoke"] = measure(revoke, [revoke.revoke_button])
    shoot(revoke, folder, "revoke")
    revoke.close()
    return results


def _focus_visible(dialog: QDialog) -> bool:
    """The focused widget is inside the visible part of the dialog."""
    target: QWidget | None = dialog.focusWidget()  # None when nothing has focus
    if target is None:
        return False
    box = QRect(target.mapTo(dialog, QPoint(0, 0)), target.size())
    return dialog.rect().contains(box.center()) and not target.visibleRegion().isEmpty()


if __name__ == "__main__":
    qt = QApplication(sys.argv[:1])
    qt.setStyle(QStyleFactory.create("Fusion"))
    pictures = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if pictures is not None:
        pictures.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(pictures)))
