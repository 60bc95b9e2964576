"""core/timefmt.py never raises and shows an insane time as unknown (issue 10.1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import timefmt

NOW = 1_800_000_000.0

ANY_TIME = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.text(max_size=5),
)


@given(value=ANY_TIME, now=st.one_of(st.just(NOW), st.floats(allow_nan=True)))
def test_never_raises(value: object, now: float) -> None:
    iso = timefmt.iso_utc(value)  # type: ignore[arg-type]
    assert iso is None or (iso.endswith("Z") and len(iso) == 20)
    assert isinstance(timefmt.relative(value, now), str)  # type: ignore[arg-type]
    assert isinstance(timefmt.ago(value, now), str)  # type: ignore[arg-type]
    assert isinstance(timefmt.span(value), str)  # type: ignore[arg-type]


def test_odd_values_are_unknown() -> None:
    for odd in (float("inf"), float("-inf"), float("nan"), 1e300, -5.0, NOW * 1000, 10**400):
        assert timefmt.iso_utc(odd) is None
        assert timefmt.relative(odd, NOW, unknown="?") == "?"
        assert timefmt.ago(odd, NOW) == "-"
    assert timefmt.span(float("inf")) == "?"


def test_sane_values() -> None:
    assert timefmt.iso_utc(NOW) == "2027-01-15T08:00:00Z"
    assert timefmt.relative(NOW + 725, NOW) == "in 12m 05s"
    assert timefmt.relative(NOW - 3 * 3600 - 20 * 60, NOW) == "3h 20m ago"
    assert timefmt.ago(NOW - 300, NOW) == "5m ago"
    assert timefmt.ago(NOW - 10, NOW) == "just now"
