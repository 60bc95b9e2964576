"""Reading bodies from outside: bounded content decoding, charsets and byte-order marks,
JSON and forms. Every parser here takes any input and answers with a value or a BodyError."""

from __future__ import annotations

import codecs
import contextlib
import json
import tracemalloc
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.hostile import gzip_bomb, gzipped
from vault_app.core import wire

LIMIT = 4096


@pytest.mark.parametrize(
    ("codings", "pack"),
    [
        ([], lambda b: b),
        (["identity"], lambda b: b),
        (["gzip"], gzipped),
        (["x-gzip"], gzipped),
        (["deflate"], lambda b: gzipped(b, zlib.MAX_WBITS)),
        (["deflate"], lambda b: gzipped(b, -zlib.MAX_WBITS)),
        (["gzip, gzip"], lambda b: gzipped(gzipped(b))),
        (["gzip", "identity"], gzipped),
    ],
)
def test_codings_round_trip_in_any_slicing(codings: list[str], pack: object) -> None:
    data = json.dumps({"access_token": "x" * 500, "n": list(range(200))}).encode()
    packed = pack(data)  # type: ignore[operator]
    for size in (1, 2, 7, 64, len(packed)):
        decoder = wire.BoundedDecoder(codings, 1 << 20)
        for start in range(0, len(packed), size):
            decoder.feed(packed[start : start + size])
        assert decoder.finish() == data


def test_a_gzip_bomb_stops_at_the_cap_in_little_memory() -> None:
    bomb = gzip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(wire.TooLarge):
            wire.decode_all(bomb, ["gzip"], wire.MAX_REPLY_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak


@pytest.mark.parametrize(
    ("codings", "body", "says"),
    [
        (["br"], b"x", "unsupported content coding"),
        (["gzip, gzip, gzip"], b"x", "more than 2"),
        (["gzip"], b"\x1f\x8b\x08\x00garbage-not-deflate", "corrupt"),
        (["gzip"], gzipped(b'{"a": 1}')[:-6], "ends early"),
        (["deflate"], b"x", "ends early"),
    ],
)
def test_undecodable_bodies(codings: list[str], body: bytes, says: str) -> None:
    with pytest.raises(wire.BodyError, match=says):
        wire.decode_all(body, codings)


@given(
    st.binary(max_size=400),
    st.lists(
        st.sampled_from(["gzip", "deflate", "identity", "br", "", "GZIP", "gzip, deflate"]),
        max_size=3,
    ),
)
def test_any_bytes_with_any_codings_decode_within_the_cap_or_fail_cleanly(
    body: bytes, codings: list[str]
) -> None:
    try:
        out = wire.decode_all(body, codings, LIMIT)
    except wire.BodyError:
        return
    assert len(out) <= LIMIT


@given(st.binary(max_size=2000))
def test_any_gzip_payload_round_trips_or_is_too_large(data: bytes) -> None:
    try:
        assert wire.decode_all(gzipped(data), ["gzip"], 1000) == data
    except wire.TooLarge:
        assert len(data) > 1000


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (codecs.BOM_UTF8 + b'{"a":"\xc3\xa9"}', None, '{"a":"é"}'),
        ('{"a":"é"}'.encode("utf-16"), "application/json", '{"a":"é"}'),
        ('{"a":"é"}'.encode("utf-16-le"), "application/json", '{"a":"é"}'),
        ('{"a":"é"}'.encode("utf-32-be"), "application/json", '{"a":"é"}'),
        ('{"a":"é"}'.encode("utf-16-be"), "application/json; charset=utf-16be", '{"a":"é"}'),
        ('{"a":"é"}'.encode("latin-1"), "application/json; charset=ISO-8859-1", '{"a":"é"}'),
        ('{"a":"é"}'.encode(), 'application/json; charset="utf-8"', '{"a":"é"}'),
        ('{"a":"é"}'.encode(), "application/json; charset=base64", '{"a":"é"}'),
        ('{"a":"é"}'.encode(), "application/json; charset=rot13", '{"a":"é"}'),
        ('{"a":"é"}'.encode(), "application/json; charset=idna", '{"a":"é"}'),
        ('{"a":"é"}'.encode(), "application/json; charset=no-such", '{"a":"é"}'),
    ],
)
def test_text_by_bom_then_charset_then_default(
    body: bytes, content_type: str | None, text: str
) -> None:
    assert wire.decode_text(body, content_type, strict=True, json_default=True) == text


@given(st.binary(max_size=200), st.text(max_size=60))
def test_any_bytes_in_any_charset_decode_or_fail_cleanly(body: bytes, charset: str) -> None:
    content_type = f"application/json; charset={charset}"
    assert isinstance(wire.decode_text(body, content_type), str)
    with contextlib.suppress(wire.BodyError):
        wire.decode_text(body, content_type, strict=True, json_default=True)


def test_json_numbers_and_depth() -> None:
    assert wire.parse_json('{"n": ' + "9" * 5000 + "}") == {"n": float("inf")}
    assert wire.parse_json('{"n": -' + "9" * 500 + "}") == {"n": float("-inf")}
    assert wire.parse_json('{"n": 1e400}') == {"n": float("inf")}
    with pytest.raises(wire.BodyError, match="nested too deeply"):
        wire.parse_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(wire.BodyError, match="not valid JSON"):
        wire.parse_json('{"a": ')


@given(st.text(max_size=300))
def test_any_text_is_json_or_a_body_error(text: str) -> None:
    with contextlib.suppress(wire.BodyError):
        wire.parse_json(text)


def test_forms() -> None:
    assert wire.parse_form("access_token=gho_x&scope=repo&token_type=bearer\n") == {
        "access_token": "gho_x",
        "scope": "repo",
        "token_type": "bearer",
    }
    assert wire.parse_form("a=%2B%20b+c&e=") == {"a": "+ b c", "e": ""}
    for bad in ("a=1&a=2", "novalue", "a=%ff", "&".join(f"k{i}=v" for i in range(200))):
        with pytest.raises(wire.BodyError):
            wire.parse_form(bad)


@given(st.text(max_size=200))
def test_any_text_is_a_form_or_a_body_error(text: str) -> None:
    try:
        fields = wire.parse_form(text)
    except wire.BodyError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


@given(st.text(max_size=100))
def test_any_content_type_parses(value: str) -> None:
    media, params = wire.media_type(value)
    assert media == media.strip().lower()
    assert all(name == name.lower() for name in params)
