"""A fake TraderEvolution BO REST API: `POST /auth/token` with `{"login","password"}` and
`GET /auth/token/refresh` with the refresh token in the request header `token`; each answers a
new access/refresh pair. The reply's field names are configurable to prove client tolerance."""

from __future__ import annotations

import ssl
from typing import Any, Literal

from tests.fakes.base import Family, ProviderFake, TokenRejected
from tests.fakes.server import Reply, Request

Naming = Literal["snake", "camel"]

# Reply field names per naming style: access, refresh, access lifetime, refresh lifetime (s).
FIELDS: dict[str, tuple[str, str, str, str]] = {
    "snake": ("access_token", "refresh_token", "expires_in", "refresh_token_expires_in"),
    "camel": ("accessToken", "refreshToken", "accessTokenExpiresIn", "refreshTokenExpiresIn"),
}


class TraderEvolutionFake(ProviderFake):
    """TraderEvolution's auth endpoints; the account's `base_url` is `fake.base_url`."""

    def __init__(
        self,
        *,
        access_lifetime: float = 600.0,
        refresh_lifetime: float = 3600.0,
        naming: Naming = "snake",
        lifetime_fields: bool = True,
        jwt_access_tokens: bool = True,
        reuse_detection: bool = True,
        grace: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(reuse_detection=reuse_detection, grace=grace, tls=tls)
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.naming: Naming = naming  # field names of the replies (may change between calls)
        self.lifetime_fields = lifetime_fields  # include the lifetimes (seconds) in replies
        self.jwt_access_tokens = jwt_access_tokens  # False: opaque access tokens
        self.users: dict[str, str] = {}
        self.route("POST", "/auth/token", self._sign_in)
        self.route("GET", "/auth/token/refresh", self._refresh)

    def add_user(self, login: str, password: str) -> None:
        """Register (or change the password of) a user."""
        with self.lock:
            self.users[login] = password
            self.known_secrets.add(password)

    def incomplete_reply(self, request: Request) -> Reply:
        """A 200 without either token."""
        return Reply(200, {"status": "ok"})

    def _pair(self, family: Family, refresh_token: str) -> Reply:
        access = self.add_access(
            family, self.access_lifetime, {"typ": "access"}, as_jwt=self.jwt_access_tokens
        )
        access_name, refresh_name, access_life, refresh_life = FIELDS[self.naming]
        body: dict[str, Any] = {access_name: access.token, refresh_name: refresh_token}
        if self.lifetime_fields:
            body[access_life] = access.expires_at - access.issued_at
            body[refresh_life] = int(self.refresh_lifetime)
        return Reply(200, body)

    def _sign_in(self, request: Request) -> Reply:
        body = self.read_json(request)
        if isinstance(body, Reply):
            return body
        login, password = body.get("login"), body.get("password")
        if not isinstance(login, str) or not isinstance(password, str):
            return self.error(400, "invalid_request", "login and password are required")
        if self.users.get(login) != password:
            return self.error(401, "unauthorized", "wrong login or password")
        family = self.start_family(login)
        return self._pair(family, self.add_refresh(family, self.refresh_lifetime))

    def _refresh(self, request: Request) -> Reply:
        token = request.header("token")
        if not token:
            return self.error(400, "invalid_request", "the refresh token goes in header `token`")
        try:
            family = self.redeem(token)
        except TokenRejected as rejected:
            return self.error(401, "unauthorized", str(rejected))
        return self._pair(family, self.rotate(family, token, self.refresh_lifetime))
