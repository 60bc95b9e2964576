"""Show: the token masked until revealed, its decoded JWT header and claims with times in
local time, and copy buttons for the forms people paste: raw, Bearer, header line, curl."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
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
from vault_app.core.model import Account, TokenSet
from vault_app.core.timefmt import relative


def local_time(timestamp: float | None) -> str:
    from datetime import datetime

    if timestamp is None:
        return "unknown"
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def copy_forms(account: Account, tokens: TokenSet) -> dict[str, str]:
    """The token in each form the Show dialog (and the copy format setting) offers."""
    scheme = tokens.token_type or ""
    value = f"{scheme} {tokens.access_token}" if scheme else tokens.access_token
    header = f"{account.fields.get('header_name') or 'Authorization'}: {value}"
    return {
        "raw": tokens.access_token,
        "bearer": value,
        "header": header,
        "curl": f"curl -H {shlex.quote(header)} https://",
    }


class ShowDialog(QDialog):
    def __init__(
        self,
        account: Account,
        tokens: TokenSet,
        copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{account.name} — token")
        self.setMinimumWidth(560)
        self._copy = copy
        self.forms = copy_forms(account, tokens)
        layout = QVBoxLayout(self)

        form = QFormLayout()
        row = QHBoxLayout()
        self.token_edit = QLineEdit(tokens.access_token)
        self.token_edit.setReadOnly(True)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setAccessibleName("Access token (masked)")
        self.reveal = QToolButton()
        self.reveal.setText("Reveal")
        self.reveal.setCheckable(True)
        self.reveal.setAccessibleName("Reveal the token")
        self.reveal.toggled.connect(self._toggle)
        row.addWidget(self.token_edit)
        row.addWidget(self.reveal)
        form.addRow("Token", row)
        info = jwtinfo.inspect(tokens.access_token)
        issued = info.issued_at if info else None
        form.addRow("Type", QLabel(tokens.token_type or "(none)"))
        form.addRow("Issued", QLabel(local_time(issued or tokens.obtained_at)))
        expires = local_time(tokens.expires_at)
        if tokens.expires_at is not None:
            expires += f"  ({relative(tokens.expires_at)})"
        form.addRow("Expires", QLabel(expires))
        if tokens.scope:
            form.addRow("Scope", QLabel(tokens.scope))
        layout.addLayout(form)

        self.claims = QPlainTextEdit()
        self.claims.setReadOnly(True)
        self.claims.setAccessibleName("Decoded JWT header and claims")
        if info is not None:
            text = "// header\n" + json.dumps(info.header, indent=2, sort_keys=True)
            text += "\n// claims (not verified)\n" + json.dumps(
                info.claims, indent=2, sort_keys=True
            )
        else:
            text = "This token is not a JWT: there are no claims to show."
        id_info = jwtinfo.inspect(tokens.id_token) if tokens.id_token else None
        if id_info is not None:  # OpenID Connect: who signed in, as the server says
            text += "\n\n// id_token claims (not verified)\n" + json.dumps(
                id_info.claims, indent=2, sort_keys=True
            )
        self.claims.setPlainText(text)
        layout.addWidget(self.claims)

        buttons = QHBoxLayout()
        for key, label in (
            ("raw", "Copy token"),
            ("bearer", "Copy Bearer …"),
            ("header", "Copy header line"),
            ("curl", "Copy curl snippet"),
        ):
            button = QPushButton(label)
            button.setAccessibleName(label)
            button.clicked.connect(lambda _=False, k=key: self._copy(self.forms[k]))
            buttons.addWidget(button)
        layout.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)

    def _toggle(self, shown: bool) -> None:
        self.token_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.reveal.setText("Hide" if shown else "Reveal")
