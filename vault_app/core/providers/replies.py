"""Reading token replies defensively: every missing or malformed field is a TransientError with
one line saying what was wrong, never a KeyError, and nothing stored changes."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from vault_app.core import jwtinfo
from vault_app.core.errors import TransientError
from vault_app.core.http import Reply, raise_for_status
from vault_app.core.model import TokenSet


def json_reply(reply: Reply, what: str) -> dict[str, Any]:
    """The reply's JSON object after mapping error statuses; anything else is transient."""
    raise_for_status(reply, what)
    return reply.json_object(what)


def pick(data: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` present (and not null) in `data`."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def token_field(data: Mapping[str, Any], what: str, host: str, *names: str) -> str:
    value = pick(data, *names)
    if not isinstance(value, str) or not value.strip():
        raise TransientError(f"{what}: {host} replied without {names[0]}")
    return value.strip()


def seconds(value: Any) -> float | None:
    """A lifetime in seconds from a number or a numeric string; anything else is unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number > 0 else None
    return None


def expiry(token: str, lifetime: Any, now: float | None = None) -> float | None:
    """When a token expires: from the reply's lifetime when given, else the JWT's `exp`,
    else unknown (None), which is shown as "expiry unknown"."""
    now = time.time() if now is None else now
    span = seconds(lifetime)
    if span is not None:
        return now + span
    return jwtinfo.expiry_of(token)


def token_set(
    access_token: str,
    *,
    token_type: str | None = None,
    lifetime: Any = None,
    refresh_token: str | None = None,
    refresh_lifetime: Any = None,
    scope: Any = None,
) -> TokenSet:
    now = time.time()
    refresh_expires_at = None
    if refresh_token:
        refresh_expires_at = expiry(refresh_token, refresh_lifetime, now)
    kind = token_type.strip() if isinstance(token_type, str) and token_type.strip() else "Bearer"
    # RFC 6750 spells it "Bearer"; servers answering "bearer" mean the same scheme.
    if kind.lower() == "bearer":
        kind = "Bearer"
    return TokenSet(
        access_token=access_token,
        token_type=kind,
        expires_at=expiry(access_token, lifetime, now),
        refresh_token=refresh_token or None,
        refresh_expires_at=refresh_expires_at,
        scope=scope if isinstance(scope, str) else None,
        obtained_at=now,
    )
