"""Authorization server metadata: OpenID Connect Discovery 1.0 (`/.well-known/openid-configuration`
appended to the issuer) or, when that is not found, RFC 8414 (`/.well-known/oauth-authorization-
server` inserted between the issuer's host and path).

The document's `issuer` must be identical to the one asked for (RFC 8414 section 3.3, OIDC
Discovery section 4.3): a document naming another issuer is refused, since its endpoints would
belong to someone else (the mix-up attack of RFC 9207).

Where it is kept: in the account's non-secret fields, as `discovered_<field>` entries beside
the ones the user typed (`discovered_token_url`, `discovered_authorization_url`, ...). Every
process reads the same accounts.json, so the CLI and the window share one copy; a field set by
hand (`token_url`) always wins over its discovered twin. The document is fetched when the
account is added or edited, and again when a request to a discovered endpoint fails; never on
a routine refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vault_app.core.errors import MisconfiguredError, RejectedError, UsageError, UserFacingError
from vault_app.core.providers import replies
from vault_app.core.providers.base import AccountConfig, check_url
from vault_app.core.redact import redact

if TYPE_CHECKING:
    from vault_app.core.http import Http
    from vault_app.core.providers.base import Provider

OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"
PREFIX = "discovered_"
# The account's endpoint fields and the metadata names that fill them (RFC 8414 section 2,
# RFC 8628 section 4).
ENDPOINTS = {
    "authorization_url": "authorization_endpoint",
    "token_url": "token_endpoint",
    "revocation_url": "revocation_endpoint",
    "device_authorization_url": "device_authorization_endpoint",
}
ISSUER = PREFIX + "issuer"
ISS_PARAMETER = PREFIX + "iss_parameter"  # "true": responses must carry `iss` (RFC 9207)
CODE_CHALLENGE_METHODS = PREFIX + "code_challenge_methods"
DISCOVERED = (
    *(PREFIX + name for name in ENDPOINTS),
    ISSUER,
    ISS_PARAMETER,
    CODE_CHALLENGE_METHODS,
)
MAX_URL = 2048


@dataclass(frozen=True)
class Metadata:
    """What Token Vault uses of a discovery document: the issuer as the server spells it, the
    endpoints by account field name, and two RFC 9207 / RFC 7636 facts."""

    issuer: str
    endpoints: dict[str, str]
    iss_parameter_supported: bool
    code_challenge_methods: tuple[str, ...] | None

    def as_fields(self) -> dict[str, str]:
        """The `discovered_*` fields that cache this document in the account."""
        fields = {PREFIX + name: url for name, url in self.endpoints.items()}
        fields[ISSUER] = self.issuer
        fields[ISS_PARAMETER] = "true" if self.iss_parameter_supported else "false"
        if self.code_challenge_methods is not None:
            fields[CODE_CHALLENGE_METHODS] = " ".join(self.code_challenge_methods)
        return fields


def document_urls(issuer: str) -> list[str]:
    """Where the document may be, in the order tried: OIDC Discovery section 4 (appended), then
    RFC 8414 section 3.1 (inserted before the path; the same URL when there is no path)."""
    base = issuer.rstrip("/")
    parts = urlsplit(base)
    oidc = base + OIDC_WELL_KNOWN
    oauth = f"{parts.scheme}://{parts.netloc}{OAUTH_WELL_KNOWN}{parts.path}"
    return [oidc, oauth]


def parse_metadata(data: Any, issuer: str, host: str) -> Metadata:
    """The usable part of a discovery document (an already parsed JSON value), or a
    MisconfiguredError with one line saying what is wrong. Endpoints must be https (http only
    on loopback) without credentials; ones that are not are refused, not ignored."""
    where = f"oauth2: discovery at {host}"
    if not isinstance(data, dict):
        raise MisconfiguredError(f"{where}: the document is not a JSON object")
    found = data.get("issuer")
    if not isinstance(found, str) or not same_issuer(found, issuer):
        shown = f"issuer {replies_text(found)}" if isinstance(found, str) else "no issuer"
        raise MisconfiguredError(
            f"{where}: the document names {shown}, not {replies_text(issuer)}; "
            "refusing its endpoints"
        )
    endpoints: dict[str, str] = {}
    for field, key in ENDPOINTS.items():
        value = data.get(key)
        if value is None:
            continue
        endpoints[field] = _endpoint(value, key, where, query_allowed=key != "token_endpoint")
    methods = data.get("code_challenge_methods_supported")
    challenge_methods: tuple[str, ...] | None = None
    if isinstance(methods, list):
        challenge_methods = tuple(
            m for m in methods if isinstance(m, str) and m.isascii() and m.isalnum()
        )[:16]
    return Metadata(
        issuer=found,
        endpoints=endpoints,
        iss_parameter_supported=data.get("authorization_response_iss_parameter_supported") is True,
        code_challenge_methods=challenge_methods,
    )


def same_issuer(found: str, asked: str) -> bool:
    """Identical, character for character (RFC 8414 section 3.3, OIDC Discovery section 4.3):
    URL fields are kept exactly as typed, a trailing "/" included, so nothing is forgiven."""
    return found == asked


def replies_text(value: str, limit: int = 80) -> str:
    """A value from outside, quoted for a one-line message: secrets masked, at most `limit`
    characters, and every unprintable character escaped by repr (not dropped, so a value
    that differs from another only by a hidden character never looks the same)."""
    text = redact(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def _endpoint(value: Any, key: str, where: str, *, query_allowed: bool) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise MisconfiguredError(f"{where}: {key} is not a URL")
    if not all("!" <= c <= "~" for c in value):
        raise MisconfiguredError(f"{where}: {key} holds spaces or characters a URL cannot have")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise MisconfiguredError(f"{where}: {key} is not a valid URL") from None
    if parts.query and query_allowed:
        # RFC 6749 section 3.1: an endpoint may carry a query, kept when parameters are added.
        value = value.split("?", 1)[0]
    try:
        checked = check_url(key, value)
    except UsageError as exc:
        raise MisconfiguredError(f"{where}: {exc.message}") from None
    if parts.fragment:
        raise MisconfiguredError(f"{where}: {key} must not have a fragment")
    return checked + (f"?{parts.query}" if parts.query and query_allowed else "")


async def fetch(provider: Provider, http: Http, config: AccountConfig, issuer: str) -> Metadata:
    """The issuer's metadata, from the first of `document_urls` that answers. Network trouble
    is a TransientError; no document at either place, or a refused one, MisconfiguredError."""
    first: UserFacingError | None = None
    for url in document_urls(issuer):
        what = "oauth2: discovery"
        try:
            reply = await provider.request(http, config, "GET", url, what=what)
            data = replies.json_reply(reply, what)
        except (MisconfiguredError, RejectedError) as exc:  # 404, 403...: not here
            first = first or exc
            continue
        return parse_metadata(data, issuer, reply.host)
    raise MisconfiguredError(
        f"oauth2: no discovery document for issuer {issuer} "
        f"({first.message if first else 'nothing answered'})"
    )


def without_discovered(fields: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if not k.startswith(PREFIX)}


async def discover(provider: Provider, http: Http, config: AccountConfig) -> dict[str, str]:
    """The account's fields with a fresh `discovered_*` cache: the document of its `issuer`, or
    no cache at all when there is no issuer."""
    fields = without_discovered(config.fields)
    issuer = fields.get("issuer")
    if not issuer:
        return fields
    metadata = await fetch(provider, http, AccountConfig(fields, config.secrets), issuer)
    return {**fields, **metadata.as_fields()}


def endpoint(fields: Mapping[str, str], name: str) -> str | None:
    """The URL for an endpoint field: the one set by hand, else the discovered one."""
    return fields.get(name) or fields.get(PREFIX + name) or None


def pending(fields: Mapping[str, str]) -> bool:
    """Whether the account names an issuer whose document was not fetched yet (a form being
    filled in): its endpoints will come from discovery."""
    return bool(fields.get("issuer")) and not fields.get(ISSUER)


def issuer_of(fields: Mapping[str, str]) -> str | None:
    """The issuer identifier as the server spells it (for `iss` checks), when known."""
    return fields.get(ISSUER) or fields.get("issuer") or None
