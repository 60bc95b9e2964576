"""The browser and device sign-in, as the Add / Edit / Sign in form's main button: the
dialogs' sign-in action (account_dialog.register_sign_in_action) for oauth2 accounts whose
grant is `authorization_code` or `device_code`.

Pressing "Sign in with browser" (or "Get a sign-in code") is the person's click: the form is
saved (Add removes it again when the sign-in does not finish), then its waiting state shows
in the form's action area. Browser grant: the browser opens at the link, which is shown with
Copy and Open again, for when the wrong browser or none opened. Device grant: the user code
in large type with Copy, the verification link with Copy and Open in browser, and a QR code
of `verification_uri_complete` for a phone; nothing opens by itself. Both: the time left,
Cancel, and the outcome in the form (dialog.added / edited / failed). Closing the form
cancels the sign-in (its loopback listener closes at once). Nothing here opens a browser
without that click, and the refresh engine never starts one (core/sign_in.py)."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from functools import partial

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from vault_app.core import sign_in
from vault_app.core.errors import UserFacingError
from vault_app.core.sign_in import BrowserStep, DeviceStep, Step
from vault_app.gui.account_dialog import (
    AccountDialog,
    SignInAction,
    SignInRequest,
    register_sign_in_action,
)
from vault_app.gui.plain_words import BROWSER_BUTTON, DEVICE_BUTTON

log = logging.getLogger(__name__)
QR_SIZE = 168  # logical pixels: large enough for a phone camera at arm's length
CODE_WIDTH = 420  # logical pixels the user code may take before its type shrinks, then wraps
GRANTS = {"authorization_code": BROWSER_BUTTON, "device_code": DEVICE_BUTTON}


def qr_pixmap(text: str, size: int = QR_SIZE, ratio: float = 1.0) -> QPixmap:
    """A QR code of `text` (segno, error correction M, the standard 4-module quiet zone)
    about `size` logical pixels square, drawn with whole device pixels per module at the
    screen's `ratio` so it stays sharp at any scale."""
    import segno

    code = segno.make(text, error="m")
    modules = code.symbol_size(border=4)[0]
    scale = max(2, round(size * ratio / modules))
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def register_actions() -> None:
    """Make this the forms' main button for the browser and device grants, unless another
    action was registered for them (idempotent)."""
    for grant in GRANTS:
        register_sign_in_action("oauth2", grant, partial(InteractiveSignIn, grant), replace=False)


