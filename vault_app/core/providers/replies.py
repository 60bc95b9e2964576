"""Reading token replies defensively: every missing, malformed or insane field is an error with
one line saying what was wrong (never a KeyError, never the value itself), and nothing stored
changes.

- Bodies: JSON or `application/x-www-form-urlencoded` (core/http.py `Reply.fields`); a 2xx
  carrying `error` is that error, classified like an RFC 6749 section 5.2 error reply.
- Tokens (RFC 6749 appendix A.12 and A.17, RFC 6750 section 2.1): printable ASCII without
  spaces, at most MAX_TOKEN_LENGTH characters; anything else (a CR LF, a space, a control or
  non-ASCII character) would break or inject a header, and makes the whole reply malformed.
- Token types: a `token` (RFC 9110 section 5.6.2); "bearer" in any case is "Bearer"; the
  proof-of-possession types (DPoP, MAC, PoP) and RFC 8693's N_A need more than a plain
  Authorization header and are refused with a message saying so. Other plain types a server
  names (e.g. "Token") are kept and used as the header's scheme.
- Lifetimes and times (core/bounds.py): `expires_in` as a number or a decimal string; JWT
  `exp`/`iat` as NumericDates; anything not finite, not positive or beyond ten years is
  "unknown". A JWT's expiry is moved to this machine's clock by the server's: the reply's Date
  header, else the JWT's own `exp - iat` counted from arrival (DESIGN.md section 5). A token
  that is expired on arrival is an ExpiredOnArrivalError naming the clock, never a success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vault_app.core import bounds, jwtinfo
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError
from vault_app.core.http import Reply, UnusableReplyError, raise_for_status
from vault_app.core.model import TokenSet
from vault_app.core.redact import one_line
from vault_app.core.timefmt import iso_utc, span

# Longer than any token an HTTP server accepts in a header (8-16 KiB is the usual limit).
MAX_TOKEN_LENGTH = 16384
MAX_TYPE_LENGTH = 64
MAX_SCOPE_LENGTH = 4096
# Clocks that agree within this many seconds are taken to agree: the Date header has a
# resolution of one second and the reply took time to arrive.
CLOCK_TOLERANCE = 5.0

_TOKEN = re.compile(r"[\x21-\x7e]+")  # RFC 6749 VSCHAR without the space
_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 tchar
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*")  # RFC 6749 3.3
_DECIMAL = re.compile(r"\s*[0-9]{1,15}(\.[0-9]{1,9})?\s*")

# Token types that need a proof made for each request: not usable as a plain header.
PROOF_TYPES = {
    "dpop": "DPoP (RFC 9449)",
    "mac": "MAC",
    "pop": "proof-of-possession",
    "n_a": "N_A (RFC 8693: not an access token)",
}

# RFC 6749 section 5.2 error codes, said plainly.
EXPLAINED = {
    "invalid_grant": "the credentials or refresh token are invalid, expired or revoked",
    "invalid_client": "client authentication failed (check client_id, client_secret, client_auth)",
    "unauthorized_client": "this client may not use this grant",
    "unsupported_grant_type": "the server does not support this grant",
    "invalid_scope": "the requested scope was refused",
    "invalid_request": "the server found the request malformed",
    "access_denied": "access was denied",
    "bad_refresh_token": "the refresh token is invalid, expired or revoked",
    "invalid_token": "the token is invalid, expired or revoked",
    "temporarily_unavailable": "the server is temporarily unavailable",
    "server_error": "the server failed",
    "unsupported_token_type": "the server cannot revoke this kind of token",
}
TRANSIENT_CODES = frozenset(
    {"temporarily_unavailable", "server_error", "slow_down", "rate_limited", "too_many_requests"}
)
MISCONFIGURED_CODES = frozenset(
    {
        "invalid_request",
        "unsupported_grant_type",
        "invalid_scope",
        "unsupported_response_type",
        "unsupported_token_type",
    }
)
# Codes that say our credentials or tokens are not accepted: the rejected path.
_REJECTED_WORDS = re.compile(
    r"grant|token|client|credential|unauthori|denied|expired|revoked|password|login|forbidden"
    r"|invalid|auth",
    re.IGNORECASE,
)


class ExpiredOnArrivalError(TransientError):
    """The server's token had expired by the time it arrived: a clock is wrong. Carries the
    tokens, so a refresh token the server rotated on the way is still kept."""

    def __init__(self, message: str, tokens: TokenSet) -> None:
        super().__init__(message)
        self.tokens = tokens


# -- bodies and errors ------------------------------------------------------------------------


def json_reply(reply: Reply, what: str) -> dict[str, Any]:
    """The reply's fields (JSON object or form) after mapping error statuses; a 2xx that
    carries an `error` is that error (see error_for)."""
    raise_for_status(reply, what)
    data = reply.fields(what)
    code = error_code(data)
    if code is not None:
        raise error_for(code, data, reply, what)
    return data


def error_code(data: Mapping[str, Any]) -> str | None:
    """The `error` of an error body (a non-empty string, or an object with a `code`), or
    None (absent, null, "", false, 0: servers that always send the field mean "none")."""
    value = data.get("error")
    if isinstance(value, dict):
        value = value.get("code", value.get("status")) or "error"
        if isinstance(value, bool):
            value = "error"
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not value:
        return None
    return one_line(str(value), 60) or "error"


def error_message(data: Mapping[str, Any], what: str, reply: Reply) -> str:
    """`what: rejected by host (code: explanation; server says: description)`, with the
    server's text cleaned and its secrets masked."""
    code = error_code(data)
    if code is None:
        return f"{what}: rejected by {reply.host} (HTTP {reply.status})"
    description = data.get("error_description")
    if not isinstance(description, str):
        inner = data.get("error")
        description = inner.get("message") if isinstance(inner, dict) else data.get("message")
    parts = [f"{what}: rejected by {reply.host} ({code}: {EXPLAINED.get(code, 'error')}"]
    if isinstance(description, str) and one_line(description, 120):
        parts.append(f"; server says: {one_line(description, 120)}")
    parts.append(")")
    return "".join(parts)


