"""A cached token: a provider fake's genuine token reply with its access JWT reissued as if
issued some seconds before it was sent, the way a gateway hands out a token it holds.

Tests of on-demand refreshes start from one: a freshly issued token is in the first half of
its life, and a caller is served that whatever it asks (TokenSet.wanted), so only a token that
has lived part of its life shows that one near its end is refreshed first. Arm it for the
sign-in: `fake.inject("/token", issued_ago(fake, 70))` (ALOR: "/refresh", kind "alor")."""

from __future__ import annotations

from typing import Any

from tests.fakes import hostile
from tests.fakes.base import ProviderFake
from tests.fakes.server import Fault, Reply, Request


def issued_ago(fake: ProviderFake, seconds: int, kind: str = "oauth2") -> Fault:
    """The genuine reply of `fake` (a provider of dialect `kind`, hostile.DIALECTS) with its
    access JWT's `iat` and `exp` moved `seconds` back: the same lifetime (`exp - iat`), that
    much less of it left, signed and registered by the fake as the same grant. Any lifetime
    field of the reply is left as sent (the JWT's own `exp` caps it)."""
    dialect = hostile.DIALECTS[kind]

    def older(claims: dict[str, Any]) -> None:
        claims.update(iat=claims["iat"] - seconds, exp=claims["exp"] - seconds)

    def transform(request: Request, genuine: Reply | None) -> Reply:
        ctx = hostile.Context(request, genuine, dialect, fake)
        data = ctx.body()
        ctx.reissue(data, older)
        return ctx.json(data)

    return Fault.transformed(transform)
