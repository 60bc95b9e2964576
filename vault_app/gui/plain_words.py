"""The core's words turned into a person's: a one-line message without its internal prefixes,
field names as the form labels them and no command-line advice; the field a person most
likely has to change after a rejection; whether an account signs in through the person.
What to do after a failure is in gui/failures.py."""

from __future__ import annotations

import re
from collections.abc import Mapping

from vault_app.core import sign_in
from vault_app.core.errors import UserFacingError
from vault_app.core.model import Account
from vault_app.core.providers.base import AccountConfig, FieldKind, Provider

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
    return sign_in.is_interactive(account.provider, account.fields)


def interactive_button(fields: Mapping[str, str]) -> str:
    """The words on the form's main button for a browser or device grant."""
    return DEVICE_BUTTON if fields.get("grant") == "device_code" else BROWSER_BUTTON
