"""A fixed token or API key: nothing to refresh; the expiry comes from the user or the JWT."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from vault_app.core import jwtinfo
from vault_app.core.errors import SignInNeededError, UsageError
from vault_app.core.model import TokenSet
from vault_app.core.providers.base import (
    AccountConfig,
    Field,
    FieldKind,
    Provider,
    RevokeOutcome,
    parse_date,
)

if TYPE_CHECKING:
    from vault_app.core.http import Http

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")  # RFC 9110 field-name (a token)


class StaticProvider(Provider):
    kind = "static"
    title = "Static token or API key"
    token_fields = ("token",)
    can_refresh = False
    fields = (
        Field(
            "token",
            "Token",
            secret=True,
            required=True,
            help="The token or API key exactly as the API expects it.",
        ),
        Field(
            "header_name",
            "Header name",
            default="Authorization",
            help="The HTTP header that carries the token.",
        ),
        Field(
            "scheme",
            "Scheme",
            default="Bearer",
            help="Written before the token in the header; empty for a bare key.",
        ),
        Field(
            "expires_at",
            "Expires at",
            kind=FieldKind.DATE,
            help="Optional ISO date-time; a JWT's own exp is used when this is empty.",
        ),
    )

    def validate(self, config: AccountConfig) -> None:
        """The header name and scheme go into `--format header` output and real headers:
        each must be an HTTP token (the scheme may be empty, for a bare key)."""
        name = config.fields.get("header_name", "Authorization")
        if name and not _HEADER_NAME.fullmatch(name):
            raise UsageError("header_name: not an HTTP header name (letters, digits, - and _)")
        scheme = config.fields.get("scheme", "Bearer")
        if scheme and not _HEADER_NAME.fullmatch(scheme):
            raise UsageError("scheme: not an HTTP authentication scheme (one word)")

    def revoke_description(self, config: AccountConfig) -> str:
        return (
            "A static token cannot be revoked from here: Revoke forgets it locally. "
            "Revoke it where it was issued."
        )

    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        token = config.secrets.get("token", "")
        if not token:
            raise SignInNeededError("static: no token is stored: a new token is needed")
        if not token.isprintable() or len(token) > 65536:
            # A line break or control character would split or forge the header it goes in.
            raise SignInNeededError(
                "static: the stored token contains line breaks or control characters: a new "
                "token is needed"
            )
        expires_text = config.fields.get("expires_at")
        expires_at = (
            parse_date("expires_at", expires_text) if expires_text else jwtinfo.expiry_of(token)
        )
        if expires_at is not None and expires_at <= time.time():
            when = datetime.fromtimestamp(expires_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            # Said without a CLI command: the window shows this too (the CLI's edit help says how).
            if expires_text:
                # The typed date is what failed: a new token alone would fail the same way.
                raise SignInNeededError(
                    f"static: the stored token expired at {when}, as its expires_at says: a "
                    "later expires_at (or none) is needed, with a new token if it changed"
                )
            raise SignInNeededError(
                f"static: the stored token expired at {when}: a new one is needed"
            )
        scheme = config.fields.get("scheme", "Bearer")
        return TokenSet(access_token=token, token_type=scheme, expires_at=expires_at)

    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        # Nothing to ask a server: "refreshing" re-reads the stored token and its expiry.
        return await self.sign_in(http, config)

    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        return RevokeOutcome(server_side=False, message=self.revoke_description(config))
