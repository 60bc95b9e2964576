"""What a person reads when something fails in a dialog: which account, what happened (the
core's one-line message without its internal prefixes, field names as the form labels them,
no command-line advice) and what to do about it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from vault_app.core.errors import (
    KeyringUnavailableError,
    MisconfiguredError,
    RejectedError,
    TransientError,
    UsageError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import AccountConfig, FieldKind, Provider, get_provider
from vault_app.core.sign_in import SignInCancelledError

# The form's main button for the browser and device grants (gui/interactive_sign_in.py).
BROWSER_BUTTON = "Sign in with browser"
DEVICE_BUTTON = "Get a sign-in code"

# Advice meant for a terminal ("set one with --secret", "edit NAME --secret token"): the
# dialogs say what to do in their own words instead.
_CLI_HINT = re.compile(
    r"[;:,]?\s*(?:(?:set|store|give)\s+(?:it|one|a new one)\s+with|run|use)\s+"
    r"(?:token-vault\s+)?(?:edit|add|login|--secret|--set)\b.*$",
    re.IGNORECASE,
)


def in_user_words(message: str, provider: Provider | None = None) -> str:
    """The message as one sentence for a dialog: printable characters only, no "kind:"
    prefix, field names (`client_id`) replaced by their labels ("Client ID"), no command-line
    advice, a capital and a full stop."""
    # One line, without control or direction characters (server text ends up in here).
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in message).split())
    if provider is not None:
        text = text.removeprefix(f"{provider.kind}: ")
        # A name that is also a choice (oauth2's grant `refresh_token`) stays as it is: in a
        # list of choices it is a value, not the field.
        choices = {choice for spec in provider.fields for choice in spec.choices}
        for spec in sorted(provider.fields, key=lambda f: -len(f.name)):
            # Only names that cannot be ordinary words ("client_id", not "password").
            if "_" in spec.name and spec.name not in choices:
                text = re.sub(rf"\b{re.escape(spec.name)}\b", spec.label, text)
    text = _CLI_HINT.sub("", text).strip()
    if not text:
        return ""
    first = text.split(" ", 1)[0].rstrip(":;,.!?")
    if first.isalpha():  # not an identifier ("client_credentials grant: …") or a URL
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def field_to_replace(
    provider: Provider, fields: Mapping[str, str], message: str | None = None
) -> str | None:
    """The field a person most likely has to change after a rejected sign-in: a typed date
    the message names as the fault; else the secret to enter again: the token the account
    lives on (a refresh token, a static key), else the credential the server refused (the
    client secret when the client was refused), else the first secret the current choices
    need."""
    if message:
        # A date the person typed that the message names as the fault ("as its expires_at
        # says"): replacing a secret would fail the same way.
        for spec in provider.fields:
            if spec.kind is FieldKind.DATE and re.search(rf"\b{re.escape(spec.name)}\b", message):
                return spec.name
    needed = set(provider.required_fields(fields))
    shown = {s.name for s in provider.fields if s.secret and s.relevant(fields)}
    candidates = [s.name for s in provider.fields if s.secret and s.name in shown]
    if not candidates:
        return None
    if message and "invalid_client" in message and "client_secret" in candidates:
        return "client_secret"
    if interactive(provider, fields):
        return None  # the person signs in again at the server; nothing to type here
    for name in (*provider.token_fields, *provider.primary_credentials):
        if name in candidates and name in needed:
            return name
    return next((n for n in candidates if n in needed), candidates[0])


def interactive(provider: Provider, fields: Mapping[str, str]) -> bool:
    """Whether accounts with these fields sign in through the person (a browser or device
    grant) rather than with secrets typed into the form."""
    try:
        return provider.interactive(AccountConfig(fields, {}))
    except UserFacingError:  # an unknown grant: the form says so elsewhere
        return False


def is_interactive(account: Account) -> bool:
    """Whether the account signs in through the person (browser or device grant)."""
    try:
        return interactive(get_provider(account.provider), account.fields)
    except UserFacingError:  # a kind this version does not know
        return False


def interactive_button(fields: Mapping[str, str]) -> str:
    """The words on the form's main button for a browser or device grant."""
    return DEVICE_BUTTON if fields.get("grant") == "device_code" else BROWSER_BUTTON


def what_to_do(
    error: UserFacingError | None,
    provider: Provider | None,
    fields: Mapping[str, str],
    status: Status | None = None,
    *,
    in_form: bool = False,
    message: str | None = None,
) -> str:
    """One sentence of advice for this kind of failure; `in_form`: said inside the form
    where the new secret goes (no "use Sign in…"); `message`: the stored reason, when there
    is no `error` (an account's last error)."""
    rejected = isinstance(error, RejectedError) or (
        error is None and status is Status.SIGN_IN_NEEDED
    )
    if rejected and provider is not None and isinstance(error, SignInCancelledError):
        return (
            "Press the button again to start a new sign-in."
            if in_form
            else "Use Sign in… to start a new sign-in."
        )
    if rejected and provider is not None:
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
    if isinstance(error, TransientError) or (error is None and status is Status.ERROR):
        return "This may pass: check the network connection and try again in a moment."
    if isinstance(error, MisconfiguredError):
        return "Check the account's URLs and CA bundle with Edit, then try again."
    if isinstance(error, KeyringUnavailableError):
        return "Unlock the system keyring (or start one), then try again."
    if isinstance(error, VaultFileError):
        return "Nothing was changed; see the message for the file concerned."
    if isinstance(error, UsageError):
        return "Correct the form and try again."
    return "Try again; if it keeps failing, the log has the details."


def failure_text(
    action: str,
    account_name: str,
    error: UserFacingError,
    provider: Provider | None,
    fields: Mapping[str, str],
) -> str:
    """ "Could not copy the token of alor-main: <what happened> <what to do>"."""
    return (
        f"Could not {action} {account_name}: {in_user_words(error.message, provider)} "
        f"{what_to_do(error, provider, fields)}"
    )