class WaitingPanel(QFrame):
    """What the person must do now, for one step of the sign-in, with the time left and
    Cancel. `copy` puts a text on the clipboard; `on_cancel` ends the sign-in."""

    def __init__(
        self,
        step: Step,
        copy: Callable[[str], None],
        on_cancel: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)  # one group, apart from the form
        self.step = step
        self._copy = copy
        self.device = isinstance(step, DeviceStep)
        self.target: str = ""  # what "Open" opens
        limit = sign_in.limit()
        if isinstance(step, DeviceStep):
            limit = min(limit, step.expires_in)
        self.deadline = time.monotonic() + limit
        layout = QVBoxLayout(self)

        self.words = QLabel()
        self.words.setWordWrap(True)
        self.words.setTextFormat(Qt.TextFormat.PlainText)
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.link.setAccessibleName("Sign-in link")
        self.copy_link = QPushButton("Copy link")
        self.copy_link.setAccessibleName("Copy the sign-in link")
        self.copy_link.clicked.connect(lambda: self._copy(self.link.text()))
        self.open_link = QPushButton("Open in browser" if self.device else "Open again")
        self.open_link.setAccessibleName(
            "Open the link in the browser" if self.device else "Open the link in the browser again"
        )
        self.open_link.clicked.connect(lambda: sign_in.open_browser(self.target))
        self.code = QLabel()
        self.copy_code = QPushButton("Copy code")
        self.qr = QLabel()

        if isinstance(step, DeviceStep):
            self.target = step.verification_uri_complete or step.verification_uri
            self._device(step, layout)
        else:
            self.target = step.url
            self._browser(step, layout)
        self.link.setCursorPosition(0)

        bottom = QHBoxLayout()
        self.time_left = QLabel()
        self.time_left.setAccessibleName("Time left to sign in")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the sign-in")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self._cancel)
        self._on_cancel = on_cancel
        bottom.addWidget(self.time_left, 1)
        bottom.addWidget(self.cancel_button)
        layout.addLayout(bottom)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self.tick()

    def _browser(self, step: BrowserStep, layout: QVBoxLayout) -> None:
        self.words.setText(
            "Your browser was sent to the sign-in page: sign in there and allow access, then "
            "come back; this form finishes by itself. If no browser opened, or the wrong one "
            "did, copy the link into the right one."
        )
        self.link.setText(step.url)
        row = QHBoxLayout()
        row.addWidget(self.link, 1)
        row.addWidget(self.copy_link)
        row.addWidget(self.open_link)
        layout.addWidget(self.words)
        layout.addLayout(row)
        self.code.hide()
        self.copy_code.hide()
        self.qr.hide()

    def _device(self, step: DeviceStep, layout: QVBoxLayout) -> None:
        self.words.setText(
            "On any device (a phone will do), open the link and enter this code, or scan "
            "the QR code. This form finishes by itself."
        )
        self.code.setTextFormat(Qt.TextFormat.PlainText)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAccessibleName("User code")
        self._show_code(step.user_code)
        self.copy_code.setAccessibleName("Copy the user code")
        self.copy_code.clicked.connect(lambda: self._copy(step.user_code))
        self.link.setText(step.verification_uri)
        self.qr.setAccessibleName("QR code of the sign-in link")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        try:
            ratio = self.devicePixelRatioF() or 1.0
            self.qr.setPixmap(qr_pixmap(self.target, self._qr_size(), ratio))
        except Exception:  # no QR is no reason to stop: the link and the code are there
            log.warning("could not draw the QR code", exc_info=True)
            self.qr.hide()

        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.addWidget(self.qr, 0, 0, 4, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.words, 0, 1, 1, 2)
        grid.addWidget(self.code, 1, 1)
        grid.addWidget(self.copy_code, 1, 2)
        grid.addWidget(self.link, 2, 1)
        grid.addWidget(self.copy_link, 2, 2)
        grid.addWidget(self.open_link, 3, 2)
        grid.setRowStretch(4, 1)
        layout.addLayout(grid)

    def _show_code(self, code: str) -> None:
        """The user code in large type. A long one (the server decides; up to 64
        characters) gets smaller type, down to the normal size, and then wraps anywhere, so
        the panel still fits a small screen; Copy always takes the code as sent."""
        font = QFont(self.code.font())
        base = font.pointSizeF()
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 2)
        for factor in (2.2, 1.8, 1.4, 1.0):
            font.setPointSizeF(base * factor)
            if QFontMetrics(font).horizontalAdvance(code) <= CODE_WIDTH:
                break
        self.code.setFont(font)
        if QFontMetrics(font).horizontalAdvance(code) > CODE_WIDTH:
            self.code.setWordWrap(True)
            code = "\u200b".join(code)  # a break opportunity between every two characters
        self.code.setText(code)

    def _qr_size(self) -> int:
        """QR_SIZE, smaller on a short screen (a quarter of its height, at least 96 logical
        pixels): the form, the code and its buttons must fit beside it."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        height = screen.availableGeometry().height() if screen is not None else 4 * QR_SIZE
        return max(96, min(QR_SIZE, height // 4))

    def first_button(self) -> QPushButton:
        """Where the focus goes when the panel appears."""
        return self.copy_code if self.device else self.copy_link

    def tick(self) -> None:
        """Once a second: the time left (a timer slot: never raises into Qt)."""
        try:
            left = max(0, int(self.deadline - time.monotonic()))
            minutes, seconds = divmod(left, 60)
            self.time_left.setText(f"Waiting for you… {minutes}:{seconds:02d} left")
        except Exception:
            log.exception("sign-in countdown")

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self._on_cancel()


class _PanelView:
    """The core's SignInView for one run of the action."""

    def __init__(self, action: InteractiveSignIn, dialog: AccountDialog) -> None:
        self.action = action
        self.dialog = dialog

    def show(self, step: Step) -> None:
        self.action.present(self.dialog, step)


