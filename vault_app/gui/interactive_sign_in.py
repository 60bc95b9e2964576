"""The browser and device sign-in of one account, in the window: a start button (the person's
click is what opens the browser), then the waiting state, Cancel, and the outcome.

Browser grant: the link the browser was sent to (with Copy and Open again, for when the wrong
browser or none opened). Device grant: the user code in large type with Copy, the verification
link (with Copy and Open in browser) and a QR code of `verification_uri_complete` for a phone.
The sign-in runs as a task on the event loop (core/sign_in.py); closing the dialog cancels it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core import sign_in
from vault_app.core.errors import UserFacingError
from vault_app.core.providers.base import AccountConfig, get_provider
from vault_app.core.redact import redact
from vault_app.core.sign_in import BrowserStep, DeviceStep, Step

if TYPE_CHECKING:
    from vault_app.core.model import Account
    from vault_app.gui.adapter import VaultAdapter

log = logging.getLogger(__name__)
QR_SIZE = 180  # pixels; large enough for a phone camera at arm's length


def is_interactive(account: Account) -> bool:
    """Whether the account signs in through the person (browser or device grant)."""
    try:
        return get_provider(account.provider).interactive(AccountConfig(account.fields, {}))
    except UserFacingError:
        return False


def qr_pixmap(text: str, size: int = QR_SIZE) -> QPixmap:
    """A QR code of `text` (segno), as a pixmap about `size` pixels square."""
    import segno

    code = segno.make(text, error="m")
    scale = max(2, size // (code.symbol_size(border=4)[0]))
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


class _DialogView:
    """The core's SignInView, shown in the dialog (QDialog has a show() of its own)."""

    def __init__(self, dialog: SignInDialog) -> None:
        self.dialog = dialog

    def show(self, step: Step) -> None:
        self.dialog.present(step)


class SignInDialog(QDialog):
    """Sign in one account through the browser or a device code."""

    def __init__(
        self,
        adapter: VaultAdapter,
        account: Account,
        copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.adapter = adapter
        self.account = account
        self._copy = copy
        self.device = account.fields.get("grant") == "device_code"
        self.task: asyncio.Task[None] | None = None
        self.link_url = ""
        self.setWindowTitle(f"Sign in — {account.name}")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)

        self.intro = QLabel(
            f"{account.name} signs in with a code you enter on any device (a phone will do)."
            if self.device
            else f"{account.name} signs in through your web browser. The browser opens "
            "when you press the button; sign in there and come back."
        )
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)

        words = "Get a sign-in code" if self.device else "Sign in with browser"
        self.start_button = QPushButton(words)
        self.start_button.setAccessibleName(self.start_button.text())
        self.start_button.clicked.connect(self.start)
        layout.addWidget(self.start_button)

        self.waiting = QWidget()
        waiting = QVBoxLayout(self.waiting)
        waiting.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        waiting.addWidget(self.status)
        self.code = QLabel()
        self.code.setTextFormat(Qt.TextFormat.PlainText)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setAccessibleName("User code")
        font = QFont(self.code.font())
        font.setPointSize(font.pointSize() * 2 + 4)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 3)
        self.code.setFont(font)
        self.copy_code = QPushButton("Copy code")
        self.copy_code.clicked.connect(lambda: self._copy(self.code.text()))
        code_row = QHBoxLayout()
        code_row.addWidget(self.code, 1)
        code_row.addWidget(self.copy_code)
        self.code_box = QWidget()
        self.code_box.setLayout(code_row)
        waiting.addWidget(self.code_box)
        link_row = QHBoxLayout()
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.link.setAccessibleName("Sign-in link")
        self.copy_link = QPushButton("Copy link")
        self.copy_link.clicked.connect(lambda: self._copy(self.link.text()))
        self.open_link = QPushButton("Open in browser" if self.device else "Open again")
        self.open_link.clicked.connect(lambda: sign_in.open_browser(self.link_url))
        link_row.addWidget(self.link, 1)
        link_row.addWidget(self.copy_link)
        link_row.addWidget(self.open_link)
        waiting.addLayout(link_row)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setAccessibleName("QR code of the sign-in link")
        waiting.addWidget(self.qr)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the sign-in")
        self.cancel_button.clicked.connect(self.cancel)
        waiting.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.waiting)
        self.waiting.hide()

        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    # -- the sign-in ------------------------------------------------------------------------

    def start(self) -> None:
        """The person's click: start the sign-in (the browser opens when the link is known)."""
        if self.task is not None and not self.task.done():
            return
        self.start_button.setEnabled(False)
        self.start_button.hide()
        self.outcome.setText("")
        self.status.setText("Starting…")
        self.code_box.hide()
        self.qr.hide()
        self.waiting.show()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            account = await self.adapter.login(self.account.id, _DialogView(self))
        except asyncio.CancelledError:
            self._finish(False, "Cancelled. Nothing was changed.")
            return
        except UserFacingError as exc:
            self._finish(False, redact(exc.message))
            return
        except Exception as exc:  # a bug: said once, logged with secrets stripped
            log.exception("interactive sign-in failed unexpectedly")
            self._finish(False, f"Unexpected error: {type(exc).__name__}; see the log.")
            return
        self.account = account
        self._finish(True, f"Signed in. {account.name} is ready.")

    def present(self, step: Step) -> None:
        """What the person must do, from the core (once, when the link or code is known)."""
        minutes = f"{sign_in.limit() / 60:g} minutes"
        if isinstance(step, BrowserStep):
            self.link_url = step.url
            self.link.setText(step.url)
            self.link.setCursorPosition(0)
            self.status.setText(
                "Waiting for you to sign in through the browser (at most "
                f"{minutes}). If no browser opened, copy the link into one."
            )
            sign_in.open_browser(step.url)  # the start button was the person's click
        elif isinstance(step, DeviceStep):
            target = step.verification_uri_complete or step.verification_uri
            self.link_url = target
            self.link.setText(step.verification_uri)
            self.link.setCursorPosition(0)
            self.code.setText(step.user_code)
            self.code_box.show()
            self.status.setText(
                f"Visit the link on any device and enter this code, or scan the QR code. "
                f"Waiting at most {minutes}."
            )
            try:
                self.qr.setPixmap(qr_pixmap(target))
                self.qr.show()
            except Exception:  # no QR is no reason to stop: the link and code are there
                log.warning("could not draw the QR code", exc_info=True)

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _finish(self, ok: bool, message: str) -> None:
        from shiboken6 import isValid

        if not isValid(self):  # closed meanwhile: nobody to tell
            return
        self.waiting.hide()
        self.outcome.setStyleSheet("" if ok else "color: #c2372f")
        self.outcome.setText(message)
        self.start_button.setEnabled(True)
        self.start_button.show()
        if ok:
            self.start_button.setText("Sign in again")

    def done(self, result: int) -> None:
        """Closing the dialog ends a sign-in in progress (its listener closes at once)."""
        try:
            self.cancel()
        except Exception:  # a Qt virtual: nothing may escape
            log.exception("cancelling the sign-in failed")
        super().done(result)
