"""TokenSet, the secret half of an account as the keyring holds it: its JSON form survives
values a person or an older version wrote, and never carries a time no display can show."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import bounds
from vault_app.core.model import SecretBundle, TokenSet


def test_round_trip_keeps_the_lifetime() -> None:
    tokens = TokenSet("a", expires_at=time.time() + 600, refresh_token="r", lifetime=600.0)
    assert TokenSet.from_json(tokens.to_json()) == tokens


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("expires_at", float("inf"), None),
        ("expires_at", float("nan"), None),
        ("expires_at", 1e400, None),
        ("expires_at", -1.0, None),
        ("expires_at", 4_102_444_800.0, 4_102_444_800.0),  # 2100: a person's "never"
        ("expires_at", 253_402_300_800.0, None),  # year 10000
        ("expires_at", "2030-01-01", None),
        ("expires_at", True, None),
        ("refresh_expires_at", 10**400, None),
        ("lifetime", 1e12, None),
        ("lifetime", -600, None),
        ("lifetime", "600", None),
        ("token_type", 7, "Bearer"),
        ("refresh_token", 12, None),
        ("refresh_token", "", None),
        ("scope", ["a"], None),
    ],
)
def test_odd_stored_values_are_dropped(field: str, value: object, kept: object) -> None:
    data = TokenSet("a").to_json()
    data[field] = value
    assert getattr(TokenSet.from_json(data), field) == kept


def test_a_token_set_without_an_access_token_is_not_one() -> None:
    with pytest.raises(ValueError):
        TokenSet.from_json({"token_type": "Bearer"})
    with pytest.raises(ValueError):
        SecretBundle.from_json({"secrets": {}, "tokens": {"access_token": 5}})


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "token_type",
                "expires_at",
                "refresh_token",
                "refresh_expires_at",
                "scope",
                "obtained_at",
                "lifetime",
                "extra",
            ]
        ),
        _values,
    )
)
def test_any_stored_json_reads_into_sane_values(data: dict[str, object]) -> None:
    tokens = TokenSet.from_json({**data, "access_token": "a"})
    for when in (tokens.expires_at, tokens.refresh_expires_at):
        assert when is None or bounds.representable(when) == when
    assert tokens.lifetime is None or 0 < tokens.lifetime <= bounds.HORIZON
    assert math.isfinite(tokens.obtained_at)
    assert isinstance(tokens.token_type, str)


# -- what an on-demand caller is served (the `token` hammer) ----------------------------------


def test_a_token_is_served_for_its_minimum_when_it_lives_longer() -> None:
    tokens = TokenSet("a", expires_at=1000.0 + 600, obtained_at=1000.0, lifetime=600.0)
    assert tokens.wanted(60) == 60
    assert tokens.serves(60, now=1000.0 + 539)
    assert not tokens.serves(60, now=1000.0 + 540)


def test_tokens_shorter_than_asked_are_served_for_the_first_half_of_their_life() -> None:
    """A server whose tokens live 30 s, asked for 60 s each time (`token`'s default) by a
    script that calls it before every request: refreshing on each call would send the server
    a request per call, and bring another 30-second token."""
    tokens = TokenSet("a", expires_at=1000.0 + 30, obtained_at=1000.0, lifetime=30.0)
    assert tokens.wanted(60) == 15
    assert tokens.serves(60, now=1000.0 + 14)
    assert not tokens.serves(60, now=1000.0 + 15)
    assert not tokens.serves(60, now=1000.0 + 31)  # never an expired one


def test_without_a_lifetime_the_minimum_stands() -> None:
    tokens = TokenSet("a", expires_at=1000.0 + 30, obtained_at=1000.0)
    assert tokens.wanted(60) == 60 and not tokens.serves(60, now=1000.0)
    assert TokenSet("a").serves(10**6)  # an unknown expiry is served


@given(
    lifetime=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    min_valid=st.floats(0, 10**9),
    left=st.floats(-(10**6), 10**6),
)
def test_a_served_token_never_has_expired(
    lifetime: float | None, min_valid: float, left: float
) -> None:
    tokens = TokenSet("a", expires_at=1000.0 + left, obtained_at=1000.0, lifetime=lifetime)
    assert 0 <= tokens.wanted(min_valid) <= min_valid
    if tokens.serves(min_valid, now=1000.0):
        assert left > 0
