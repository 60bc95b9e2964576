"""Show: an account's current access token, following the account while open.

The token is masked until revealed; the countdown is live; when the vault refreshes the
account the dialog re-reads the stored token, and every copy button takes the current token
through the adapter (refreshing first when it is about to expire). The decoded JWT header and
claims are shown as plain monospace text, times in local time. Show also opens for a failing
account: it says what is wrong and what to do, and shows a stored token still valid."""

from __future__ import annotations

import json
import logging
import shlex
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core import jwtinfo
from vault_app.core.errors import UserFacingError
from vault_app.core.model import Account, Status, TokenSet
from vault_app.core.providers.base import Provider, get_provider
from vault_app.core.timefmt import span
from vault_app.gui.dialog_fit import FittingScrollArea, fit_to_screen
from vault_app.gui.failures import failure_text
from vault_app.gui.focus import set_visible_keeping_focus
from vault_app.gui.message_bar import MessageBar, Tone

if TYPE_CHECKING:
    from vault_app.gui.adapter import VaultAdapter

log = logging.getLogger(__name__)

# A copied token stays valid at least this long (seconds): older ones are refreshed first.
MIN_VALID = 30.0
MASK = "••••••••"
TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")
STATUS_WORDS = {
    Status.OK: "Signed in",
    Status.ERROR: "Refresh failing",
    Status.SIGN_IN_NEEDED: "Sign-in needed",
    Status.SIGNED_OUT: "Signed out",
}
PREFERRED_WIDTH = 640


def local_time(timestamp: float | None) -> str:
    """A UTC timestamp (seconds) as local date and time with its zone, or "unknown" for
    None or a value no calendar holds (claims come from outside)."""
    if timestamp is None:
        return "unknown"
    try:
        return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except (OverflowError, OSError, ValueError):
        return "unknown"


def copy_forms(account: Account, tokens: TokenSet) -> dict[str, str]:
    """The token in each form the Show dialog (and the copy format setting) offers: "raw",
    "bearer" (the scheme and the token; the token alone when the scheme is empty), "header"
    (`Name: value`, RFC 6750 section 2.1 for Authorization) and "curl"."""
    scheme = tokens.token_type or ""
    value = f"{scheme} {tokens.access_token}" if scheme else tokens.access_token
    header = f"{account.fields.get('header_name') or 'Authorization'}: {value}"
    return {
        "raw": tokens.access_token,
        "bearer": value,
        "header": header,
        "curl": f"curl -H {shlex.quote(header)} https://",
    }


def claims_text(token: str) -> str:
    """The decoded header and claims as indented JSON (non-ASCII escaped, so no control or
    direction character from outside reaches the screen), then the time claims in local
    time; or a sentence when the token is not a JWT."""
    info = jwtinfo.inspect(token)
    if info is None:
        return "This token is not a JWT: there is no header or claims to show."
    text = "// header\n" + json.dumps(info.header, indent=2, sort_keys=True, default=str)
    text += "\n// claims (not verified)\n"
    return text + json.dumps(info.claims, indent=2, sort_keys=True, default=str) + _times(info)


def id_token_text(id_token: str) -> str | None:
    """The claims of an OpenID Connect id_token (who signed in, as the server says) in the
    same form as `claims_text`, or None when it is not a JWT."""
    info = jwtinfo.inspect(id_token)
    if info is None:
        return None
    text = "// id_token claims (OpenID Connect, not verified)\n"
    return text + json.dumps(info.claims, indent=2, sort_keys=True, default=str) + _times(info)


def _times(info: jwtinfo.JwtInfo) -> str:
    times = [
        f"{name:<9} {local_time(value)}"
        for name in TIME_CLAIMS
        if isinstance(value := info.claims.get(name), (int, float)) and not isinstance(value, bool)
    ]
    return "\n// times, local\n" + "\n".join(times) if times else ""


