"""A fake ALOR OAuth server: `POST /refresh` with `{"token": <refresh token>}` in a JSON body
answers `{"AccessToken": <JWT>}`. Refresh tokens are registered by the test (the developer
portal), live long, are never rotated and can be revoked only through the portal (revoke())."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import ProviderFake, TokenRejected
from tests.fakes.server import Reply, Request

YEAR = 365 * 24 * 3600.0
DEFAULT_PORTFOLIOS = ("D12345", "G12345", "750012345")
_ABSENT: Any = object()  # allowedPortfolios not sent at all


@dataclass(frozen=True)
class AlorIssue:
    """One access token handed out, with the portfolios the client asked for (None: absent)."""

    refresh_token: str
    access_token: str
    allowed_portfolios: list[str] | None


class AlorFake(ProviderFake):
    """ALOR's token endpoint; the account's `oauth_url` is `fake.base_url`."""

    def __init__(
        self, *, access_lifetime: float = 1800.0, tls: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(tls=tls)
        self.access_lifetime = access_lifetime
        self.issued: list[AlorIssue] = []
        self.route("POST", "/refresh", self._refresh)
        # The older seed page names POST /authorize; the current API (and DESIGN) use /refresh,
        # so /authorize is deliberately absent and answers 404.

    def add_refresh_token(
        self,
        token: str | None = None,
        *,
        expires_at: float | None = None,
        user: str = "P012345",
        portfolios: tuple[str, ...] | list[str] = DEFAULT_PORTFOLIOS,
    ) -> str:
        """Register a refresh token as the portal would create it (valid one year by default)."""
        with self.lock:
            family = self.start_family(user, data={"portfolios": list(portfolios)})
            return self.add_refresh(family, YEAR, token, expires_at=expires_at)

    def set_expiry(self, token: str, expires_at: float | None) -> None:
        """Change when a registered refresh token expires (None: never)."""
        with self.lock:
            self.refresh_tokens[token].expires_at = expires_at

    def revoke(self, token: str) -> None:
        """Revoke a refresh token on the portal; its access tokens die with it."""
        with self.lock:
            family = self.family_of(token)
            assert family is not None, "unknown refresh token"
            self.revoke_family(family, "portal")

    def incomplete_reply(self, request: Request) -> Reply:
        """A 200 without AccessToken."""
        return Reply(200, {"RefreshToken": None})

    def _refresh(self, request: Request) -> Reply:
        body = self.read_json(request)
        if isinstance(body, Reply):
            return body
        token = body.get("token")
        if not isinstance(token, str) or not token:
            return self.error(400, "invalid_request", "token is required")
        portfolios = body.get("allowedPortfolios", _ABSENT)
        if portfolios is not _ABSENT and not (
            isinstance(portfolios, list) and all(isinstance(p, str) for p in portfolios)
        ):
            return self.error(400, "invalid_request", "allowedPortfolios must be a string array")
        try:
            family = self.redeem(token)
        except TokenRejected as rejected:
            return self.error(401, "invalid_token", str(rejected))
        allowed: list[str] | None = None if portfolios is _ABSENT else list(portfolios)
        granted = allowed if allowed is not None else family.data["portfolios"]
        claims = {"iss": "Alor.Identity", "ent": "client", "portfolios": " ".join(granted)}
        record = self.add_access(family, self.access_lifetime, claims)
        self.issued.append(AlorIssue(token, record.token, allowed))
        return Reply(200, {"AccessToken": record.token})
