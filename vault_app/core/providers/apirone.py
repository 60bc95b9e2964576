"""Apirone: an account or wallet id and its transfer key buy a JWT pair from
`POST {base}/auth/login`; `POST {base}/auth/refresh-token` with the refresh token as Bearer
returns a new pair; `POST {base}/auth/logout` with the access token as Bearer ends both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault_app.core.errors import RejectedError
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


class ApironeProvider(Provider):
    kind = "apirone"
    title = "Apirone"
    primary_credentials = ("password",)
    revoke_needs_live_access_token = True
    fields = (
        Field("base_url", "Base URL", default="https://apirone.com/api/v2", kind=FieldKind.URL),
        Field("login", "Login", required=True, help="The account or wallet identifier."),
        Field(
            "password",
            "Transfer key",
            secret=True,
            required=True,
            help="The account's or wallet's transfer key.",
        ),
        CA_BUNDLE,
    )

    def _url(self, config: AccountConfig, path: str) -> str:
        return join_url(config.fields.get("base_url") or "https://apirone.com/api/v2", path)

    def revoke_description(self, config: AccountConfig) -> str:
        return (
            "Revoke logs out at Apirone (POST /auth/logout): the access and the refresh "
            "token both stop working. The transfer key stays stored."
        )

    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        login, key = self.login_and_secret(config, "transfer key")
        what = "apirone: sign-in"
        reply = await self.request(
            http,
            config,
            "POST",
            self._url(config, "/auth/login"),
            what=what,
            json_body={"login": login, "password": key},
        )
        return _pair(reply, what)

    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            return await self.sign_in(http, config)
        what = "apirone: refresh"
        refresh = tokens.refresh_token
        reply = await self.request(
            http,
            config,
            "POST",
            self._url(config, "/auth/refresh-token"),
            what=what,
            headers={"Authorization": f"Bearer {self.stored_token(refresh, 'refresh token')}"},
        )
        return _pair(reply, what)

    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        what = "apirone: logout"
        try:
            access = self.stored_token(tokens.access_token, "access token")
            reply = await self.request(
                http,
                config,
                "POST",
                self._url(config, "/auth/logout"),
                what=what,
                headers={"Authorization": f"Bearer {access}"},
            )
            replies.json_reply(reply, what)
        except RejectedError:
            # The access token is dead already: an earlier logout whose reply was lost, or a
            # session ended at Apirone. Either way nothing here is usable any more.
            return RevokeOutcome(
                server_side=True,
                message="Apirone no longer accepts this session's tokens; forgot them here.",
            )
        return RevokeOutcome(server_side=True, message="Apirone ended the session.")


def _pair(reply: Reply, what: str) -> TokenSet:
    data = replies.json_reply(reply, what)
    return replies.token_set(
        reply,
        what,
        replies.token_field(data, what, reply, "access-token"),
        refresh_token=replies.token_field(data, what, reply, "refresh-token"),
    )
