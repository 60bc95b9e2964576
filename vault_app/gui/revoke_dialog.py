"""Revoke's confirmation: exactly what Revoke does for this account's provider (at the
server, or here only and why), what is kept and what is forgotten, and what the account
looks like afterwards. Cancel is the default; failures name the account and what to do."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from vault_app.core.errors import UserFacingError
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import AccountConfig, Provider, get_provider
from vault_app.gui.failures import failure_text


def consequences(account: Account, provider: Provider) -> str:
    """What stays and what goes, from the stored secret names (values are never needed)."""
    held = set(account.secret_fields)
    labels = {spec.name: spec.label for spec in provider.fields}
    forgotten = [labels[n] for n in provider.token_fields if n in held and n in labels]
    kept = [
        labels[n]
        for n in (s.name for s in provider.fields if s.secret)
        if n in held and n not in provider.token_fields
    ]
    parts = [f'Afterwards {account.name} shows "Signed out" and is no longer refreshed.']
    if forgotten:
        parts.append(
            f"The stored {' and '.join(forgotten)} is forgotten too: to use {account.name} "
            "again, enter a new one with Sign in…"
        )
    if kept:
        parts.append(f"Kept in the keyring: {', '.join(kept)}. Sign in… gets new tokens with it.")
    if account.status is Status.SIGNED_OUT:
        parts.insert(0, f"{account.name} holds no tokens now: there is nothing to revoke.")
    return " ".join(parts)


class RevokeDialog(QMessageBox):
    """Accepted (`clickedButton() is revoke_button`) means: revoke now."""

    def __init__(self, account: Account, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle(f"Revoke {account.name}?")
        self.setTextFormat(Qt.TextFormat.PlainText)
        try:
            provider: Provider | None = get_provider(account.provider)
        except UserFacingError:
            provider = None
        if provider is None:
            self.setText(f"Revoke {account.name}?\n\nRevoke forgets its tokens here.")
        else:
            description = provider.revoke_description(AccountConfig(account.fields, {}))
            # One plain-text body: the informative text would read names as rich text.
            after = consequences(account, provider)
            self.setText(f"Revoke {account.name}?\n\n{description}\n\n{after}")
        cancel = self.addButton(QMessageBox.StandardButton.Cancel)
        self.revoke_button: QPushButton = self.addButton(
            "Revoke", QMessageBox.ButtonRole.DestructiveRole
        )
        self.revoke_button.setAccessibleName(f"Revoke {account.name}")
        self.setDefaultButton(cancel)
        self.setEscapeButton(cancel)

    def done(self, result: int) -> None:
        # QMessageBox reports which button, not accepted/rejected: translate for `finished`.
        # (A Qt virtual: it must not raise; nothing here can, short of a deleted button.)
        accepted = shiboken6.isValid(self.revoke_button) and (
            self.clickedButton() is self.revoke_button
        )
        code = QMessageBox.DialogCode.Accepted if accepted else QMessageBox.DialogCode.Rejected
        super().done(code.value)


def report_failure(parent: QWidget, account: Account, error: UserFacingError) -> QMessageBox:
    """A failed revoke, readable in full: which account, what happened, what to do."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        f"Revoke {account.name}",
        failure_text("revoke", account, error),
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
