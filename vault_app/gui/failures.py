"""What Token Vault says when an action fails: which account, what happened and what to do.

The window shows a `Failure` in full, in a message box or in a notification when it is hidden
in the tray, never only as a status-bar line that may be cut off; the dialogs put
`failure_text` or `what_to_do` in their message line. Advice is chosen here only, by kind of
error (core/errors.py) and by the account's provider, so the window and the dialogs agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from vault_app.core.errors import (
    KeyringUnavailableError,
    MisconfiguredError,
    NoSuchAccountError,
    RejectedError,
    TransientError,
    UsageError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import FieldKind, Provider, get_provider
from vault_app.core.redact import redact
from vault_app.core.sign_in import SignInCancelledError
from vault_app.gui.plain_text import paragraphs, shown
from vault_app.gui.plain_words import (
    field_to_replace,
    in_user_words,
    interactive,
    interactive_button,
)


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


def what_to_do(
    error: BaseException | None,
    provider: Provider | None,
    fields: Mapping[str, str],
    status: Status | None = None,
    *,
    in_form: bool = False,
    retried: bool = False,
    message: str | None = None,
) -> str:
    """Advice for this kind of failure, one or two sentences; "" where the message says it
    all (an unexpected error, whose text points to the log; bad input outside a form).

    `in_form`: said inside the form where the new secret goes (no "use Sign in…");
    `retried`: the action was getting a stored account's token, which Token Vault tries
    again on its own after a transient failure; `message`: the stored reason, when there
    is no `error` (an account's last error, with `status`)."""
    if error is not None and not isinstance(error, UserFacingError):
        return ""
    rejected = isinstance(error, RejectedError) or (
        error is None and status is Status.SIGN_IN_NEEDED
    )
    if rejected:
        return _sign_in_again(error, provider, fields, in_form=in_form, message=message)
    if isinstance(error, TransientError) or (error is None and status is Status.ERROR):
        if retried:
            return (
                "This is usually network or server trouble that passes. The stored tokens are "
                "kept and Token Vault tries again on its own; you can also retry in a moment."
            )
        return "This may pass: check the network connection and try again in a moment."
    if isinstance(error, MisconfiguredError):
        if in_form:
            return "Retrying will not help as it is: check the URLs and CA bundle above."
        return (
            "Retrying will not help as it is: check the account's URLs and CA bundle "
            "(Account ▸ Edit…)."
        )
    if isinstance(error, KeyringUnavailableError):
        return "Unlock the system keyring (or start one), then try again."
    if isinstance(error, VaultFileError):
        return "Nothing was changed; see the message for the file concerned."
    if isinstance(error, NoSuchAccountError):
        return "The account was removed meanwhile (perhaps from the command line)."
    if isinstance(error, UsageError):
        return "Correct the form and try again." if in_form else ""
    return "Try again; if it keeps failing, the log has the details."


def _sign_in_again(
    error: UserFacingError | None,
    provider: Provider | None,
    fields: Mapping[str, str],
    *,
    in_form: bool,
    message: str | None,
) -> str:
    """What to do when the server refused the account: which field to give anew, or how
    to sign in through the person (browser or device grants)."""
    if provider is None:  # a kind this version does not know: no field to name
        if in_form:
            return "Enter new credentials."
        return (
            "The server no longer accepts what Token Vault holds for this account. "
            "Sign in again to get new tokens (Account ▸ Sign in…)."
        )
    if isinstance(error, SignInCancelledError):
        return (
            "Press the button again to start a new sign-in."
            if in_form
            else "Use Sign in… to start a new sign-in."
        )
    name = field_to_replace(provider, fields, error.message if error else message)
    if name is None and interactive(provider, fields):
        how = (
            "with a code entered on any device"
            if fields.get("grant") == "device_code"
            else "through your browser"
        )
        return (
            f"Press {interactive_button(fields)} to sign in {how} again."
            if in_form
            else f"Use Sign in…, then sign in {how}."
        )
    spec = provider.field(name) if name else None
    if spec is not None and not spec.secret:
        step = f"correct {spec.label} (or clear it) and press Sign in."
        return step[0].upper() + step[1:] if in_form else f"Use Sign in…, then {step}"
    if spec is not None:
        how = "paste or load" if spec.kind is FieldKind.PEM else "enter"
        # Help texts may start with the grant they belong to ("jwt_bearer: the RSA …").
        about = re.sub(r"^[a-z]+(?:_[a-z]+)+: ", "", spec.help).rstrip(".")
        help_text = f" ({about[:1].lower()}{about[1:]})" if about else ""
        step = f"{how} a new {spec.label}{help_text} and press Sign in."
        return step[0].upper() + step[1:] if in_form else f"Use Sign in…, then {step}"
    return "Enter new credentials." if in_form else "Use Sign in… to enter new credentials."


def provider_of(account: Account) -> Provider | None:
    """The account's provider; None for a kind this version does not know."""
    try:
        return get_provider(account.provider)
    except UserFacingError:
        return None


def failure_text(
    action: str, account: Account, error: UserFacingError, *, retried: bool = False
) -> str:
    """ "Could not copy the token of alor-main: <what happened> <what to do>", one line
    for a dialog's message; `retried` as for what_to_do."""
    provider = provider_of(account)
    advice = what_to_do(error, provider, account.fields, account.status, retried=retried)
    happened = in_user_words(error.message, provider)
    return " ".join(
        part for part in (f"Could not {action} {account.name}:", happened, advice) if part
    )


def failure(
    verb: str, account: Account | None, exc: BaseException, *, retried: bool = False
) -> Failure:
    """The window's report: `verb` completes "Could not …" ("copy the token of",
    "refresh"); `account` is None for actions on no one account (an import, an export);
    `retried` as for what_to_do."""
    name = account.name if account is not None else None
    subject = f"Could not {verb} {shown(name, 60)}" if name else f"Could not {verb}"
    if isinstance(exc, UserFacingError):
        happened = paragraphs(redact(exc.message))
    else:
        happened = (
            f"Unexpected error ({type(exc).__name__}). Details are in the log "
            "(run with TOKEN_VAULT_LOG=debug for more)."
        )
    if account is None:
        advice = what_to_do(exc, None, {}, retried=retried)
        return Failure(subject, happened, advice)
    advice = what_to_do(exc, provider_of(account), account.fields, retried=retried)
    sign_in = isinstance(exc, RejectedError)
    return Failure(subject, happened, advice, account.id, sign_in)
