"""Reading reply bodies from outside, by the standards and within limits: content codings
decoded with a cap on the decoded size (RFC 9110 section 8.4; a gzip bomb never expands in
memory), text decoded by byte-order mark, then the `charset` parameter, then the format's own
default (RFC 8259 section 8.1 for JSON, UTF-8 for forms), JSON parsed without trusting its
numbers or its depth, and `application/x-www-form-urlencoded` bodies parsed strictly.

Nothing here raises anything but `BodyError` (and its `TooLarge`) on any input.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

# The most a token endpoint's reply may hold once decoded: real ones are a few kilobytes.
MAX_REPLY_BYTES = 1 << 20
# What we can decode within that cap; sent as Accept-Encoding so a server offers nothing else.
ACCEPT_ENCODING = "gzip, deflate"
_MAX_CODINGS = 2  # "gzip, gzip" is legal and rare; more is an attack on our CPU
_MAX_INT_DIGITS = 40  # longer integers in JSON are read as infinite (bounds then refuse them)
_MAX_FORM_FIELDS = 100

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class BodyError(Exception):
    """A reply body that cannot be read; the message says why without quoting the body."""


class TooLarge(BodyError):
    """The decoded body would exceed the cap."""


# -- content codings ------------------------------------------------------------------------


class _Inflate:
    """One zlib stream (gzip, or deflate with or without its zlib wrapper), bounded."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._z: Any = None
        self._head = b""  # deflate: the first bytes, until they tell zlib from raw deflate
        if coding == "gzip":
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decompress `data`, producing at most `room` bytes (TooLarge beyond)."""
        if self._z is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            cmf, flg = self._head[0], self._head[1]
            wrapped = cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        if not data:
            return b""
        try:
            # max_length = room + 1: getting more than `room` proves the body too large
            # without ever holding more than that in memory.
            out: bytes = self._z.decompress(data, room + 1)
        except zlib.error:
            raise BodyError(f"the {self.coding} body is corrupt") from None
        if len(out) > room:
            raise TooLarge("decoded body too large")
        return out

    def finish(self, room: int) -> bytes:
        if self._z is None:
            if self._head:
                raise BodyError(f"the {self.coding} body ends early")
            return b""
        try:
            out: bytes = self._z.flush()
        except zlib.error:
            raise BodyError(f"the {self.coding} body is corrupt") from None
        if len(out) > room:
            raise TooLarge("decoded body too large")
        if not self._z.eof:
            raise BodyError(f"the {self.coding} body ends early")
        return out


class BoundedDecoder:
    """Undoes a reply's content codings as its bytes arrive, keeping at most `limit` bytes
    of decoded body (and of each intermediate stage) in memory."""

    def __init__(self, codings: Iterable[str], limit: int = MAX_REPLY_BYTES) -> None:
        self.limit = limit
        stages: list[_Inflate] = []
        listed = [c.strip().lower() for value in codings for c in value.split(",")]
        for coding in reversed(listed):  # codings are listed in the order they were applied
            if coding in ("", "identity"):
                continue
            if coding in ("gzip", "x-gzip"):
                stages.append(_Inflate("gzip"))
            elif coding == "deflate":
                stages.append(_Inflate("deflate"))
            else:
                shown = coding[:20].encode("ascii", "replace").decode()
                raise BodyError(f"unsupported content coding {shown!r}")
        if len(stages) > _MAX_CODINGS:
            raise BodyError(f"more than {_MAX_CODINGS} content codings")
        self._stages = stages
        self._made = [0] * len(stages)
        self._parts: list[bytes] = []
        self.size = 0

    def feed(self, data: bytes) -> None:
        for index, stage in enumerate(self._stages):
            data = stage.feed(data, self.limit - self._made[index])
            self._made[index] += len(data)
        self._keep(data)

    def finish(self) -> bytes:
        for index, stage in enumerate(self._stages):
            data = stage.finish(self.limit - self._made[index])
            self._made[index] += len(data)
            for later in range(index + 1, len(self._stages)):
                data = self._stages[later].feed(data, self.limit - self._made[later])
                self._made[later] += len(data)
            self._keep(data)
        return b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge("decoded body too large")
        self._parts.append(data)


def decode_all(body: bytes, codings: Iterable[str], limit: int = MAX_REPLY_BYTES) -> bytes:
    """`body` with its content codings undone, within `limit` (BodyError otherwise)."""
    decoder = BoundedDecoder(codings, limit)
    decoder.feed(body)
    return decoder.finish()


# -- media types and text -------------------------------------------------------------------


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """`type/subtype` in lower case and the parameters (names lower case, quotes removed)
    of a Content-Type value (RFC 9110 section 8.3.1); ("", {}) when absent."""
    if not content_type:
        return "", {}
    parts = content_type.split(";")
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, value = part.partition("=")
        if sep:
            params.setdefault(name.strip().lower(), value.strip().strip('"'))
    return parts[0].strip().lower(), params


# Text codecs Python has that are not charsets a body is written in.
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}
)


def _codec(name: str | None) -> str | None:
    """A text codec Python knows for a charset label, or None (unknown, or a bytes-to-bytes
    transform such as base64 that a label must never select)."""
    if not name or len(name) > 40:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _json_default(body: bytes) -> str:
    """RFC 4627 section 3: without a BOM, the pattern of zero bytes in the first four
    octets tells UTF-32 and UTF-16 from UTF-8."""
    head = body[:4]
    if len(head) == 4:
        if head[:3] == b"\0\0\0":
            return "utf-32-be"
        if head[1:] == b"\0\0\0":
            return "utf-32-le"
    if len(head) >= 2:
        if head[0] == 0:
            return "utf-16-be"
        if head[1] == 0:
            return "utf-16-le"
    return "utf-8"


def encoding_of(body: bytes, content_type: str | None, *, json_default: bool = False) -> str:
    """How to decode `body`: its byte-order mark, else its charset parameter, else the
    format's default (JSON: RFC 4627 detection; anything else: UTF-8)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    _, params = media_type(content_type)
    named = _codec(params.get("charset"))
    if named is not None:
        return named
    return _json_default(body) if json_default else "utf-8"


