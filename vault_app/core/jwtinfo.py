"""Read a JWT's header and claims for display and scheduling only: nothing here verifies a
signature, so nothing here may be used to trust a token (DESIGN.md section 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class JwtInfo:
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def expires_at(self) -> float | None:
        return _number(self.claims.get("exp"))

    @property
    def issued_at(self) -> float | None:
        return _number(self.claims.get("iat"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


def inspect(token: str) -> JwtInfo | None:
    """The token's header and claims, or None when it is not a readable JWT."""
    if not looks_like_jwt(token):
        return None
    import jwt  # deferred: pyjwt pulls in cryptography, which the token fast path never needs

    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            return None
        # verify_signature=False also switches off exp/iat/nbf checks, which is what we want:
        # an expired token must still be readable to show when it expired.
        claims = jwt.decode(
            token,
            algorithms=list(ALGORITHMS),
            options={
                "verify_signature": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.PyJWTError:
        return None
    return JwtInfo(header=dict(header), claims=claims)


def expiry_of(token: str) -> float | None:
    info = inspect(token)
    return info.expires_at if info is not None else None