class InteractiveSignIn(SignInAction):
    """The form's main button for a browser or device grant (see the module doc)."""

    def __init__(self, grant: str) -> None:
        self.grant = grant
        self.button_text = GRANTS[grant]
        self._cancelled: asyncio.Event | None = None
        self.panel: WaitingPanel | None = None

    def start(self, dialog: AccountDialog, request: SignInRequest) -> None:
        adapter = dialog.adapter
        if adapter is None:
            dialog.failed(UserFacingError("the vault is not open yet; try again in a moment"))
            return
        self._cancelled = cancelled = asyncio.Event()
        view = _PanelView(self, dialog)
        if request.account is None:
            adapter.spawn(
                adapter.add_interactive(
                    request.name, request.kind, request.fields, request.secrets, view, cancelled
                ),
                lambda result: self._ended(dialog, result[1], lambda: dialog.added(result)),
                lambda error: self._ended(dialog, error, lambda: dialog.failed(error)),
            )
        else:
            adapter.spawn(
                adapter.edit_interactive(
                    request.account.id, request.fields, request.secrets, view, cancelled
                ),
                lambda result: self._ended(dialog, result[1], lambda: dialog.edited(result)),
                lambda error: self._ended(dialog, error, lambda: dialog.failed(error)),
            )

    def cancel(self) -> None:
        """The form closed, or Cancel was pressed: end the wait (nothing is stored)."""
        if self._cancelled is not None:
            self._cancelled.set()

    def present(self, dialog: AccountDialog, step: Step) -> None:
        """What the person must do, from the core (once the link or code is known)."""
        cancelled = self._cancelled is not None and self._cancelled.is_set()
        if cancelled or not shiboken6.isValid(dialog) or not dialog.isVisible():
            return
        self._clear(dialog)
        self.panel = WaitingPanel(step, _copier(dialog), self.cancel, dialog.action_area)
        layout = dialog.action_area.layout()
        if layout is not None:
            layout.addWidget(self.panel)
        dialog.action_area.setVisible(True)
        dialog.outcome.clear()  # the panel says what is going on
        if isinstance(step, BrowserStep):
            sign_in.open_browser(step.url)  # the form's button was the person's click
        dialog.refit()
        self.panel.first_button().setFocus(Qt.FocusReason.OtherFocusReason)

    def _ended(
        self, dialog: AccountDialog, failure: UserFacingError | None, report: Callable[[], None]
    ) -> None:
        self._clear(dialog)
        closed = not shiboken6.isValid(dialog) or not dialog.isVisible()
        if closed and isinstance(failure, sign_in.SignInCancelledError):
            return  # the person closed the form: that was the cancel, nothing to report
        report()

    def _clear(self, dialog: AccountDialog) -> None:
        panel, self.panel = self.panel, None
        if panel is not None and shiboken6.isValid(panel):
            panel.hide()
            panel.deleteLater()
        if shiboken6.isValid(dialog):
            dialog.action_area.setVisible(False)
            dialog.refit()


def _copier(dialog: AccountDialog) -> Callable[[str], None]:
    """The window's clipboard copy (marked, wiped after its timeout) when the form has one
    as its parent, else the plain clipboard: a link or a user code is not a secret."""
    copy = getattr(dialog.parentWidget(), "copy_text", None)
    if callable(copy):
        return copy  # type: ignore[no-any-return]

    def plain(text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    return plain