def decode_text(
    body: bytes, content_type: str | None, *, strict: bool = False, json_default: bool = False
) -> str:
    """The body as text (see encoding_of), without a leading byte-order mark. With `strict`
    a byte sequence the encoding does not allow is a BodyError, else it is replaced."""
    encoding = encoding_of(body, content_type, json_default=json_default)
    try:
        text = body.decode(encoding, "strict" if strict else "replace")
    except Exception:  # UnicodeError and whatever an odd codec raises on odd bytes
        raise BodyError(f"the body is not valid {encoding} text") from None
    return text.removeprefix("\ufeff")


# -- JSON and forms ---------------------------------------------------------------------------


def _int(digits: str) -> int | float:
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        return float("-inf") if digits.startswith("-") else float("inf")
    return int(digits)


def parse_json(text: str) -> Any:
    """A JSON value; integers too long to be a real number are read as infinite (callers
    check every number against core.bounds), and nesting too deep is a BodyError."""
    try:
        return json.loads(text, parse_int=_int)
    except RecursionError:
        raise BodyError("the JSON is nested too deeply") from None
    except ValueError:
        raise BodyError("the body is not valid JSON") from None


def parse_form(text: str) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (WHATWG URL section 5.1): names and values
    percent-decoded as UTF-8; a repeated name, a pair without `=` or too many fields is a
    BodyError."""
    try:
        pairs = parse_qsl(
            text.strip(),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        raise BodyError("the form body is malformed") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out:
            raise BodyError("the form body repeats a field")
        out[name] = value
    return out


def is_json_type(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and "+json" in media)


FORM_TYPE = "application/x-www-form-urlencoded"
