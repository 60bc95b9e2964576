"""What every provider fake shares: a clock tests can move, HS256 JWTs with short lifetimes,
refresh-token families (rotation, optional grace, reuse detection), access-token introspection,
and a guard that rejects and records any secret sent in a URL."""

from __future__ import annotations

import math
import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import jwt

from tests.fakes.server import FakeServer, Reply, Request

# Query parameter names that carry a secret in any of the four providers' vocabularies.
SECRET_PARAMS = frozenset(
    {
        "token",
        "refresh_token",
        "refreshtoken",
        "refresh-token",
        "access_token",
        "accesstoken",
        "access-token",
        "password",
        "client_secret",
        "assertion",
        "transfer-key",
        "transfer_key",
    }
)
# Known secret values shorter than this are not searched for in URLs (false positives).
MIN_SECRET_LENGTH = 8


class TokenRejected(Exception):
    """A presented token is not acceptable; the message says why (it is sent to the client)."""


@dataclass
class Family:
    """Every token descended from one grant (one sign-in, one registered refresh token)."""

    id: str
    subject: str
    client_id: str = ""
    scope: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # provider extras (portfolios, ...)
    refresh_tokens: list[str] = field(default_factory=list)  # in issue order
    access_tokens: list[str] = field(default_factory=list)
    current: str | None = None  # the refresh token that is valid now
    previous: str | None = None  # still valid in grace mode until `current` is first used
    revoked: str | None = None  # why the family died: "reuse", "logout", "revoked", "portal"


@dataclass
class RefreshRecord:
    """One refresh token the server issued or a test registered."""

    token: str
    family: str
    issued_at: float
    expires_at: float | None
    uses: int = 0


@dataclass
class AccessRecord:
    """One access token the server issued."""

    token: str
    family: str
    subject: str
    issued_at: int
    expires_at: int
    claims: dict[str, Any]
    is_jwt: bool = True
    revoked: bool = False


@dataclass(frozen=True)
class ReuseEvent:
    """A superseded refresh token was presented again: the family was killed."""

    token: str
    family: str
    at: float


