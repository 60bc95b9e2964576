"""Token replies: token syntax, token types, lifetimes and the server's clock, errors carried
by a 2xx. Replies are built in memory here; tests/providers runs the same against servers."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import bounds
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError
from vault_app.core.http import Reply, UnusableReplyError
from vault_app.core.providers import replies
from vault_app.core.providers.replies import ExpiredOnArrivalError

NOW = time.time()


def reply(body: Any, status: int = 200, *, date: float | None = None, at: float = NOW) -> Reply:
    headers = {"content-type": "application/json"}
    if date is not None:
        headers["date"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(date))
    text = body if isinstance(body, str) else json.dumps(body)
    return Reply(status, headers, text.encode(), "https://auth.example/token", at)


def token(**claims: Any) -> str:
    return jwt.encode(claims, "k" * 32, algorithm="HS256")


# -- token syntax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc\r\nX-Injected: 1", "line break"),
        ("abc\ndef", "line break"),
        ("abc def", "space"),
        ("abc\tdef", "space"),
        ("tökén", "non-ASCII"),
        ("abc\x00def", "control"),
        ("abc\x7fdef", "control"),
        ("", "empty"),
        ("a" * 16385, "longer than"),
    ],
)
def test_token_problems(value: str, problem: str) -> None:
    found = replies.token_problem(value)
    assert found is not None and problem in found
    assert value not in found or not value


@pytest.mark.parametrize(
    "value", ["gho_16C7e42F292c6912E7710c838347Ae178B4a", "a.b.c", "2YotnFZFEjr1zCsicMWpAA", "~+/="]
)
def test_good_tokens(value: str) -> None:
    assert replies.token_problem(value) is None


@given(st.text(max_size=50))
def test_a_token_is_accepted_only_if_a_header_can_carry_it_as_one_word(value: str) -> None:
    if replies.token_problem(value) is None:
        assert value and value.isascii() and value.isprintable() and " " not in value


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        (None, "Bearer"),
        ("", "Bearer"),
        ("bearer", "Bearer"),
        ("BEARER", "Bearer"),
        ("Token", "Token"),
    ],
)
def test_token_types(value: str | None, scheme: str) -> None:
    assert replies.token_type(value, "x", "h") == scheme


@pytest.mark.parametrize("value", ["DPoP", "dpop", "MAC", "PoP", "N_A", "urn:x:token-type:jwt"])
def test_types_that_need_a_proof_are_refused(value: str) -> None:
    with pytest.raises(MisconfiguredError, match="cannot use them"):
        replies.token_type(value, "oauth2: refresh", "auth.example")


@pytest.mark.parametrize("value", ["Bearer\r\nX: 1", 7, "a b", "x" * 65, ["Bearer"]])
def test_malformed_types_are_unusable(value: object) -> None:
    with pytest.raises(UnusableReplyError):
        replies.token_type(value, "x", "h")


@given(st.one_of(st.text(max_size=70), st.integers(), st.none(), st.booleans()))
def test_any_token_type_is_a_header_word_or_an_error(value: object) -> None:
    try:
        scheme = replies.token_type(value, "x", "h")
    except (UnusableReplyError, MisconfiguredError):
        return
    assert scheme.isascii() and scheme.isprintable() and " " not in scheme


# -- lifetimes and clocks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (600, 600.0),
        (600.5, 600.5),
        ("600", 600.0),
        (" 600 ", 600.0),
        ("Infinity", None),
        ("6e2", None),
        ("1_000", None),
        ("-5", None),
        (float("inf"), None),
        (float("nan"), None),
        (1e12, None),
        (0, None),
        (True, None),
        ({"s": 1}, None),
        (10**400, None),
    ],
)
def test_lifetimes(value: object, seconds: float | None) -> None:
    assert replies.seconds(value) == seconds


def test_a_lifetime_in_the_reply_wins() -> None:
    access = token(iat=int(NOW) - 2400, exp=int(NOW) - 600)
    found = replies.expiry(access, 600, NOW, NOW - 2400)
    assert (found.at, found.basis) == (NOW + 600, "lifetime")


@pytest.mark.parametrize("offset", [-2400.0, 2400.0, -86400.0 * 3])
def test_exp_moves_by_the_date_header_skew(offset: float) -> None:
    access = token(iat=int(NOW + offset), exp=int(NOW + offset) + 1800)
    found = replies.expiry(access, None, NOW, NOW + offset)
    assert found.basis == "exp+date"
    assert found.at is not None and abs(found.at - (NOW + 1800)) <= 1


@pytest.mark.parametrize("offset", [-2400.0, 2400.0])
def test_without_a_date_exp_minus_iat_counts_from_arrival(offset: float) -> None:
    access = token(iat=int(NOW + offset), exp=int(NOW + offset) + 1800)
    found = replies.expiry(access, None, NOW, None)
    assert (found.basis, found.at, found.lifetime) == ("exp-iat", NOW + 1800, 1800)


def test_a_front_proxys_date_does_not_overrule_the_issuers_iat() -> None:
    """The Date header agrees with us, the issuer's clock is 40 minutes behind: by the Date
    the token expired 10 minutes ago, by its issuer it has 30 minutes to live."""
    access = token(iat=int(NOW) - 2400, exp=int(NOW) - 600)
    found = replies.expiry(access, None, NOW, NOW)
    assert (found.basis, found.at) == ("exp-iat", NOW + 1800)


@pytest.mark.parametrize("behind", [2400.0, 86400.0, 365 * 86400.0])
def test_a_date_header_behind_never_stretches_a_token_past_its_own_life(behind: float) -> None:
    """A front proxy's clock behind, the issuer right: by the Date the token would live
    `behind` seconds longer than the 30 minutes its issuer gave it."""
    access = token(iat=int(NOW), exp=int(NOW) + 1800)
    found = replies.expiry(access, None, NOW, NOW - behind)
    assert (found.basis, found.at) == ("exp-iat", NOW + 1800)


@pytest.mark.parametrize("lifetime", [3600, 600_000, "1800000"])
def test_a_lifetime_longer_than_the_jwts_own_is_capped_by_it(lifetime: object) -> None:
    """expires_in in milliseconds, or a gateway's cached JWT (issued 50 minutes ago, 10
    minutes left, as its Date shows) sent with a fresh expires_in: the resource server checks
    the JWT's exp. (Without a Date the cached token reads as an issuer 50 minutes behind.)"""
    fresh = token(iat=int(NOW), exp=int(NOW) + 600)
    cached = token(iat=int(NOW) - 3000, exp=int(NOW) + 600)
    for access, date in ((fresh, NOW), (fresh, None), (cached, NOW)):
        found = replies.expiry(access, lifetime, NOW, date)
        assert found.at == int(NOW) + 600, (access, date)
        assert found.lifetime == (3600 if access == cached else 600)  # exp - iat


