"""ALOR Broker: a long-lived refresh token (1 year, made on the developer portal) buys 30-minute
JWT access tokens from `POST {oauth_url}/refresh`.

The refresh token goes in the JSON body, never the URL, though ALOR accepts both (RFC 9700
4.3.2). It cannot be revoked through the API: Revoke forgets it here and says where to go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault_app.core.errors import SignInNeededError, UsageError
from vault_app.core.model import TokenSet
from vault_app.core.providers import replies
from vault_app.core.providers.base import (
    CA_BUNDLE,
    AccountConfig,
    Field,
    FieldKind,
    Provider,
    RevokeOutcome,
    join_url,
)

if TYPE_CHECKING:
    from vault_app.core.http import Http

ENVIRONMENTS = {
    "production": "https://oauth.alor.ru",
    "test": "https://oauthdev.alor.ru",
}
PORTAL = "https://alor.dev"


class AlorProvider(Provider):
    kind = "alor"
    title = "ALOR Broker"
    # The refresh token is the account's only credential: Revoke forgets it.
    token_fields = ("refresh_token",)
    fields = (
        Field(
            "environment",
            "Environment",
            default="production",
            kind=FieldKind.CHOICE,
            choices=tuple(ENVIRONMENTS),
            help="production: oauth.alor.ru; test: oauthdev.alor.ru.",
        ),
        Field(
            "oauth_url",
            "OAuth URL",
            kind=FieldKind.URL,
            help="Overrides the environment's authorization server.",
        ),
        Field(
            "allowed_portfolios",
            "Allowed portfolios",
            kind=FieldKind.LIST,
            help="Optional comma-separated portfolios the access token is limited to.",
        ),
        Field(
            "refresh_token_expires",
            "Refresh token expires",
            kind=FieldKind.DATE,
            help="When the refresh token lapses (shown on the portal; 1 year after creation).",
        ),
        Field(
            "refresh_token",
            "Refresh token",
            secret=True,
            required=True,
            help=f"Created on the API Access Tokens page of {PORTAL}.",
        ),
        CA_BUNDLE,
    )

    def base_url(self, config: AccountConfig) -> str:
        url = config.fields.get("oauth_url")
        if url:
            return url
        environment = config.fields.get("environment") or "production"
        if environment not in ENVIRONMENTS:
            raise UsageError(f"alor: unknown environment {environment!r}")
        return ENVIRONMENTS[environment]

    def revoke_description(self, config: AccountConfig) -> str:
        return (
            "ALOR refresh tokens cannot be revoked through the API: Revoke forgets the tokens "
            f"here only. Revoke the refresh token itself on the ALOR developer portal, {PORTAL} "
            "(API Access Tokens page); "
            "that also ends every access token made with it."
        )

    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        refresh_token = config.secrets.get("refresh_token")
        if not refresh_token:
            raise SignInNeededError(f"alor: no refresh token stored; create one on {PORTAL}")
        body: dict[str, object] = {"token": refresh_token}
        portfolios = [p for p in (config.fields.get("allowed_portfolios") or "").split(",") if p]
        if portfolios:
            body["allowedPortfolios"] = portfolios
        what = "alor: access token"
        reply = await self.request(
            http,
            config,
            "POST",
            join_url(self.base_url(config), "/refresh"),
            what=what,
            json_body=body,
        )
        data = replies.json_reply(reply, what)
        access = replies.token_field(data, what, reply, "AccessToken")
        # No lifetime field: the JWT's exp, on the server's clock (its Date header or the
        # token's own iat), decides (replies.expiry).
        return replies.token_set(reply, what, access)

    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        return await self.sign_in(http, config)

    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        return RevokeOutcome(server_side=False, message=self.revoke_description(config))
