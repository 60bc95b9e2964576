"""Plain data: accounts (metadata only), token sets (secret), statuses."""

from __future__ import annotations

import copy
import enum
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from vault_app.core import bounds

# Refresh tokens that lapse within this many days get a warning (DESIGN.md section 5).
REFRESH_WARNING_DAYS = 14

# Account and vault ids become keyring usernames and lock file names: no path separators.
# The metadata file's schema (vault_schema.py) and its preview (account_store.py) both use it.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TEXT_MAX = 1024  # characters in a stored name, provider kind or message

# Account's time fields (UTC POSIX seconds or None), which the metadata file's readers check
# with bounds.moment.
ACCOUNT_TIMES = (
    "access_expires_at",
    "refresh_expires_at",
    "refresh_obtained_at",
    "last_refresh_at",
    "created_at",
)


class Status(str, enum.Enum):
    """What the vault knows about an account's tokens, as stored in the metadata file."""

    SIGNED_OUT = "signed_out"  # no access token held (new, or revoked)
    OK = "ok"
    ERROR = "error"  # the last refresh failed for a reason that may pass
    SIGN_IN_NEEDED = "sign_in_needed"  # the server rejected what we hold


@dataclass
class Account:
    """An account's metadata: everything about it except its secrets and tokens. Stored in the
    metadata file through core/vault_schema.py, whose AccountRecord lists the same fields with
    their types and limits (a test compares the two). Times are UTC POSIX seconds, None when
    unknown."""

    id: str
    name: str
    provider: str
    fields: dict[str, str] = field(default_factory=dict)
    status: Status = Status.SIGNED_OUT
    access_expires_at: float | None = None
    refresh_expires_at: float | None = None
    refresh_obtained_at: float | None = None  # when the current refresh token was issued
    last_refresh_at: float | None = None
    last_error: str | None = None
    generation: int = 0  # which keyring item holds the current secrets; 0 = none yet
    secret_fields: list[str] = field(default_factory=list)  # names only, never values
    created_at: float | None = field(default_factory=time.time)

    def copy(self) -> Account:
        """A copy that shares nothing mutable with this one."""
        twin = copy.copy(self)
        twin.fields = dict(self.fields)
        twin.secret_fields = list(self.secret_fields)
        return twin

    def display_status(self, now: float | None = None) -> str:
        """The status a user sees: a stored OK turns into "expired" once the token lapses."""
        now = time.time() if now is None else now
        expires = bounds.number(self.access_expires_at)
        if self.status is Status.OK and expires is not None and expires <= now:
            return "expired"
        return self.status.value

    def refresh_warning(self, now: float | None = None) -> str | None:
        """A warning when the refresh token lapses soon, or has lapsed (None when its expiry
        is unknown or not a finite number)."""
        now = time.time() if now is None else now
        expires = bounds.number(self.refresh_expires_at)
        if expires is None or not math.isfinite(now):
            return None
        left = expires - now
        if left <= 0:
            return "the refresh token has expired: a new one is needed"
        if left <= REFRESH_WARNING_DAYS * 86400:
            days = math.ceil(left / 86400)
            return f"the refresh token expires in {days} day{'s' if days != 1 else ''}"
        return None


@dataclass
class Leftover:
    """Keyring items of a removed account that could not be deleted yet: generations `first`
    to `last` of account `id`. Kept in the metadata file until a retry of `remove NAME`
    deletes them (DESIGN.md section 4: nothing is left behind)."""

    id: str
    name: str
    first: int
    last: int


@dataclass
class TokenSet:
    """Tokens as a provider returns them. Secret: lives only in the keyring.

    Times are local UTC seconds, already corrected for the server's clock (DESIGN.md section
    5); `lifetime` is the access token's life in seconds as the server granted it (expires_in,
    or the JWT's exp - iat), kept so that a later reply without one can be given the same."""

    access_token: str
    token_type: str = "Bearer"
    expires_at: float | None = None  # None: the expiry is unknown
    refresh_token: str | None = None
    refresh_expires_at: float | None = None
    scope: str | None = None
    obtained_at: float = field(default_factory=time.time)
    id_token: str | None = None  # OpenID Connect: kept when the scope asked for `openid`
    lifetime: float | None = None

    def __repr__(self) -> str:
        # Never let a token reach a log or traceback through repr().
        return (
            f"TokenSet(token_type={self.token_type!r}, expires_at={self.expires_at!r}, "
            f"has_refresh_token={self.refresh_token is not None}, "
            f"has_id_token={self.id_token is not None})"
        )

    def remaining(self, now: float | None = None) -> float | None:
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    def wanted(self, min_valid: float) -> float:
        """The life left to ask of this token for a caller who wants one valid for `min_valid`
        seconds: that, or, when its server's tokens live no longer than that (the `lifetime`
        it granted), half their life. A refresh in the first half would only bring another
        token as short, and a script asking before each call would send the server a request
        per call. Without a known lifetime, `min_valid` as it is."""
        life = bounds.duration(self.lifetime)
        return min(min_valid, life / 2) if life is not None else min_valid

    def serves(self, min_valid: float, now: float | None = None) -> bool:
        """Whether this token answers a caller who wants one valid for `min_valid` seconds
        (see wanted; an unknown expiry: yes)."""
        remaining = self.remaining(now)
        return remaining is None or remaining > self.wanted(min_valid)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSet:
        """From the keyring's JSON, which a person or an older version may have written: a
        field of the wrong type, or a time no display can show (core/bounds.py), is dropped."""
        access = data.get("access_token")
        if not isinstance(access, str):
            raise ValueError("a stored token set has no access token")
        refresh = data.get("refresh_token")
        kind = data.get("token_type")
        scope = data.get("scope")
        id_token = data.get("id_token")
        obtained = bounds.number(data.get("obtained_at"))
        return cls(
            access_token=access,
            token_type=kind if isinstance(kind, str) else "Bearer",
            expires_at=bounds.representable(data.get("expires_at")),
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            refresh_expires_at=bounds.representable(data.get("refresh_expires_at")),
            scope=scope if isinstance(scope, str) else None,
            obtained_at=obtained if obtained is not None else time.time(),
            lifetime=bounds.duration(data.get("lifetime")),
            id_token=id_token if isinstance(id_token, str) and id_token else None,
        )


@dataclass
class SecretBundle:
    """One account's secret fields and current tokens: stored as one keyring value so a
    rotated refresh token and its access token are always written together."""

    secrets: dict[str, str] = field(default_factory=dict)
    tokens: TokenSet | None = None

    def __repr__(self) -> str:
        return f"SecretBundle(fields={sorted(self.secrets)}, tokens={self.tokens!r})"

    def values(self) -> list[str]:
        """Every secret string held, for redaction and leak checks."""
        out = [v for v in self.secrets.values() if v]
        if self.tokens is not None:
            out.append(self.tokens.access_token)
            if self.tokens.refresh_token:
                out.append(self.tokens.refresh_token)
            if self.tokens.id_token:
                out.append(self.tokens.id_token)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "secrets": dict(self.secrets),
            "tokens": self.tokens.to_json() if self.tokens is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SecretBundle:
        tokens = data.get("tokens")
        return cls(
            secrets={str(k): str(v) for k, v in dict(data.get("secrets") or {}).items()},
            tokens=TokenSet.from_json(tokens) if isinstance(tokens, dict) else None,
        )