def test_an_exp_without_iat_does_not_overrule_the_lifetime() -> None:
    """With no iat, an exp 40 minutes behind ours may be a skewed server's: the reply's
    lifetime stands (nothing tells whose clock is wrong)."""
    access = token(exp=int(NOW) - 2400 + 600)
    found = replies.expiry(access, 600, NOW, None)
    assert (found.at, found.basis) == (NOW + 600, "lifetime")


@given(
    life=st.integers(1, 10**6),
    issued_ago=st.integers(-(10**6), 10**6),
    date_offset=st.one_of(st.none(), st.integers(-(10**8), 10**8)),
    lifetime=st.one_of(st.none(), st.integers(1, 10**8)),
)
def test_no_jwt_outlives_its_own_claims(
    life: int, issued_ago: int, date_offset: int | None, lifetime: int | None
) -> None:
    """Whatever the Date header and the lifetime field say, a JWT with iat and exp is never
    given more than exp - iat from its arrival."""
    iat = int(NOW) - issued_ago
    access = token(iat=iat, exp=iat + life)
    date = None if date_offset is None else NOW + date_offset
    found = replies.expiry(access, lifetime, NOW, date)
    if found.at is not None:
        assert found.at <= NOW + life + replies.CLOCK_TOLERANCE


def test_agreeing_clocks_keep_exp_exactly() -> None:
    exp = int(NOW) + 1800
    assert replies.expiry(token(iat=int(NOW), exp=exp), None, NOW, NOW + 2).at == exp
    assert replies.expiry(token(exp=exp), None, NOW, None).at == exp


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(NOW + 600) * 1000},
        {"exp": str(int(NOW + 600))},
        {"exp": True},
        {"exp": None},
        {"exp": -5},
        {"exp": 10**30},
        {},
    ],
)
def test_insane_exp_is_unknown(claims: dict[str, Any]) -> None:
    found = replies.expiry(token(**claims), None, NOW, NOW)
    assert (found.at, found.basis) == (None, "unknown")


