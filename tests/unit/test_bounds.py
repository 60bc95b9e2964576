"""Sanity bounds for outside numbers: nothing non-finite, negative or absurd gets through."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import bounds

NOW = 1_800_000_000.0


def test_examples() -> None:
    assert bounds.duration(1800) == 1800.0
    assert bounds.duration(0) is None
    assert bounds.duration(-5) is None
    assert bounds.duration(float("inf")) is None
    assert bounds.duration(float("nan")) is None
    assert bounds.duration(1e12) is None
    assert bounds.duration(10**400) is None
    assert bounds.duration(True) is None
    assert bounds.duration("60") is None  # strings are parsed by whoever reads the reply
    assert bounds.timestamp(NOW + 3600, NOW) == NOW + 3600
    assert bounds.timestamp((NOW + 3600) * 1000, NOW) is None  # milliseconds
    assert bounds.timestamp(0, NOW) is None
    assert bounds.timestamp(float("-inf"), NOW) is None


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none()))
def test_results_are_always_sane(value: object) -> None:
    seconds = bounds.duration(value)
    if seconds is not None:
        assert math.isfinite(seconds) and 0 < seconds <= bounds.HORIZON
    when = bounds.timestamp(value, NOW)
    if when is not None:
        assert bounds.EPOCH_FLOOR <= when <= NOW + bounds.HORIZON


def test_moment() -> None:
    assert bounds.moment(NOW + 3600, NOW) == NOW + 3600
    assert bounds.moment(981158400, NOW) == 981158400  # 2001-02-03: a date typed by a user
    for odd in (0, -5, float("inf"), float("nan"), 1e300, NOW * 1000, True, "1", None):
        assert bounds.moment(odd, NOW) is None, odd


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none()))
def test_moments_are_always_sane(value: object) -> None:
    when = bounds.moment(value, NOW)
    if when is not None:
        assert math.isfinite(when) and 0 < when <= NOW + bounds.HORIZON