class ShowDialog(QDialog):
    """`tokens` shows these at once (without an adapter: only these, for pictures and
    tests); with `adapter` the dialog fetches the current token and follows the account.
    `copy` puts a text on the clipboard (the window's secret-marked copy)."""

    sign_in_requested = Signal(object)  # Account: the person pressed "Sign in…"

    def __init__(
        self,
        account: Account,
        tokens: TokenSet | None = None,
        copy: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
        *,
        adapter: VaultAdapter | None = None,
    ) -> None:
        super().__init__(parent)
        self.account = account
        self.tokens: TokenSet | None = None
        self.adapter = adapter
        self._copy = copy or (lambda _text: None)
        self._seen = self._signature(account)
        self._shape: tuple[bool, bool] | None = None  # claims shown, scheme row shown
        self.forms: dict[str, str] = {}
        self.copy_what: dict[str, tuple[str, str]] = {}
        try:
            self.provider: Provider | None = get_provider(account.provider)
        except UserFacingError:
            self.provider = None
        self.setWindowTitle(f"{account.name}: access token")
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        outer = QVBoxLayout(self)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = _plain(
            f"{account.name} ({self.provider.title if self.provider else account.provider})"
        )
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.message = MessageBar()
        self.message.changed.connect(self.refit)
        layout.addWidget(self.message)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.status_label = _plain("")
        form.addRow("Status", self.status_label)
        row = QHBoxLayout()
        self.token_edit = QLineEdit()
        self.token_edit.setReadOnly(True)
        self.token_edit.setFont(fixed)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setAccessibleName("Access token (masked)")
        self.reveal = QToolButton()
        self.reveal.setText("Reveal")
        self.reveal.setCheckable(True)
        self.reveal.setAccessibleName("Reveal the token")
        self.reveal.toggled.connect(self._toggle)
        row.addWidget(self.token_edit, 1)
        row.addWidget(self.reveal)
        form.addRow("Token", row)
        self.type_label = _plain("")
        self.issued_label = _plain("")
        self.expires_label = _plain("")
        self.expires_label.setAccessibleName("Expires")
        self.scope_label = _plain("")
        form.addRow("Type", self.type_label)
        form.addRow("Issued", self.issued_label)
        self.issued_caption = form.labelForField(self.issued_label)
        form.addRow("Expires", self.expires_label)
        form.addRow("Scope", self.scope_label)
        self._form = form
        layout.addLayout(form)

        group = QGroupBox("Copy")
        grid = QGridLayout(group)
        grid.setColumnStretch(1, 1)
        self.previews: dict[str, QLineEdit] = {}
        self.copy_buttons: dict[str, QPushButton] = {}
        self.copy_labels: dict[str, QLabel] = {}
        for line, key in enumerate(("raw", "bearer", "header", "curl")):
            label = _plain("")
            preview = QLineEdit()
            preview.setReadOnly(True)
            preview.setFont(fixed)
            preview.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            button = QPushButton("Copy")
            button.clicked.connect(lambda _=False, k=key: self.copy_form(k))
            grid.addWidget(label, line, 0)
            grid.addWidget(preview, line, 1)
            grid.addWidget(button, line, 2)
            self.copy_labels[key], self.previews[key], self.copy_buttons[key] = (
                label,
                preview,
                button,
            )
        layout.addWidget(group)

        self.claims_caption = _plain("Decoded JWT (read without verifying the signature)")
        layout.addWidget(self.claims_caption)
        self.claims = QPlainTextEdit()
        self.claims.setReadOnly(True)
        self.claims.setFont(fixed)
        self.claims.setTabChangesFocus(True)
        self.claims.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.claims.setAccessibleName("Decoded JWT header and claims")
        self.claims.setMinimumHeight(self.claims.fontMetrics().lineSpacing() * 6)
        self.claims.setFixedHeight(self.claims.fontMetrics().lineSpacing() * 14)
        layout.addWidget(self.claims)
        self.scroll_area = FittingScrollArea(body)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer.addWidget(self.scroll_area, 1)

        buttons = QDialogButtonBox()
        self.sign_in_button = buttons.addButton("Sign in…", QDialogButtonBox.ButtonRole.ActionRole)
        self.sign_in_button.clicked.connect(lambda: self.sign_in_requested.emit(self.account))
        set_visible_keeping_focus(self.sign_in_button, False)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        self.close_button.setDefault(True)  # inside the dialog first, or it is forgotten

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        if adapter is not None:
            adapter.account_changed.connect(self._account_changed)
            adapter.account_removed.connect(self._account_removed)
        self._set_tokens(tokens)
        self._update_account()
        fit_to_screen(self, PREFERRED_WIDTH)  # before the window exists: created at its size
        if adapter is not None:
            self.fetch()

    # -- what is shown --------------------------------------------------------------------

    @staticmethod
    def _signature(account: Account) -> tuple[Any, ...]:
        return (account.generation, account.access_expires_at, account.status)

    def _set_tokens(self, tokens: TokenSet | None) -> None:
        self.tokens = tokens
        self.forms = copy_forms(self.account, tokens) if tokens is not None else {}
        self.token_edit.setText(tokens.access_token if tokens else "")
        self.token_edit.setCursorPosition(0)
        self.token_edit.setPlaceholderText("" if tokens else "no token held")
        self.type_label.setText(
            (tokens.token_type or "(none: the token is sent alone)") if tokens else "-"
        )
        info = jwtinfo.inspect(tokens.access_token) if tokens else None
        # A JWT says when it was issued; otherwise what is known is when it arrived here.
        issued = info.issued_at if info else None
        if isinstance(self.issued_caption, QLabel):
            self.issued_caption.setText("Issued" if issued is not None else "Received")
        if issued is None and tokens is not None:
            issued = tokens.obtained_at
        self.issued_label.setText(local_time(issued) if tokens else "-")
        self.scope_label.setText(tokens.scope or "-" if tokens else "-")
        id_text = id_token_text(tokens.id_token) if tokens and tokens.id_token else None
        parts = [claims_text(tokens.access_token)] if info and tokens else []
        parts += [id_text] if id_text else []
        self.claims.setPlainText("\n\n".join(parts))
        self.claims.setVisible(bool(parts))
        self.claims_caption.setText(
            "Decoded JWT (read without verifying the signature)"
            if info is not None
            else "The access token is not a JWT; the id_token, decoded without verifying it:"
            if id_text is not None
            else "Not a JWT: there is no header or claims to decode."
            if tokens is not None
            else ""
        )
        scheme = (tokens.token_type if tokens else "Bearer") or ""
        header = self.account.fields.get("header_name") or "Authorization"
        self.copy_what = {
            "raw": ("Token", "the token"),
            "bearer": (f"{scheme} token", f"“{scheme} <token>”"),
            "header": ("Header line", f"the {header} header line"),
            "curl": ("curl", "a curl command with that header"),
        }
        for key, (label, what) in self.copy_what.items():
            self.copy_labels[key].setText(label)
            self.copy_buttons[key].setAccessibleName(f"Copy {what}")
            self.copy_buttons[key].setToolTip(f"Copy {what}")
            self.copy_buttons[key].setEnabled(tokens is not None)
        # Without a scheme "Bearer token" is the token alone: one row fewer to choose from.
        for widget in (self.copy_labels, self.previews, self.copy_buttons):
            widget["bearer"].setVisible(bool(scheme))
        self._update_previews()
        self.tick()
        # The token usually arrives after the dialog is on screen (it is fetched): grow to
        # show the claims then, but never undo a size the person chose on every refresh.
        shape = (bool(parts), bool(scheme))
        if shape != self._shape:
            self._shape = shape
            self.refit()

    def _update_previews(self) -> None:
        shown = self.reveal.isChecked()
        for key, preview in self.previews.items():
            text = self.forms.get(key, "")
            if not shown and self.tokens is not None:
                text = text.replace(self.tokens.access_token, MASK)
            preview.setText(text)
            preview.setCursorPosition(0)

    def _update_account(self) -> None:
        self.status_label.setText(STATUS_WORDS.get(self.account.status, "unknown"))
        needs_user = self.account.status in (Status.SIGN_IN_NEEDED, Status.SIGNED_OUT)
        set_visible_keeping_focus(self.sign_in_button, needs_user and self.adapter is not None)
        if self.account.status is Status.SIGNED_OUT and self.tokens is None:
            self.message.show_message(
                f"{self.account.name} is signed out (revoked, or never signed in): it holds no "
                "token to show or copy. Use Sign in… to get one.",
                Tone.WARNING,
            )

    def tick(self) -> None:
        """Once a second: the countdown, and the expiry said as it happens."""
        try:
            tokens = self.tokens
            if tokens is None or tokens.expires_at is None:
                self.expires_label.setText("no expiry known" if tokens else "-")
                return
            when = local_time(tokens.expires_at)
            left = tokens.expires_at - time.time()
            if left > 0:
                self.expires_label.setText(f"{when}  (in {span(left)})")
            else:
                self.expires_label.setText(f"{when}  (expired {span(left)} ago)")
                if self.account.status is Status.OK:
                    self.status_label.setText("Expired")
        except Exception:  # a timer slot: report, never raise into Qt
            log.exception("Show dialog countdown")

    def _toggle(self, shown: bool) -> None:
        self.token_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.token_edit.setCursorPosition(0)
        self.reveal.setText("Hide" if shown else "Reveal")
        self._update_previews()

    # -- following the account ------------------------------------------------------------

    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def fetch(self) -> None:
        """The current token through the adapter (refreshed first when about to expire);
        a signed-out account is not signed in behind the person's back."""
        if self.adapter is None:
            return
        if self.account.status is Status.SIGNED_OUT:
            self.load_stored()
            return
        self.adapter.spawn(
            self.adapter.token(self.account.id, min_valid=MIN_VALID),
            self._fetched,
            self._fetch_failed,
        )

    def load_stored(self) -> None:
        """Re-read the stored token (after the vault refreshed), without refreshing."""
        if self.adapter is None:
            return
        self.adapter.spawn(
            self.adapter.stored_tokens(self.account.id), self._stored, self._fetch_failed
        )

    def _fetched(self, tokens: TokenSet) -> None:
        if self._alive():
            self.message.clear()
            self._set_tokens(tokens)
            self._update_account()

    def _stored(self, found: tuple[Account, TokenSet | None]) -> None:
        if not self._alive():
            return
        account, tokens = found
        self.account = account
        self._seen = self._signature(account)
        self._set_tokens(tokens)
        if self.account.status is Status.OK:
            self.message.clear()
        self._update_account()

    def _fetch_failed(self, error: UserFacingError) -> None:
        """No current token: say what happened and what to do, and show what is stored
        (a token that is still valid stays usable)."""
        if not self._alive():
            return
        self.message.show_message(self._failure("get a token for", error), Tone.ERROR)
        set_visible_keeping_focus(self.sign_in_button, self.adapter is not None)
        if self.tokens is None and self.adapter is not None:
            self.adapter.spawn(
                self.adapter.stored_tokens(self.account.id), self._stored_after_failure
            )

    def _stored_after_failure(self, found: tuple[Account, TokenSet | None]) -> None:
        if self._alive():
            self.account = found[0]
            self._set_tokens(found[1])
            self.status_label.setText(STATUS_WORDS.get(self.account.status, "unknown"))

    def _failure(self, action: str, error: UserFacingError) -> str:
        # Getting the token is what the engine retries on its own after a transient failure.
        return failure_text(action, self.account, error, retried=True)

    def _account_changed(self, account: Account) -> None:
        if not self._alive() or account.id != self.account.id:
            return
        self.account = account
        self._update_account()
        if self._signature(account) != self._seen:
            self._seen = self._signature(account)
            self.load_stored()

    def _account_removed(self, account_id: str) -> None:
        if not self._alive() or account_id != self.account.id:
            return
        self._set_tokens(None)
        self.message.show_message(
            f"{self.account.name} was removed: its token is gone.", Tone.WARNING
        )

    # -- copying --------------------------------------------------------------------------

    def copy_form(self, key: str) -> None:
        """Copy the current token in form `key`: re-read through the adapter (refreshed
        first when about to expire), so a token the vault replaced is never copied."""
        if self.adapter is None:
            if key in self.forms:
                self._copy(self.forms[key])
            return
        if self.account.status is Status.SIGNED_OUT:
            self.message.show_message(
                f"Nothing was copied: {self.account.name} is signed out. Use Sign in… first.",
                Tone.WARNING,
            )
            return

        def copy(tokens: TokenSet) -> None:
            if not self._alive():
                return
            self._set_tokens(tokens)
            self._copy(self.forms[key])
            what = self.copy_what[key][1]
            self.message.show_message(f"Copied {what} of {self.account.name}.", Tone.INFO)

        def failed(error: UserFacingError) -> None:
            if self._alive():
                self.message.show_message(
                    self._failure("copy the token of", error)
                    + " Nothing was copied: the clipboard keeps what it had.",
                    Tone.ERROR,
                )

        self.adapter.spawn(self.adapter.token(self.account.id, min_valid=MIN_VALID), copy, failed)

    def refit(self) -> None:
        """Size to the contents again (a message came or went), within the screen."""
        if self._alive() and self.isVisible():
            fit_to_screen(self, PREFERRED_WIDTH)

    def _focus_close(self) -> None:
        if self._alive() and self.isVisible():
            self.close_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def showEvent(self, event: QShowEvent) -> None:
        try:
            super().showEvent(event)
            fit_to_screen(self, PREFERRED_WIDTH)
            self.close_button.setFocus(Qt.FocusReason.OtherFocusReason)
            # Mapping the window may hand focus to the first widget afterwards: take it back.
            QTimer.singleShot(0, self._focus_close)
        except Exception:  # a Qt virtual must never raise
            log.exception("showing the Show dialog")


def _plain(text: str) -> QLabel:
    """A label that never reads its text as rich text (names and claims come from outside)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def sample_for_screenshot(
    kind: str = "oauth2", parent: QWidget | None = None, lifetime: float = 600
) -> ShowDialog:
    """A Show dialog with a made-up JWT and no vault behind it, for pictures and layout
    tests (the countdown runs; copy buttons copy nothing)."""
    import jwt

    now = time.time()
    token = jwt.encode(
        {
            "sub": "trader-42",
            "iss": "https://auth.example.com",
            "iat": int(now),
            "exp": int(now + lifetime),
            "scope": "orders:read orders:write",
        },
        "sample-key-" * 4,
        "HS256",
    )
    account = Account(id="sample", name=f"{kind}-main", provider=kind, status=Status.OK)
    return ShowDialog(
        account, TokenSet(token, "Bearer", now + lifetime, scope="orders:read"), parent=parent
    )