def test_expired_on_arrival_names_the_clock_and_carries_the_tokens() -> None:
    access = token(exp=int(NOW) - 600)
    with pytest.raises(ExpiredOnArrivalError) as caught:
        replies.token_set(reply({}), "alor: access token", access, refresh_token="r-new-0001")
    message = str(caught.value)
    assert "expired when it arrived" in message and "clock" in message
    assert "10m 00s before this computer's clock" in message
    assert caught.value.tokens.refresh_token == "r-new-0001"
    assert caught.value.exit_code == 5


def test_expired_by_the_servers_own_date() -> None:
    access = token(exp=int(NOW) - 600)
    with pytest.raises(ExpiredOnArrivalError, match="by the server's own clock"):
        replies.token_set(reply({}, date=NOW), "alor: access token", access)


_claim_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)


@given(
    st.dictionaries(st.sampled_from(["exp", "iat", "nbf", "sub"]), _claim_values, max_size=4),
    st.one_of(_claim_values, st.sampled_from(["600", "Infinity", "1e400", " 60 "])),
    st.one_of(st.none(), st.floats(min_value=-1e11, max_value=1e11)),
)
def test_any_claims_and_lifetime_give_unknown_or_a_sane_expiry(
    claims: dict[str, Any], lifetime: object, date_offset: float | None
) -> None:
    access = jwt.encode(claims, "k" * 32, algorithm="HS256")
    server = None if date_offset is None else bounds.timestamp(NOW + date_offset, NOW)
    found = replies.expiry(access, lifetime, NOW, server)
    if found.at is not None:
        assert bounds.timestamp(found.at, NOW) == found.at
    if found.lifetime is not None:
        assert 0 < found.lifetime <= bounds.HORIZON


# -- bodies and errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"error": "invalid_grant"}, RejectedError),
        ({"error": "bad_refresh_token", "error_description": "gone"}, RejectedError),
        ({"error": {"code": "unauthorized", "message": "expired"}}, RejectedError),
        ({"error": "temporarily_unavailable"}, TransientError),
        ({"error": "invalid_request"}, MisconfiguredError),
        ({"error": "something_odd"}, TransientError),
        ({"access_token": "a", "error": "invalid_grant"}, RejectedError),
    ],
)
def test_a_2xx_carrying_error_is_that_error(body: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        replies.json_reply(reply(body), "oauth2: refresh")
    assert type(caught.value) is error or issubclass(type(caught.value), error)


@pytest.mark.parametrize("body", [{"error": ""}, {"error": None}, {"error": 0}, {"error": False}])
def test_an_empty_error_is_no_error(body: dict[str, Any]) -> None:
    assert replies.json_reply(reply({**body, "access_token": "a"}), "x")["access_token"] == "a"


def test_server_text_is_cleaned() -> None:
    description = "bad\r\n\x1b[31mred\x1b[0m\x00 \u202eevil " + "x" * 5000
    with pytest.raises(RejectedError) as caught:
        replies.json_reply(
            reply({"error": "invalid_grant", "error_description": description}), "refresh"
        )
    message = str(caught.value)
    assert message.isprintable() and "\x1b" not in message and "\u202e" not in message
    assert len(message) < 300


@given(
    st.dictionaries(
        st.sampled_from(["error", "error_description", "access_token", "message", "code"]),
        st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans()),
        max_size=5,
    ),
    st.integers(200, 599),
)
def test_any_reply_fields_end_in_data_or_a_one_line_error(
    body: dict[str, Any], status: int
) -> None:
    try:
        data = replies.json_reply(reply(body, status), "x")
    except (TransientError, RejectedError, MisconfiguredError) as exc:
        assert str(exc).isprintable()
        return
    assert isinstance(data, dict)
    try:
        replies.token_field(data, "x", reply(body, status), "access_token")
    except TransientError as exc:
        assert str(exc).isprintable()