def error_for(
    code: str, data: Mapping[str, Any], reply: Reply, what: str, *, rejected: bool = False
) -> TransientError | MisconfiguredError | RejectedError:
    """The error class for an RFC 6749 section 5.2 code, whatever the status it came with:
    transient for the server's own trouble, misconfigured for a request it cannot take,
    rejected for codes about credentials or tokens; an unknown code is rejected when the
    status said so (`rejected`: a 400 or 401), else transient."""
    message = error_message(data, what, reply)
    if code in TRANSIENT_CODES:
        return TransientError(message.replace("rejected by", "refused by", 1))
    if code in MISCONFIGURED_CODES:
        return MisconfiguredError(message)
    if rejected or _REJECTED_WORDS.search(code):
        return RejectedError(message)
    return TransientError(message.replace("rejected by", "refused by", 1))


# -- fields -------------------------------------------------------------------------------------


def pick(data: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` present (and not null) in `data`."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def token_problem(value: str) -> str | None:
    """Why `value` cannot be a token (RFC 6749 A.12: printable ASCII, here without spaces),
    in words that never quote it; None when it can."""
    if not value:
        return "is empty"
    if len(value) > MAX_TOKEN_LENGTH:
        return f"is longer than {MAX_TOKEN_LENGTH} characters"
    if "\r" in value or "\n" in value:
        return "contains a line break"
    if " " in value or "\t" in value:
        return "contains a space"
    if not value.isascii():
        return "contains non-ASCII characters"
    if not _TOKEN.fullmatch(value):
        return "contains control characters"
    return None


def token_field(data: Mapping[str, Any], what: str, reply: Reply | str, *names: str) -> str:
    """The token under the first of `names`; missing or malformed is an UnusableReplyError."""
    host = reply.host if isinstance(reply, Reply) else reply
    value = pick(data, *names)
    if value is None or value == "":
        raise _unusable(reply, f"{what}: {host} replied without {names[0]}")
    if not isinstance(value, str):
        raise _unusable(reply, f"{what}: {host} sent a {names[0]} that is not a string; refused")
    problem = token_problem(value)
    if problem is not None:
        raise _unusable(
            reply, f"{what}: {host} sent a {names[0]} that {problem}; refused, nothing stored"
        )
    return value


def optional_token(data: Mapping[str, Any], what: str, reply: Reply, *names: str) -> str | None:
    """Like token_field for a token a reply may leave out (null and "" count as absent)."""
    value = pick(data, *names)
    if value is None or value == "":
        return None
    return token_field({names[0]: value}, what, reply, names[0])


def token_type(value: Any, what: str, host: str) -> str:
    """The header scheme for a reply's token_type (absent: Bearer); see the module doc."""
    if value is None or value == "":
        return "Bearer"
    if not isinstance(value, str) or len(value) > MAX_TYPE_LENGTH:
        raise UnusableReplyError(f"{what}: {host} sent a token_type that is not a name; refused")
    lower = value.lower()
    if lower == "bearer":
        return "Bearer"  # RFC 6750 spells it so; "bearer" means the same scheme
    if lower in PROOF_TYPES:
        raise MisconfiguredError(
            f"{what}: {host} issues {PROOF_TYPES[lower]} tokens, which must be sent with a "
            "proof made for each request; Token Vault hands tokens out as plain "
            "Authorization headers and cannot use them (ask for Bearer tokens)"
        )
    if not _TYPE.fullmatch(value):
        if ":" in value and value.isprintable() and " " not in value:
            raise MisconfiguredError(
                f"{what}: {host} issues tokens of a type named by a URI, which is not a "
                "scheme for a plain Authorization header; Token Vault cannot use them"
            )
        raise UnusableReplyError(
            f"{what}: {host} sent a token_type that is not a valid name; refused"
        )
    return value


def scope_of(value: Any) -> str | None:
    """A granted scope (RFC 6749 section 3.3) to show; anything else is dropped."""
    if isinstance(value, str) and len(value) <= MAX_SCOPE_LENGTH and _SCOPE.fullmatch(value):
        return value
    return None


def seconds(value: Any) -> float | None:
    """A lifetime in seconds from a number or a decimal string (RFC 6749 5.1 `expires_in`),
    when sane (core/bounds.py); anything else is unknown."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            return None
        value = float(value)
    return bounds.duration(value)


# -- times ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    """When a token expires on this machine's clock, and how that was worked out."""

    at: float | None  # local UTC seconds; None: unknown
    lifetime: float | None  # seconds the issuer gave it
    basis: str  # "lifetime", "exp+date", "exp-iat", "exp", "unknown"
    exp: float | None = None  # the JWT's exp as sent (for messages)
    server_time: float | None = None


def expiry(token: str, lifetime: Any, arrival: float, server_time: float | None) -> Expiry:
    """A token's expiry: `arrival` + the reply's lifetime when it gives a sane one; else the
    JWT's `exp`, moved by the server clock's offset from ours (the Date header), or, without
    a Date (or when the Date says expired but disagrees with the token's own `iat`), `exp -
    iat` counted from arrival when `iat` disagrees with our clock; else `exp` as is; else
    unknown.

    A JWT never lives longer than its own claims allow, whatever else the reply says: no
    longer than `exp - iat` from its arrival (a Date header from a front proxy whose clock is
    behind would stretch it), and no longer than its `exp` when that can be placed on our
    clock (a lifetime in milliseconds, or a gateway's cached token sent with a fresh
    `expires_in`). The resource server checks the JWT's `exp`, not the reply."""
    given = seconds(lifetime)
    claimed, placed = _jwt_expiry(token, arrival, server_time)
    if given is None:
        return claimed
    if placed and claimed.at is not None and claimed.at < arrival + given:
        return claimed  # its lifetime: the issuer's own exp - iat
    return Expiry(arrival + given, given, "lifetime")


def _jwt_expiry(token: str, arrival: float, server_time: float | None) -> tuple[Expiry, bool]:
    """The expiry by the JWT's own claims (see expiry), and whether it can overrule a lifetime
    the reply gave: only for a JWT that carries its `iat`, which bounds its life whatever the
    clocks say (with an `exp` alone, a Date header from another clock could kill it)."""
    info = jwtinfo.inspect(token)
    exp = info.expires_at if info is not None else None
    if info is None or exp is None:
        return Expiry(None, None, "unknown"), False
    issued, jwt_life = info.issued_at, info.lifetime
    if server_time is not None:
        skew = arrival - server_time
        at = exp + skew if abs(skew) > CLOCK_TOLERANCE else exp
        basis = "exp+date"
        if (
            issued is not None
            and jwt_life is not None
            and abs(server_time - issued) > CLOCK_TOLERANCE
            and (at <= arrival or at > arrival + jwt_life + CLOCK_TOLERANCE)
        ):
            # The Date header (often a front proxy's clock) and the issuer's own iat
            # disagree, and by the Date the token would be dead already or live longer than
            # the issuer gave it: the issuer's clock is the one its tokens are checked against.
            at, basis = arrival + jwt_life, "exp-iat"
    elif issued is not None and jwt_life is not None and abs(arrival - issued) > CLOCK_TOLERANCE:
        at, basis = arrival + jwt_life, "exp-iat"
    else:
        at, basis = exp, "exp"
    sane = bounds.timestamp(at, arrival)
    life = jwt_life
    if life is None and sane is not None:
        life = bounds.duration(sane - arrival)
    found = Expiry(sane, life, basis if sane is not None else "unknown", exp, server_time)
    return found, issued is not None


def clock_message(what: str, host: str, found: Expiry, arrival: float) -> str:
    """Why a token counts as expired on arrival, naming the clock that is off."""
    if found.basis == "exp+date" and found.exp is not None and found.server_time is not None:
        late = span(max(found.server_time - found.exp, 0))
        return (
            f"{what}: {host} sent a token that had already expired by the server's own clock "
            f"(exp {iso_utc(found.exp)}, {late} before its Date header); the server's clock or "
            "token lifetime is wrong"
        )
    exp = found.exp if found.exp is not None else found.at
    late = span(max(arrival - (exp or arrival), 0))
    return (
        f"{what}: the token from {host} had expired when it arrived: its exp "
        f"({iso_utc(exp)}) is {late} before this computer's clock ({iso_utc(arrival)}), and "
        "the reply has no Date header or iat to tell whose clock is wrong; check the clock "
        "and time zone of this computer, or the server's"
    )


def token_set(
    reply: Reply,
    what: str,
    access_token: str,
    *,
    token_type: Any = None,
    lifetime: Any = None,
    refresh_token: str | None = None,
    refresh_lifetime: Any = None,
    scope: Any = None,
) -> TokenSet:
    """The TokenSet a reply gives, its times on this machine's clock. Raises
    ExpiredOnArrivalError (carrying the tokens) for an access token expired on arrival."""
    arrival = reply.received_at
    server_time = reply.server_time
    found = expiry(access_token, lifetime, arrival, server_time)
    refresh_expires_at = None
    if refresh_token:
        refresh_found = expiry(refresh_token, refresh_lifetime, arrival, server_time)
        if refresh_found.at is not None and refresh_found.at > arrival:
            refresh_expires_at = refresh_found.at
    tokens = TokenSet(
        access_token=access_token,
        token_type=_type_of(token_type, what, reply.host),
        expires_at=found.at,
        refresh_token=refresh_token or None,
        refresh_expires_at=refresh_expires_at,
        scope=scope_of(scope),
        obtained_at=arrival,
        lifetime=found.lifetime,
    )
    if found.at is not None and found.at <= arrival:
        raise ExpiredOnArrivalError(clock_message(what, reply.host, found, arrival), tokens)
    return tokens


_type_of = token_type


def _unusable(reply: Reply | str, message: str) -> TransientError:
    return reply.unusable(message) if isinstance(reply, Reply) else UnusableReplyError(message)
