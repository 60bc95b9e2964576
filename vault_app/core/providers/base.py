"""The provider contract: a declarative field schema plus sign-in, refresh and revoke.

The GUI form, the CLI's --set/--secret, validation and storage all come from `Provider.fields`.
"""

from __future__ import annotations

import abc
import enum
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from vault_app.core.errors import RejectedError, SignInNeededError, UsageError
from vault_app.core.model import TokenSet
from vault_app.core.proxy_env import is_loopback_host

if TYPE_CHECKING:
    from vault_app.core.http import Http, Reply
    from vault_app.core.sign_in import SignInView


class FieldKind(str, enum.Enum):
    TEXT = "text"
    URL = "url"
    CHOICE = "choice"
    DATE = "date"  # ISO date or date-time; stored as given, read as UTC when naive
    LIST = "list"  # comma-separated
    INTEGER = "integer"
    PEM = "pem"  # multi-line; read from a file
    PATH = "path"  # a file on this machine (a CA bundle)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool = False
    required: bool = False
    default: str | None = None
    help: str = ""
    kind: FieldKind = FieldKind.TEXT
    choices: tuple[str, ...] = ()
    # Only relevant when another field has one of these values (the OAuth2 grant's fields):
    # forms hide it otherwise. Validation does not depend on it.
    shown_for: tuple[str, tuple[str, ...]] | None = None

    def relevant(self, values: Mapping[str, str]) -> bool:
        if self.shown_for is None:
            return True
        name, allowed = self.shown_for
        return values.get(name, "") in allowed

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "secret": self.secret,
            "required": self.required,
            "default": self.default,
            "help": self.help,
            "kind": self.kind.value,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class AccountConfig:
    """What a provider works from: the account's non-secret fields and its secrets."""

    fields: Mapping[str, str]
    secrets: Mapping[str, str]

    def __repr__(self) -> str:
        return f"AccountConfig(fields={dict(self.fields)!r}, secrets={sorted(self.secrets)})"

    def get(self, name: str) -> str | None:
        value = self.secrets.get(name) or self.fields.get(name)
        return value or None


@dataclass(frozen=True)
class RevokeOutcome:
    server_side: bool
    message: str


