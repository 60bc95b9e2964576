"""What the window says when an action fails: which account, what happened, what to do. Shown in
full in a message box, or in a notification when the window is hidden in the tray; never only
as a status-bar line that may be cut off."""

from __future__ import annotations

from dataclasses import dataclass

from vault_app.core.errors import (
    KeyringUnavailableError,
    MisconfiguredError,
    NoSuchAccountError,
    RejectedError,
    TransientError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.redact import redact
from vault_app.gui.plain_text import paragraphs, shown


@dataclass(frozen=True)
class Failure:
    """A failed action, in words."""

    title: str  # "Could not copy the token of alor-main"
    happened: str  # the error's own message
    advice: str  # what to do about it
    account_id: str | None = None
    offer_sign_in: bool = False  # a "Sign in…" button helps

    def text(self) -> str:
        """Everything after the title, for a message box or a notification."""
        return "\n\n".join(part for part in (self.happened, self.advice) if part)


def advice(exc: BaseException) -> tuple[str, bool]:
    """What the user can do about `exc`, and whether signing in again is the way."""
    if isinstance(exc, RejectedError):
        return (
            "The server no longer accepts what Token Vault holds for this account. "
            "Sign in again to get new tokens (Account ▸ Sign in…).",
            True,
        )
    if isinstance(exc, TransientError):
        return (
            "This is usually network or server trouble that passes. The stored tokens are "
            "kept and Token Vault tries again on its own; you can also retry in a moment.",
            False,
        )
    if isinstance(exc, MisconfiguredError):
        return (
            "Retrying will not help: check the account's settings (Account ▸ Edit…), such "
            "as the server's address.",
            False,
        )
    if isinstance(exc, KeyringUnavailableError):
        return ("Unlock the system keyring (or start it), then try again.", False)
    if isinstance(exc, VaultFileError):
        return (
            "Token Vault left the file as it is. Restore it from the backup named above, "
            "or move it away to start afresh.",
            False,
        )
    if isinstance(exc, NoSuchAccountError):
        return ("The account was removed meanwhile (perhaps from the command line).", False)
    return ("", False)


def failure(verb: str, name: str | None, exc: BaseException, account_id: str | None) -> Failure:
    """`verb` completes "Could not …" ("copy the token of", "refresh"); `name` is the
    account's (None for actions on no one account, such as an import)."""
    subject = f"Could not {verb} {shown(name, 60)}" if name else f"Could not {verb}"
    if isinstance(exc, UserFacingError):
        happened = paragraphs(redact(exc.message))
    else:
        happened = (
            f"Unexpected error ({type(exc).__name__}). Details are in the log "
            "(run with TOKEN_VAULT_LOG=debug for more)."
        )
    words, sign_in = advice(exc)
    return Failure(subject, happened, words, account_id, sign_in and account_id is not None)
