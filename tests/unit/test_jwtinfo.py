from __future__ import annotations

import time

import jwt

from vault_app.core import jwtinfo


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
