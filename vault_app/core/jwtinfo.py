"""Read a JWT's header and claims for display and scheduling only: nothing here verifies a
signature, so nothing here may be used to trust a token (DESIGN.md section 7).

Every input is untrusted: `inspect` returns None for anything that is not a readable JWT and
never raises, and the times it offers for scheduling (`expires_at`, `issued_at`) are RFC 7519
NumericDates that passed core/bounds.py, so `exp` in milliseconds, as a string, a bool or
null, or beyond ten years, is "unknown" rather than a number to compute with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault_app.core import bounds

# Fixed list: a token naming another algorithm (or "none") is not read at all.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "HS256",
    "HS384",
    "HS512",
    "EdDSA",
)
# Longer than any token a header can carry; decoding more is wasted work on hostile input.
MAX_JWT_LENGTH = 65536


@dataclass(frozen=True)
class JwtInfo:
    """A JWT's header and claims as sent (for display), with sane times for scheduling."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def expires_at(self) -> float | None:
        """`exp` (UTC seconds) when it is a sane NumericDate, else None."""
        return bounds.timestamp(self.claims.get("exp"))

    @property
    def issued_at(self) -> float | None:
        """`iat` (UTC seconds) when it is a sane NumericDate, else None."""
        return bounds.timestamp(self.claims.get("iat"))

    @property
    def lifetime(self) -> float | None:
        """`exp - iat` in seconds: the life the issuer gave the token, by its own clock."""
        expires, issued = self.expires_at, self.issued_at
        if expires is None or issued is None:
            return None
        return bounds.duration(expires - issued)


def looks_like_jwt(token: object) -> bool:
    return (
        isinstance(token, str)
        and len(token) <= MAX_JWT_LENGTH
        and token.count(".") == 2
        and token.startswith("ey")
    )


def inspect(token: object) -> JwtInfo | None:
    """The token's header and claims, or None when it is not a readable JWT (never raises)."""
    if not looks_like_jwt(token):
        return None
    assert isinstance(token, str)
    import jwt  # deferred: pyjwt pulls in cryptography, which the token fast path never needs

    try:
        header = jwt.get_unverified_header(token)
        if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
            return None
        # verify_signature=False also switches off exp/iat/nbf checks, which is what we want:
        # an expired token must still be readable to show when it expired.
        claims: Any = jwt.decode(
            token,
            algorithms=list(ALGORITHMS),
            options={
                "verify_signature": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except Exception:  # PyJWTError, and whatever odd JSON (huge ints, deep nesting) raises
        return None
    if not isinstance(claims, dict):
        return None
    return JwtInfo(header=dict(header), claims=claims)


def expiry_of(token: object) -> float | None:
    """The JWT's sane `exp`, or None (not a JWT, no `exp`, or not a sane time)."""
    info = inspect(token)
    return info.expires_at if info is not None else None
