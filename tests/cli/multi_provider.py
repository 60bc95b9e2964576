"""A test-only provider with two secret fields, registered by tests.cli.support.run_with_multi.

Its access token is "<password>|<client_secret>", so `token` shows which stdin line went to
which `--secret`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault_app.core.errors import SignInNeededError
from vault_app.core.model import TokenSet
from vault_app.core.providers.base import AccountConfig, Field, Provider, RevokeOutcome

if TYPE_CHECKING:
    from vault_app.core.http import Http


class MultiSecretProvider(Provider):
    kind = "multi"
    title = "Test double with two secrets"
    fields = (
        Field("login", "Login", required=True),
        Field("password", "Password", secret=True, required=True),
        Field("client_secret", "Client secret", secret=True, required=True),
    )

    def revoke_description(self, config: AccountConfig) -> str:
        return "Forgets the tokens locally."

    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        password = config.secrets.get("password")
        client_secret = config.secrets.get("client_secret")
        if not password or not client_secret:
            raise SignInNeededError("multi: secrets missing")
        return TokenSet(access_token=f"{password}|{client_secret}")

    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        return await self.sign_in(http, config)

    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        return RevokeOutcome(server_side=False, message=self.revoke_description(config))