class ProviderFake(FakeServer):
    """Base of the provider fakes; use as a context manager: `with AlorFake() as fake:`."""

    def __init__(
        self,
        *,
        reuse_detection: bool = True,
        grace: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(tls)
        self.reuse_detection = reuse_detection  # reuse of a superseded token kills the family
        self.grace = grace  # a rotated token stays valid until its successor is first used
        self.jwt_key = secrets.token_bytes(32)  # HS256 key for the JWTs this server signs
        self.clock_offset = 0.0
        self.violations: list[str] = []  # client misbehaviour (a secret in a URL, ...)
        self.reuses: list[ReuseEvent] = []
        self.families: dict[str, Family] = {}
        self.refresh_tokens: dict[str, RefreshRecord] = {}
        self.access_tokens: dict[str, AccessRecord] = {}
        self.known_secrets: set[str] = set()  # values that must never appear in a URL

    # -- clock -------------------------------------------------------------------------------

    def now(self) -> float:
        """The server's clock: real time plus whatever advance() added."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward (expires tokens without sleeping)."""
        self.clock_offset += seconds

    # -- URLs and replies --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What the account's base URL field should hold for this fake."""
        return self.url

    def error(self, status: int, code: str, message: str) -> Reply:
        """A JSON error reply in this provider's shape."""
        return Reply(status, {"error": code, "message": message})

    def read_json(self, request: Request) -> dict[str, Any] | Reply:
        """The request's JSON object, or the reply to send: 415 if not application/json, 400 if
        the body is not a JSON object."""
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self.error(415, "unsupported_media_type", "send Content-Type: application/json")
        try:
            body: Any = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self.error(400, "invalid_request", "the body must be a JSON object")
        return body

    def guard(self, request: Request) -> Reply | None:
        """Reject (400) and record any request that carries a secret in its URL."""
        reason = self._secret_in_url(request)
        if reason is None:
            return None
        self.violations.append(f"secret in URL: {request.method} {request.path} ({reason})")
        return self.error(400, "invalid_request", "secrets must not be sent in the URL")

    def _secret_in_url(self, request: Request) -> str | None:
        names = sorted(n for n in request.query if n.lower() in SECRET_PARAMS)
        if names:
            return f"query parameter {names[0]!r}"
        target = unquote_plus(request.target)
        for value in self.known_secrets:
            if len(value) >= MIN_SECRET_LENGTH and value in target:
                return "a known secret value"
        return None

    # -- JWTs --------------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any]) -> str:
        """An HS256 JWT signed with this server's key."""
        return jwt.encode(claims, self.jwt_key, algorithm="HS256", headers={"typ": "JWT"})

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a JWT this server signed (signature only; expiry is the caller's)."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.jwt_key,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
        )
        return claims

    # -- families and refresh tokens ---------------------------------------------------------

    def start_family(
        self,
        subject: str,
        *,
        client_id: str = "",
        scope: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Family:
        """A new family (one grant); its refresh token comes from add_refresh()."""
        family = Family(uuid.uuid4().hex, subject, client_id, scope, dict(data or {}))
        self.families[family.id] = family
        return family

    def add_refresh(
        self,
        family: Family,
        lifetime: float | None,
        token: str | None = None,
        *,
        expires_at: float | None = None,
    ) -> str:
        """Issue (or register) a refresh token; it becomes the family's current one."""
        value = token or secrets.token_urlsafe(32)
        now = self.now()
        if expires_at is None and lifetime is not None:
            expires_at = now + lifetime
        self.refresh_tokens[value] = RefreshRecord(value, family.id, now, expires_at)
        family.refresh_tokens.append(value)
        family.current = value
        self.known_secrets.add(value)
        return value

    def redeem(self, token: str) -> Family:
        """Check a presented refresh token; a superseded one is a reuse (kills the family)."""
        record = self.refresh_tokens.get(token)
        if record is None:
            raise TokenRejected("unknown refresh token")
        family = self.families[record.family]
        if family.revoked is not None:
            raise TokenRejected(f"refresh token revoked ({family.revoked})")
        if record.expires_at is not None and self.now() >= record.expires_at:
            raise TokenRejected("refresh token expired")
        if token == family.current or (self.grace and token == family.previous):
            record.uses += 1
            return family
        if self.reuse_detection:
            self.reuses.append(ReuseEvent(token, family.id, self.now()))
            self.revoke_family(family, "reuse")
            raise TokenRejected("refresh token was already used; the whole grant is revoked")
        raise TokenRejected("refresh token was already used")

    def rotate(
        self,
        family: Family,
        presented: str,
        lifetime: float | None,
        token: str | None = None,
        *,
        expires_at: float | None = None,
    ) -> str:
        """Replace the family's refresh token after `presented` was redeemed."""
        if presented == family.current:
            family.previous = presented if self.grace else None
        # else `presented` is the grace-period predecessor: the unused current one is dropped
        return self.add_refresh(family, lifetime, token, expires_at=expires_at)

    def revoke_family(self, family: Family, reason: str) -> None:
        """Kill every refresh and access token of a family."""
        if family.revoked is None:
            family.revoked = reason
        for token in family.access_tokens:
            self.access_tokens[token].revoked = True

    def refresh_state(self, token: str) -> str:
        """valid, grace, superseded, revoked, expired or unknown."""
        record = self.refresh_tokens.get(token)
        if record is None:
            return "unknown"
        family = self.families[record.family]
        if family.revoked is not None:
            return "revoked"
        if record.expires_at is not None and self.now() >= record.expires_at:
            return "expired"
        if token == family.current:
            return "valid"
        if self.grace and token == family.previous:
            return "grace"
        return "superseded"

    def accepts_refresh(self, token: str) -> bool:
        """Whether the server would accept this refresh token now."""
        return self.refresh_state(token) in ("valid", "grace")

    def family_of(self, token: str) -> Family | None:
        """The family of a refresh or access token."""
        record = self.refresh_tokens.get(token) or self.access_tokens.get(token)
        return self.families.get(record.family) if record is not None else None

    # -- access tokens -----------------------------------------------------------------------

    def add_access(
        self,
        family: Family,
        lifetime: float,
        claims: dict[str, Any] | None = None,
        *,
        as_jwt: bool = True,
    ) -> AccessRecord:
        """Issue an access token (a JWT, or an opaque string) for a family."""
        now = self.now()
        issued_at = int(now)
        expires_at = issued_at + math.ceil(lifetime)
        full = {"sub": family.subject, "iat": issued_at, "exp": expires_at}
        full.update(claims or {})
        full["jti"] = uuid.uuid4().hex
        token = self.sign(full) if as_jwt else secrets.token_urlsafe(32)
        record = AccessRecord(token, family.id, family.subject, issued_at, expires_at, full, as_jwt)
        self.access_tokens[token] = record
        family.access_tokens.append(token)
        self.known_secrets.add(token)
        return record

    def is_active(self, token: str) -> bool:
        """Whether an access token is known, unexpired and not revoked."""
        record = self.access_tokens.get(token)
        if record is None or record.revoked:
            return False
        if self.families[record.family].revoked is not None:
            return False
        return self.now() < record.expires_at
