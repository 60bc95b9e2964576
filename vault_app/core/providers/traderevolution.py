"""TraderEvolution BO REST API: login and password buy an access/refresh pair from
`POST {base}/auth/token`; `GET {base}/auth/token/refresh` with the refresh token in the `token`
header returns a new pair. There is no revoke endpoint: Revoke signs out locally.

Reply field names vary between deployments (snake_case or camelCase, with or without a
lifetime), so every known spelling is accepted; without a lifetime the JWT's `exp` decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    from vault_app.core.http import Http, Reply

ACCESS = ("access_token", "accessToken", "token")
REFRESH = ("refresh_token", "refreshToken")
ACCESS_LIFETIME = (
    "expires_in",
    "expiresIn",
    "accessTokenExpiresIn",
    "access_token_expires_in",
    "accessTokenLifetime",
    "lifetime",
)
REFRESH_LIFETIME = (
    "refresh_expires_in",
    "refreshExpiresIn",
    "refresh_token_expires_in",
    "refreshTokenExpiresIn",
    "refreshTokenLifetime",
)


class TraderEvolutionProvider(Provider):
    kind = "traderevolution"
    title = "TraderEvolution"
    primary_credentials = ("password",)
    fields = (
        Field(
            "base_url",
            "Base URL",
            required=True,
            kind=FieldKind.URL,
            help="The BO REST API root, e.g. https://bo.example.com/api.",
        ),
        Field("login", "Login", required=True),
        Field("password", "Password", secret=True, required=True),
        CA_BUNDLE,
    )

    def revoke_description(self, config: AccountConfig) -> str:
        return (
            "TraderEvolution has no revoke endpoint: Revoke signs out locally by forgetting "
            "the tokens; the password stays stored for the next sign-in."
        )

    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        login, password = self.login_and_secret(config, "password")
        what = "traderevolution: sign-in"
        reply = await self.request(
            http,
            config,
            "POST",
            join_url(config.fields["base_url"], "/auth/token"),
            what=what,
            json_body={"login": login, "password": password},
        )
        return _pair(reply, what)

    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            return await self.sign_in(http, config)
        what = "traderevolution: refresh"
        reply = await self.request(
            http,
            config,
            "GET",
            join_url(config.fields["base_url"], "/auth/token/refresh"),
            what=what,
            headers={"token": self.stored_token(tokens.refresh_token, "refresh token")},
        )
        return _pair(reply, what)

    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        return RevokeOutcome(server_side=False, message=self.revoke_description(config))


def _pair(reply: Reply, what: str) -> TokenSet:
    data: dict[str, Any] = replies.json_reply(reply, what)
    # Some deployments wrap the pair in a "data" object.
    if isinstance(data.get("data"), dict) and replies.pick(data, *ACCESS) is None:
        data = data["data"]
    access = replies.token_field(data, what, reply, *ACCESS)
    refresh = replies.token_field(data, what, reply, *REFRESH)
    return replies.token_set(
        reply,
        what,
        access,
        token_type=replies.pick(data, "token_type", "tokenType"),
        lifetime=replies.pick(data, *ACCESS_LIFETIME),
        refresh_token=refresh,
        refresh_lifetime=replies.pick(data, *REFRESH_LIFETIME),
    )
