"""The socket's wire format: every request the CLI sends parses back to itself; anything else
from outside (bytes of any shape, JSON of any shape) is a ProtocolError with a code, never
another exception; replies map back to the CLI's own error classes and exit codes."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.errors import (
    KeyringUnavailableError,
    MisconfiguredError,
    NoSuchAccountError,
    RejectedError,
    SignInNeededError,
    TransientError,
    UsageError,
    UserFacingError,
)
from vault_app.service import protocol
from vault_app.service.protocol import (
    Hello,
    ListRequest,
    ProtocolError,
    RefreshRequest,
    TokenRequest,
    encode,
    parse_reply,
    parse_request,
)

names = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "" and s.isprintable())


def line(**fields: Any) -> bytes:
    return encode({"v": 1, **fields})


@given(name=names, min_valid=st.floats(0, 1e8), force=st.booleans())
def test_token_requests_round_trip(name: str, min_valid: float, force: bool) -> None:
    parsed = parse_request(line(op="token", name=name, min_valid=min_valid, force=force))
    assert parsed == TokenRequest(name, min_valid, force)


@given(listed=st.lists(names, min_size=1, max_size=20))
def test_refresh_requests_round_trip(listed: list[str]) -> None:
    assert parse_request(line(op="refresh", names=listed)) == RefreshRequest(tuple(listed), False)


def test_the_small_requests() -> None:
    assert parse_request(line(op="hello")) == Hello()
    assert parse_request(line(op="list")) == ListRequest()
    assert parse_request(line(op="refresh", all=True)) == RefreshRequest((), True)
    # The newline is optional on the last line of a stream.
    assert parse_request(line(op="list").rstrip(b"\n")) == ListRequest()


@given(st.binary(max_size=300))
def test_any_bytes_give_a_protocol_error_or_a_request(data: bytes) -> None:
    try:
        parse_request(data)
    except ProtocolError as exc:
        assert exc.code in {"bad_request", "too_large", "unsupported_version", "unknown_op"}
        assert exc.message and "\n" not in exc.message


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    op=st.sampled_from(["hello", "token", "list", "refresh", "other", ""]),
    extra=st.dictionaries(
        st.sampled_from(["name", "min_valid", "force", "names", "all", "x"]),
        json_values,
        max_size=4,
    ),
)
def test_any_json_object_gives_a_protocol_error_or_a_valid_request(
    op: str, extra: dict[str, Any]
) -> None:
    try:
        request = parse_request(line(op=op, **extra))
    except ProtocolError as exc:
        assert exc.code in {"bad_request", "unknown_op"}
        return
    if isinstance(request, TokenRequest):
        assert 0 <= request.min_valid <= 10 * 366 * 86400 and isinstance(request.force, bool)
        assert request.name.strip() and request.name.isprintable()
    if isinstance(request, RefreshRequest):
        assert request.everything != bool(request.names)


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (b"not json\n", "bad_request", "not valid JSON"),
        (b"[1, 2]\n", "bad_request", "not a JSON object"),
        (b"\xff\xfe{}\n", "bad_request", "not UTF-8"),
        (b'{"op": "list"}\n', "bad_request", "no protocol version"),
        (b'{"v": true, "op": "list"}\n', "bad_request", "no protocol version"),
        (b'{"v": 2, "op": "list"}\n', "unsupported_version", "version 2"),
        (b'{"v": 1}\n', "bad_request", 'no "op"'),
        (b'{"v": 1, "op": "delete_everything"}\n', "unknown_op", "delete_everything"),
        (b'{"v": 1, "op": "list", "extra": 1}\n', "bad_request", "unknown fields extra"),
        (b'{"v": 1, "op": "token", "name": "a"}\n', "bad_request", "missing force, min_valid"),
        (b'{"v":1,"op":"token","name":"a","min_valid":NaN,"force":false}\n', "bad_request", "JSON"),
        (b'{"v":1,"op":"token","name":"a","min_valid":1e999,"force":false}\n', "bad_request", ""),
        (b'{"v":1,"op":"token","name":"a","min_valid":-1,"force":false}\n', "bad_request", "0 to"),
        (b'{"v":1,"op":"token","name":"a","min_valid":"60","force":false}\n', "bad_request", ""),
        (b'{"v":1,"op":"token","name":"a","min_valid":true,"force":false}\n', "bad_request", ""),
        (b'{"v":1,"op":"token","name":"a","min_valid":60,"force":1}\n', "bad_request", "force"),
        (b'{"v":1,"op":"token","name":"","min_valid":60,"force":false}\n', "bad_request", "name"),
        (
            b'{"v":1,"op":"token","name":"a\\u0000b","min_valid":60,"force":false}\n',
            "bad_request",
            "",
        ),
        (b'{"v":1,"op":"token","name":"a\\nb","min_valid":60,"force":false}\n', "bad_request", ""),
        (b'{"v":1,"op":"refresh"}\n', "bad_request", "one of them"),
        (b'{"v":1,"op":"refresh","names":["a"],"all":true}\n', "bad_request", "one of them"),
        (b'{"v":1,"op":"refresh","names":"a"}\n', "bad_request", "list"),
        (b'{"v":1,"op":"refresh","names":[1]}\n', "bad_request", "names"),
        (b'{"v":1,"op":"list"}\n{"v":1,"op":"list"}\n', "bad_request", "more than one line"),
        (b"[" * 100_000 + b"\n", "too_large", "larger than"),
        (b"[" * 60_000 + b"]" * 60_00 + b"\n", "too_large", ""),
        (b"[" * 30_000 + b"\n", "bad_request", "JSON"),  # deep nesting: no RecursionError out
    ],
)
def test_bad_requests_say_what_is_wrong(data: bytes, code: str, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(data)
    assert caught.value.code == code
    assert words in caught.value.message


def test_encoding_is_one_ascii_line_and_refuses_non_finite_numbers() -> None:
    out = encode({"v": 1, "text": "line\nbreak é \u2028"})
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    out.decode("ascii")
    with pytest.raises(ValueError):
        encode({"v": 1, "x": math.inf})


@pytest.mark.parametrize(
    ("error", "cls", "code"),
    [
        (UsageError("u"), UsageError, "usage"),
        (NoSuchAccountError("n"), NoSuchAccountError, "no_such_account"),
        (SignInNeededError("s"), RejectedError, "rejected"),
        (TransientError("t"), TransientError, "network"),
        (MisconfiguredError("m"), TransientError, "failed"),  # exit 5 all the same
        (KeyringUnavailableError("k"), KeyringUnavailableError, "keyring"),
        (UserFacingError("f"), UserFacingError, "failed"),
    ],
)
def test_failures_cross_the_socket_with_their_exit_code(
    error: UserFacingError, cls: type[UserFacingError], code: str
) -> None:
    reply = protocol.error_from(error, error.message)
    assert reply["error"]["code"] == code
    with pytest.raises(cls) as caught:
        parse_reply(encode(reply))
    assert caught.value.exit_code == error.exit_code
    assert caught.value.message == error.message


def test_replies_from_outside_are_checked() -> None:
    assert parse_reply(encode(protocol.ok(x=1)))["x"] == 1
    for bad in (b"{}\n", b'{"v":1}\n', b'{"v":1,"ok":false}\n', b'{"v":1,"ok":false,"error":{}}\n'):
        with pytest.raises(ProtocolError):
            parse_reply(bad)
    # An exit code out of range is 1; control characters never reach the terminal.
    weird = {"v": 1, "ok": False, "error": {"code": "x", "message": "a\x1b[31mb", "exit": 999}}
    with pytest.raises(UserFacingError) as caught:
        parse_reply(json.dumps(weird).encode())
    assert caught.value.exit_code == 1 and "\x1b" not in caught.value.message


@given(st.binary(max_size=200))
def test_any_reply_bytes_give_a_reply_or_a_known_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError, UserFacingError):
        parse_reply(data)
