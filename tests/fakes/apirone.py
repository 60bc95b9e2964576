"""A fake Apirone API v2: `POST /api/v2/auth/login` (`{"login","password"}`, the password being
the transfer key), `POST /api/v2/auth/refresh-token` and `POST /api/v2/auth/logout` (each with
`Authorization: Bearer`); replies use the hyphenated `access-token` / `refresh-token` names."""

from __future__ import annotations

import math
import ssl
import uuid

from tests.fakes.base import Family, ProviderFake, TokenRejected
from tests.fakes.server import Reply, Request

BASE_PATH = "/api/v2"


class ApironeFake(ProviderFake):
    """Apirone's auth endpoints; the account's `base_url` is `fake.base_url` (ends in /api/v2)."""

    def __init__(
        self,
        *,
        access_lifetime: float = 600.0,
        refresh_lifetime: float = 86400.0,
        reject_status: int = 400,
        reuse_detection: bool = True,
        grace: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(reuse_detection=reuse_detection, grace=grace, tls=tls)
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        # The documents list only 400 and 500 as error statuses, so a rejected login, refresh
        # or logout answers 400 by default; 401 is a knob to prove the client takes either.
        self.reject_status = reject_status
        self.accounts: dict[str, str] = {}  # login (account or wallet id) -> transfer key
        self.route("POST", BASE_PATH + "/auth/login", self._login)
        self.route("POST", BASE_PATH + "/auth/refresh-token", self._refresh)
        self.route("POST", BASE_PATH + "/auth/logout", self._logout)

    @property
    def base_url(self) -> str:
        """The API base, http://127.0.0.1:PORT/api/v2."""
        return self.url + BASE_PATH

    def add_account(self, login: str, transfer_key: str) -> None:
        """Register an account or wallet id with its transfer key."""
        with self.lock:
            self.accounts[login] = transfer_key
            self.known_secrets.add(transfer_key)

    def incomplete_reply(self, request: Request) -> Reply:
        """A 200 with only the login."""
        return Reply(200, {"login": next(iter(self.accounts), "")})

    def _pair(self, family: Family, presented: str | None) -> Reply:
        now = self.now()
        expires_at = int(now) + math.ceil(self.refresh_lifetime)
        refresh_jwt = self.sign(
            {
                "sub": family.subject,
                "typ": "refresh",
                "iat": int(now),
                "exp": expires_at,
                "jti": uuid.uuid4().hex,
            }
        )
        if presented is None:
            refresh = self.add_refresh(family, None, refresh_jwt, expires_at=expires_at)
        else:
            refresh = self.rotate(family, presented, None, refresh_jwt, expires_at=expires_at)
        access = self.add_access(family, self.access_lifetime, {"typ": "access"})
        body = {"login": family.subject, "access-token": access.token, "refresh-token": refresh}
        return Reply(200, body)

    def _bearer(self, request: Request) -> str | None:
        value = request.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def _login(self, request: Request) -> Reply:
        body = self.read_json(request)
        if isinstance(body, Reply):
            return body
        login, password = body.get("login"), body.get("password")
        if not isinstance(login, str) or not isinstance(password, str):
            return self.error(400, "invalid_request", "login and password are required")
        if self.accounts.get(login) != password:
            return self.error(self.reject_status, "unauthorized", "wrong login or transfer key")
        return self._pair(self.start_family(login), None)

    def _refresh(self, request: Request) -> Reply:
        token = self._bearer(request)
        if token is None:
            return self.error(400, "invalid_request", "Authorization: Bearer <refresh-token>")
        try:
            family = self.redeem(token)
        except TokenRejected as rejected:
            return self.error(self.reject_status, "unauthorized", str(rejected))
        return self._pair(family, token)

    def _logout(self, request: Request) -> Reply:
        token = self._bearer(request)
        if token is None:
            return self.error(400, "invalid_request", "Authorization: Bearer <access-token>")
        if not self.is_active(token):
            return self.error(self.reject_status, "unauthorized", "invalid access token")
        family = self.family_of(token)
        assert family is not None
        self.revoke_family(family, "logout")
        return Reply(200, {})
