from __future__ import annotations

import base64
import time

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import bounds, jwtinfo

NOW = float(int(time.time()))


def test_reads_claims_of_expired_token_and_future_iat() -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "u1", "exp": now - 60, "iat": now + 3600}, "k" * 32, "HS256")
    info = jwtinfo.inspect(token)
    assert info is not None
    assert info.header["alg"] == "HS256"
    assert info.claims["sub"] == "u1"
    assert info.expires_at == now - 60
    assert info.issued_at == now + 3600


def test_not_a_jwt() -> None:
    assert jwtinfo.inspect("plain-api-key") is None
    assert jwtinfo.inspect("eyJub3QiOiJqc29uIn0.bad.sig") is None
    assert jwtinfo.expiry_of("abc.def.ghi") is None


def test_alg_none_is_not_read() -> None:
    token = jwt.encode({"exp": 2_000_000_000}, None, algorithm="none")  # type: ignore[arg-type]
    assert jwtinfo.inspect(token) is None


def test_exp_must_be_a_number() -> None:
    token = jwt.encode({"exp": "soon"}, "k" * 32, "HS256")
    info = jwtinfo.inspect(token)
    assert info is not None and info.expires_at is None


@pytest.mark.parametrize(
    ("exp", "expected"),
    [
        (NOW + 600, NOW + 600),
        (NOW + 600.5, NOW + 600.5),
        ((NOW + 600) * 1000, None),  # milliseconds
        (str(NOW + 600), None),
        (True, None),
        (None, None),
        (-5, None),
        (10**30, None),
        (float("inf"), None),
    ],
    # Ids without the time: every xdist worker must collect the same tests.
    ids=[
        "seconds",
        "fraction",
        "milliseconds",
        "string",
        "bool",
        "null",
        "negative",
        "huge",
        "inf",
    ],
)
def test_only_sane_times_are_offered_for_scheduling(exp: object, expected: float | None) -> None:
    info = jwtinfo.inspect(jwt.encode({"exp": exp, "iat": NOW}, "k" * 32, "HS256"))
    assert info is not None
    assert info.expires_at == expected
    assert info.claims["exp"] == exp  # shown as sent


def test_lifetime_is_exp_minus_iat() -> None:
    info = jwtinfo.inspect(jwt.encode({"iat": NOW, "exp": NOW + 1800}, "k" * 32, "HS256"))
    assert info is not None and info.lifetime == 1800
    backwards = jwtinfo.inspect(jwt.encode({"iat": NOW, "exp": NOW - 1}, "k" * 32, "HS256"))
    assert backwards is not None and backwards.lifetime is None


@given(st.text(max_size=300))
def test_inspect_never_raises_on_text(text: str) -> None:
    info = jwtinfo.inspect(text)
    assert info is None or isinstance(info.claims, dict)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_inspect_never_raises_on_any_parts(header: bytes, payload: bytes) -> None:
    token = f"ey{_b64(header)}.{_b64(payload)}.sig"
    info = jwtinfo.inspect(token)
    if info is not None:
        assert info.expires_at is None or bounds.timestamp(info.expires_at) is not None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(["exp", "iat", "nbf", "sub", "aud"]), _json, max_size=5))
def test_any_claims_read_or_none_never_an_exception(claims: dict[str, object]) -> None:
    try:
        token = jwt.encode(claims, "k" * 32, "HS256")
    except (TypeError, ValueError):
        return
    info = jwtinfo.inspect(token)
    if info is not None:
        for when in (info.expires_at, info.issued_at):
            assert when is None or bounds.timestamp(when) == when


def test_huge_and_deep_payloads_are_not_read() -> None:
    deep = _b64(b"[" * 50_000 + b"]" * 50_000)
    assert jwtinfo.inspect(f"eyJhbGciOiJIUzI1NiJ9.{deep}.sig") is None
    big = _b64(b'{"exp": ' + b"9" * 5000 + b"}")
    info = jwtinfo.inspect(f"eyJhbGciOiJIUzI1NiJ9.{big}.sig")
    assert info is None or info.expires_at is None
    assert jwtinfo.inspect("ey" + "a" * 70_000 + ".b.c") is None
    assert jwtinfo.inspect(12345) is None