class Provider(abc.ABC):
    kind: ClassVar[str]
    title: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    # Secret fields that let the vault sign in again without the user (password, client secret,
    # private key). An account without any can only be repaired by the user.
    primary_credentials: ClassVar[tuple[str, ...]] = ()
    # Secret fields that are themselves tokens (static's `token`): Revoke forgets them, and
    # changing them drops the tokens that came from them.
    token_fields: ClassVar[tuple[str, ...]] = ()
    # False for kinds whose token cannot be renewed without the user (static): the engine
    # leaves them alone and only reports their expiry.
    can_refresh: ClassVar[bool] = True
    # Revoke sends the access token (a logout), so an expired one is refreshed first.
    revoke_needs_live_access_token: ClassVar[bool] = False

    def token_destination(self, fields: Mapping[str, str]) -> tuple[str, ...]:
        """Where this account's tokens are sent, and as whom: tokens obtained under one
        destination are never sent to another (an edit that changes it drops them). By
        default the values of the URL and choice fields (a server, an environment)."""
        kinds = (FieldKind.URL, FieldKind.CHOICE)
        return tuple(
            fields.get(spec.name) or spec.default or ""
            for spec in self.fields
            if spec.kind in kinds
        )

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    async def request(
        self,
        http: Http,
        config: AccountConfig,
        method: str,
        url: str,
        *,
        what: str,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request on behalf of this account: its own CA bundle, if any, applies."""
        return await http.request(
            method,
            url,
            what=what,
            json_body=json_body,
            form=form,
            headers=headers,
            ca_bundle=config.fields.get("ca_bundle"),
        )

    def stored_token(self, value: str, name: str) -> str:
        """A stored token about to go into a header, or a RejectedError when it could not
        be sent (stored by an older version that took anything): signing in again is the
        cure, and the vault does that when it can."""
        from vault_app.core.providers.replies import token_problem

        problem = token_problem(value)
        if problem is not None:
            raise RejectedError(
                f"{self.kind}: the stored {name} {problem}; a new sign-in is needed"
            )
        return value

    def login_and_secret(self, config: AccountConfig, secret_label: str) -> tuple[str, str]:
        """The `login` field and `password` secret, or SignInNeededError naming what is missing."""
        login, secret = config.fields.get("login"), config.secrets.get("password")
        if not login or not secret:
            raise SignInNeededError(f"{self.kind}: login and {secret_label} are needed")
        return login, secret

    def can_sign_in_again(self, config: AccountConfig) -> bool:
        """Whether a rejected refresh may be repaired by signing in with stored credentials."""
        return any(config.secrets.get(name) for name in self.primary_credentials)

    def validate(self, config: AccountConfig) -> None:
        """Checks beyond required fields (which fields a chosen grant needs, a key that
        matches its certificate); raises UsageError. Runs when an account is added or edited."""
        return

    def interactive(self, config: AccountConfig) -> bool:
        """Whether this account signs in only with the person (a browser or device grant):
        then `sign_in` raises SignInNeededError and `sign_in_interactive` is the way in."""
        return False

    async def sign_in_interactive(
        self, http: Http, config: AccountConfig, view: SignInView, *, limit: float
    ) -> TokenSet:
        """First tokens through the person (see core/sign_in.py), within `limit` seconds."""
        raise UsageError(f"{self.kind} accounts sign in without a browser")

    async def discover(self, http: Http, config: AccountConfig) -> dict[str, str]:
        """The fields to store: the given ones plus what the server publishes about itself
        (endpoint discovery). Runs when the account is added or edited, and when a request to
        a discovered endpoint failed. Default: the fields unchanged."""
        return dict(config.fields)

    def required_fields(self, fields: Mapping[str, str]) -> tuple[str, ...]:
        """Names of the fields (secret or not) a complete account needs, given these
        non-secret values (the OAuth2 grant changes them), in declaration order: forms mark
        them and ask for them before signing in. Default: the fields declared `required`."""
        return tuple(spec.name for spec in self.fields if spec.required)

    @abc.abstractmethod
    def revoke_description(self, config: AccountConfig) -> str:
        """One sentence saying exactly what Revoke does for this account."""

    @abc.abstractmethod
    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        """First tokens from the stored credentials."""

    @abc.abstractmethod
    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        """New tokens from the current ones."""

    @abc.abstractmethod
    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        """End the tokens' life at the server where the provider allows it."""


# kind -> "module:Class"; modules are imported on first use so the CLI's fast path stays light.
REGISTRY: dict[str, str] = {
    "alor": "vault_app.core.providers.alor:AlorProvider",
    "apirone": "vault_app.core.providers.apirone:ApironeProvider",
    "oauth2": "vault_app.core.providers.oauth2:OAuth2Provider",
    "static": "vault_app.core.providers.static:StaticProvider",
    "traderevolution": "vault_app.core.providers.traderevolution:TraderEvolutionProvider",
}


def kinds() -> list[str]:
    return sorted(REGISTRY)


def get_provider(kind: str) -> Provider:
    cls = _classes.get(kind)
    if cls is None:
        target = REGISTRY.get(kind)
        if target is None:
            raise UsageError(f"unknown provider {kind!r} (known: {', '.join(kinds())})")
        module_name, _, class_name = target.partition(":")
        # Imported on first use; the engine asks for every account on every pass.
        cls = _classes[kind] = getattr(importlib.import_module(module_name), class_name)
    provider: Provider = cls()
    return provider


_classes: dict[str, type[Provider]] = {}


def check_url(label: str, value: str) -> str:
    """The URL exactly as given (a trailing slash is part of it: django-oauth-toolkit's
    `/o/token/` without it answers a redirect), or a UsageError: https only, except plain
    http to a loopback address; no credentials, query, fragment, spaces or control
    characters."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise UsageError(f"{label}: not a valid URL: {value!r}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise UsageError(f"{label}: not a valid http(s) URL: {value!r}")
    if any(ch <= " " or ch == "\x7f" for ch in value) or not value.isascii():
        raise UsageError(
            f"{label}: a URL must not contain spaces, control or non-ASCII characters "
            "(write an international domain name in its xn-- form)"
        )
    if parts.username or parts.password or parts.query or "?" in value:
        # Credentials or query strings in a URL end up in logs and proxies (RFC 9700 4.3.2).
        raise UsageError(f"{label}: a URL must not carry credentials or a query string")
    if parts.fragment or "#" in value:
        raise UsageError(f"{label}: a URL must not carry a fragment (#...)")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise UsageError(f"{label}: plain http is only allowed to loopback; use https://{host}")
    return value


def join_url(base: str, path: str) -> str:
    """A base URL (as the user gave it, with or without a trailing slash) and a path."""
    return base.rstrip("/") + path


def check_file(label: str, value: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file():
        raise UsageError(f"{label}: no such file: {value}")
    return str(path.resolve())


# Every provider that talks HTTP offers this: TLS verification stays on, with extra CAs.
CA_BUNDLE = Field(
    "ca_bundle",
    "CA bundle",
    kind=FieldKind.PATH,
    help="Optional PEM file of certificate authorities to trust for this account, in "
    "addition to the system's (and certifi's) authorities.",
)


def parse_date(label: str, value: str) -> float:
    """An ISO date or date-time as a UTC timestamp; a naive value is read as UTC. (A person
    typed it: a far-off date such as 2099 is what they mean by "never", not a misread unit.)"""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        stamp = when.timestamp()
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"{label}: not an ISO date or date-time: {value!r}") from None
    return stamp


def normalize_fields(
    provider: Provider, values: Mapping[str, str], *, complete: bool
) -> dict[str, str]:
    """Validated non-secret field values; `complete` also demands every required field."""
    out: dict[str, str] = {}
    for name, raw in values.items():
        spec = provider.field(name)
        if spec is None:
            known = ", ".join(f.name for f in provider.fields if not f.secret)
            raise UsageError(f"{provider.kind} has no field {name!r} (fields: {known})")
        if spec.secret:
            raise UsageError(f"{name} is secret: give it with --secret {name} or --secret-file")
        value = raw.strip()
        if value == "":
            out[name] = ""
            continue
        if spec.kind is not FieldKind.PEM and not value.isprintable():
            # A line break or escape in a field would reach a header, a terminal or a file.
            raise UsageError(f"{name}: line breaks and control characters are not allowed")
        if spec.kind is FieldKind.URL:
            value = check_url(name, value)
        elif spec.kind is FieldKind.CHOICE and value not in spec.choices:
            raise UsageError(f"{name}: must be one of {', '.join(spec.choices)}, not {value!r}")
        elif spec.kind is FieldKind.DATE:
            parse_date(name, value)
        elif spec.kind is FieldKind.INTEGER:
            if not value.isdigit():
                raise UsageError(f"{name}: must be a whole number of seconds, not {value!r}")
        elif spec.kind is FieldKind.PATH:
            value = check_file(name, value)
        elif spec.kind is FieldKind.LIST:
            value = ",".join(item.strip() for item in value.split(",") if item.strip())
        out[name] = value
    if complete:
        for spec in provider.fields:
            # Only fields not given at all: an explicit "" (a bare key without scheme) stays.
            if not spec.secret and spec.default is not None and spec.name not in out:
                out[spec.name] = spec.default
    return out


def check_secrets(provider: Provider, secrets: Mapping[str, str]) -> None:
    for name in secrets:
        spec = provider.field(name)
        if spec is None or not spec.secret:
            known = ", ".join(f.name for f in provider.fields if f.secret)
            raise UsageError(
                f"{provider.kind} has no secret field {name!r} (secret fields: {known})"
            )


def missing_fields(
    provider: Provider, fields: Mapping[str, str], secrets: Mapping[str, str]
) -> list[Field]:
    """The required fields (secret or not) that have no value."""
    return [
        spec
        for spec in provider.fields
        if spec.required and not (secrets.get(spec.name) if spec.secret else fields.get(spec.name))
    ]


def check_complete(
    provider: Provider, fields: Mapping[str, str], secrets: Mapping[str, str]
) -> None:
    missing = missing_fields(provider, fields, secrets)
    if missing:
        raise UsageError(f"{provider.kind} needs {', '.join(spec.name for spec in missing)}")
