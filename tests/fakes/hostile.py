"""A hostile token endpoint: replies from a CATALOGUE of named cases, each a kind of fault seen
in real servers, bug reports or attacks (issue 10), and the outcome the vault must reach.

A case reshapes what a provider fake answers (tests/fakes/base.py and its subclasses), in that
provider's dialect (its field names): by default the fake really runs (it rotates its refresh
token, issues real JWTs) and then its reply is bent, exactly as a server that did its work
and answered oddly; `processed=False` cases answer without the fake doing anything (errors,
redirects, echoes). Raw cases write the response bytes themselves: their own status line and
headers (no Date unless asked), framing, compression and timing.

The kinds: numbers (lifetimes and JWT times that are not numbers, not finite, negative,
absurd or in the wrong unit), clocks (a server 40 minutes behind or ahead, with and without a
Date header or an iat; tokens expired on arrival), encodings (forms, byte-order marks,
charsets, content codings, sniffing), bodies (malformed, truncated, nested, not objects),
sizes (huge, endless, gzip bombs, huge headers), timing (dripping, hanging, dropping,
short bodies), redirects, echoes of the request (secrets in it), 2xx replies carrying an
error, error descriptions with escapes and controls, token syntax (CR LF, spaces, controls,
non-ASCII, wrong types, oversize), token types (DPoP, MAC, URIs, lower-case bearer), and
statuses (Retry-After forms, odd codes).
"""

from __future__ import annotations

import enum
import functools
import json
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from email.utils import formatdate
from io import BufferedIOBase
from typing import Any

from tests.fakes.base import ProviderFake
from tests.fakes.server import Fault, Reply, Request

MINUTE = 60.0
SKEW = 40 * MINUTE  # the broker clock, 40 minutes off
YEAR = 365 * 86400.0


class Outcome(str, enum.Enum):
    SUCCESS = "success"  # stored, served, with a sane expiry
    TRANSIENT = "transient"  # TransientError (exit 5), retried with backoff
    REJECTED = "rejected"  # RejectedError (exit 4): sign-in needed
    MISCONFIGURED = "misconfigured"  # MisconfiguredError (exit 5): retrying will not fix it


@dataclass(frozen=True)
class Dialect:
    """How one provider's token replies are shaped (None: the provider has no such field)."""

    kind: str
    access: str
    refresh: str | None
    lifetime: str | None
    refresh_lifetime: str | None
    token_type: str | None

    def name(self, placeholder: str) -> str:
        """A field's name in this dialect; a field it lacks keeps a common spelling (the
        provider should ignore it)."""
        mapped = {
            "ACCESS": self.access,
            "REFRESH": self.refresh or "refresh_token",
            "LIFETIME": self.lifetime or "expires_in",
            "REFRESH_LIFETIME": self.refresh_lifetime or "refresh_token_expires_in",
            "TYPE": self.token_type or "token_type",
        }
        return mapped.get(placeholder, placeholder)


DIALECTS = {
    "alor": Dialect("alor", "AccessToken", None, None, None, None),
    "apirone": Dialect("apirone", "access-token", "refresh-token", None, None, None),
    "oauth2": Dialect(
        "oauth2",
        "access_token",
        "refresh_token",
        "expires_in",
        "refresh_token_expires_in",
        "token_type",
    ),
    "traderevolution": Dialect(
        "traderevolution",
        "access_token",
        "refresh_token",
        "expires_in",
        "refresh_token_expires_in",
        "token_type",
    ),
}


# -- raw replies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A response written byte by byte: status line, headers as given (no Date unless in
    them), then the body; `length` None leaves Content-Length out (the connection's end
    ends the body), `drip` seconds between body bytes, `stream` more body until the
    client gives up or the server stops."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    reason: str = "OK"
    length: int | bool | None = True  # True: the body's own length
    drip: float = 0.0
    stream: Callable[[], Iterator[bytes]] | None = None
    chunked: bool = False

    def reply(self) -> Reply:
        return Reply(self.status, writer=self)

    def __call__(self, out: BufferedIOBase, stop: threading.Event) -> None:
        head = [f"HTTP/1.1 {self.status} {self.reason}"]
        head += [f"{name}: {value}" for name, value in self.headers]
        if self.chunked:
            head.append("Transfer-Encoding: chunked")
        elif self.length is True:
            head.append(f"Content-Length: {len(self.body)}")
        elif isinstance(self.length, int) and not isinstance(self.length, bool):
            head.append(f"Content-Length: {self.length}")
        head.append("Connection: close")
        out.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        out.flush()
        if self.drip:
            for index in range(len(self.body)):
                if stop.wait(self.drip):
                    return
                out.write(self.body[index : index + 1])
                out.flush()
            return
        if self.chunked:
            for piece in (self.body, *(self.stream() if self.stream else ())):
                if stop.is_set():
                    return
                if piece:
                    out.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            out.write(b"0\r\n\r\n")
            return
        out.write(self.body)
        if self.stream is not None:
            for piece in self.stream():
                if stop.is_set():
                    return
                out.write(piece)


def _zeros(total: int, chunk: int = 1 << 16) -> Callable[[], Iterator[bytes]]:
    def pieces() -> Iterator[bytes]:
        sent = 0
        block = bytes(chunk)
        while sent < total:
            yield block
            sent += chunk

    return pieces


@functools.lru_cache(maxsize=2)
def gzip_bomb(size: int = 1 << 30) -> bytes:
    """Under 1 MiB of gzip that expands to `size` bytes of zeros (a multiple of 16 MiB).
    Made in a fraction of a second: 16 MiB of zeros compressed and fully flushed (which
    resets the compressor, so the same bytes stand for every further 16 MiB), repeated."""
    block = bytes(16 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush(zlib.Z_FINISH)
    count = size // len(block)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # RFC 1952, no name, no time
    trailer = struct.pack("<II", crc, (count * len(block)) & 0xFFFFFFFF)
    return header + piece * count + end + trailer


def http_date(when: float) -> str:
    return formatdate(when, usegmt=True)


# -- the context a case works in -----------------------------------------------------------


class Context:
    """One request to the hostile server: the genuine reply (when the fake ran), the
    provider's dialect, and the fake itself (to sign and register JWTs)."""

    def __init__(
        self, request: Request, genuine: Reply | None, dialect: Dialect, fake: ProviderFake
    ) -> None:
        self.request = request
        self.genuine = genuine
        self.dialect = dialect
        self.fake = fake

    def body(self) -> dict[str, Any]:
        """The genuine reply's fields (a copy), or freshly minted ones nobody registered."""
        if self.genuine is not None and isinstance(self.genuine.body, dict):
            copied: dict[str, Any] = json.loads(json.dumps(self.genuine.body))
            return copied
        now = int(self.fake.now())
        minted: dict[str, Any] = {
            self.dialect.access: self.fake.sign(
                {"sub": "hostile", "iat": now, "exp": now + 600, "jti": secrets.token_hex(8)}
            )
        }
        if self.dialect.refresh:
            minted[self.dialect.refresh] = secrets.token_urlsafe(32)
        if self.dialect.lifetime:
            minted[self.dialect.lifetime] = 600
        if self.dialect.token_type:
            minted[self.dialect.token_type] = "Bearer"
        return minted

    def set(self, data: dict[str, Any], placeholder: str, value: Any) -> dict[str, Any]:
        name = self.dialect.name(placeholder)
        if value is _DROP:
            data.pop(name, None)
        else:
            data[name] = value
        return data

    def reissue(self, data: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> None:
        """Replace the access JWT in `data` by one with changed claims, signed by the fake and
        registered as the same grant (active for as long as the original)."""
        original = data[self.dialect.access]
        claims = json.loads(json.dumps(self.fake.verify(original)))
        change(claims)
        token = self.fake.sign(claims)
        with self.fake.lock:
            record = self.fake.access_tokens.get(original)
            if record is not None:
                self.fake.access_tokens[token] = replace(record, token=token, claims=claims)
                self.fake.families[record.family].access_tokens.append(token)
            self.fake.known_secrets.add(token)
        data[self.dialect.access] = token

    def json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return Reply(
            status, json.dumps(data), {"Content-Type": "application/json", **(headers or {})}
        )

    def date(self, offset: float = 0.0) -> tuple[str, str]:
        return ("Date", http_date(self.fake.now() + offset))


_DROP: Any = object()
Build = Callable[[Context], Reply]


@dataclass(frozen=True)
class Case:
    """One catalogue entry: what the server sends and what the vault must make of it."""

    name: str
    kind: str
    outcome: Outcome
    build: Build
    processed: bool = True  # the fake really ran (rotated, issued) before the odd reply
    needs: frozenset[str] = frozenset()  # dialect fields the case is about
    life: tuple[float, float] | None = (540.0, 620.0)  # SUCCESS: seconds left on arrival
    says: str = ""  # a fragment the one-line message must contain
    never: tuple[str, ...] = ()  # fragments it must not contain
    slow: bool = False  # ends only at the request deadline
    prepare: Callable[[], object] | None = None  # slow set-up, done before the request

    def applies(self, dialect: Dialect) -> bool:
        return all(getattr(dialect, need) is not None for need in self.needs)

    def fault(self, dialect: Dialect, fake: ProviderFake) -> Fault:
        def transform(request: Request, genuine: Reply | None) -> Reply:
            return self.build(Context(request, genuine, dialect, fake))

        return Fault.transformed(transform, after_processing=self.processed)


# -- builders ------------------------------------------------------------------------------


def fields(**changes: Any) -> Build:
    """The body with fields changed (placeholders ACCESS, REFRESH, LIFETIME, TYPE,
    REFRESH_LIFETIME map to the dialect's names; _DROP removes)."""

    def build(ctx: Context) -> Reply:
        data = ctx.body()
        for placeholder, value in changes.items():
            ctx.set(data, placeholder, value)
        return ctx.json(data)

    return build


def literal(placeholder: str, text: str, *, keep_lifetime: bool = True) -> Build:
    """The body with one field holding raw JSON text (1e400, NaN, 400-digit integers)."""

    def build(ctx: Context) -> Reply:
        data = ctx.body()
        name = ctx.dialect.name(placeholder)
        data.pop(name, None)
        if not keep_lifetime and ctx.dialect.lifetime:
            data.pop(ctx.dialect.lifetime, None)
        body = json.dumps(data)[:-1] + f', "{name}": {text}}}'
        return Reply(200, body, {"Content-Type": "application/json"})

    return build


def claims(change: Callable[[dict[str, Any]], None], *, keep_lifetime: bool = False) -> Build:
    """The body with the access JWT's claims changed (and, unless kept, no lifetime field,
    so the JWT decides)."""

    def build(ctx: Context) -> Reply:
        data = ctx.body()
        ctx.reissue(data, change)
        if not keep_lifetime and ctx.dialect.lifetime:
            data.pop(ctx.dialect.lifetime, None)
        return ctx.json(data)

    return build


def skewed(offset: float, *, date: bool, iat: bool = True, lifetime: float | None = None) -> Build:
    """A server whose clock is `offset` seconds off ours: its JWT times (and its Date header,
    when sent) are shifted; `lifetime` re-times exp = iat + lifetime."""

    def change(found: dict[str, Any]) -> None:
        issued = int(found["iat"])
        life = int(found["exp"]) - issued if lifetime is None else lifetime
        found["iat"] = int(issued + offset)
        found["exp"] = int(issued + offset + life)
        if not iat:
            found.pop("iat")

    def build(ctx: Context) -> Reply:
        data = ctx.body()
        ctx.reissue(data, change)
        if ctx.dialect.lifetime:
            data.pop(ctx.dialect.lifetime, None)
        headers = [("Content-Type", "application/json")]
        if date:
            headers.append(ctx.date(offset))
        return Raw(200, json.dumps(data).encode(), tuple(headers)).reply()

    return build


def dated(base: Build, offset: float) -> Build:
    """`base`'s reply with a Date header `offset` seconds off the server's clock (a front
    proxy whose clock is wrong, while the token issuer behind it is right)."""

    def build(ctx: Context) -> Reply:
        reply = base(ctx)
        reply.headers["Date"] = http_date(ctx.fake.now() + offset)
        return reply

    return build


def reissued_with_lifetime(change: Callable[[dict[str, Any]], None], lifetime: Any) -> Build:
    """The access JWT's claims changed, sent with this lifetime field."""

    def build(ctx: Context) -> Reply:
        data = ctx.body()
        ctx.reissue(data, change)
        ctx.set(data, "LIFETIME", lifetime)
        return ctx.json(data)

    return build


def raw_body(
    body: bytes | Callable[[Context], bytes],
    content_type: str | None = "application/json",
    *,
    status: int = 200,
    encoding: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
    date: bool = True,
    **raw: Any,
) -> Build:
    def build(ctx: Context) -> Reply:
        data = body(ctx) if callable(body) else body
        headers: list[tuple[str, str]] = []
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        if encoding is not None:
            headers.append(("Content-Encoding", encoding))
        if date:
            headers.append(ctx.date())
        headers.extend(extra)
        return Raw(status, data, tuple(headers), **raw).reply()

    return build


def genuine_bytes(ctx: Context, encoding: str = "utf-8") -> bytes:
    return json.dumps(ctx.body(), ensure_ascii=False).encode(encoding)


def gzipped(data: bytes, wbits: int = zlib.MAX_WBITS | 16) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def form_body(ctx: Context) -> bytes:
    from urllib.parse import urlencode

    data = ctx.body()
    return urlencode({k: str(v) for k, v in data.items() if v is not None}).encode()


def status(code: int, body: Any, headers: dict[str, str] | None = None) -> Build:
    def build(ctx: Context) -> Reply:
        return ctx.json(body, code, headers)

    return build


def echo(code: int, content_type: str = "application/json") -> Build:
    """An error reply that quotes the whole request back: headers and body."""

    def build(ctx: Context) -> Reply:
        request = ctx.request
        # What carries secrets first, so that no cut to a message's length hides them.
        order = sorted(request.headers, key=lambda n: n not in ("authorization", "token"))
        head = "\r\n".join(f"{name}: {request.headers[name]}" for name in order)
        body = request.body.decode("utf-8", "replace")
        quoted = f"{body}\r\n{head}\r\n{request.method} {request.target}"
        if content_type == "application/json":
            data = {"error": "invalid_client", "error_description": quoted, "message": quoted}
            return ctx.json(data, code)
        return Reply(code, quoted, {"Content-Type": content_type})

    return build


def redirect(code: int, location: Callable[[Context], str]) -> Build:
    def build(ctx: Context) -> Reply:
        return ctx.json(ctx.body(), code, {"Location": location(ctx)})

    return build


def with_header(name: str, value: str | Callable[[Context], str]) -> Build:
    """The genuine JSON with one more header (a Date replaces the server's own)."""

    def build(ctx: Context) -> Reply:
        reply = fields()(ctx)
        reply.headers[name] = value(ctx) if callable(value) else value
        return reply

    return build


def no_date(base: Build) -> Build:
    """`base`'s JSON, sent without a Date header."""

    def build(ctx: Context) -> Reply:
        reply = base(ctx)
        body = reply.body if isinstance(reply.body, (bytes, str)) else json.dumps(reply.body)
        data = body.encode() if isinstance(body, str) else body
        return Raw(200, data, (("Content-Type", "application/json"),)).reply()

    return build


def _deep(depth: int) -> Callable[[Context], bytes]:
    def body(ctx: Context) -> bytes:
        text = json.dumps(ctx.body())
        return (text[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}").encode()

    return body


def _padded(size: int) -> Callable[[Context], bytes]:
    def body(ctx: Context) -> bytes:
        data = ctx.body()
        data["padding"] = "x" * size
        return json.dumps(data).encode()

    return body


S, T, R, M = Outcome.SUCCESS, Outcome.TRANSIENT, Outcome.REJECTED, Outcome.MISCONFIGURED
LIFE = frozenset({"lifetime"})
TYPE = frozenset({"token_type"})
REFRESH = frozenset({"refresh"})
ANSI = "\x1b[31mALERT\x1b[0m \x1b]0;pwned\x07"


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(found: dict[str, Any]) -> None:
        found[name] = value

    return change


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    def change(found: dict[str, Any]) -> None:
        found.pop(name, None)

    return change


def _exp_from_now(seconds: float, *, iat: bool = True) -> Callable[[dict[str, Any]], None]:
    def change(found: dict[str, Any]) -> None:
        found["exp"] = int(time.time() + seconds)
        if not iat:
            found.pop("iat", None)

    return change


def _same(found: dict[str, Any]) -> None:
    """Claims left as issued (a reissue that only drops the lifetime field)."""


def _issued_ago(ago: float, life: float) -> Callable[[dict[str, Any]], None]:
    def change(found: dict[str, Any]) -> None:
        found["iat"] = int(time.time() - ago)
        found["exp"] = int(time.time() - ago + life)

    return change


def _exp_ms(found: dict[str, Any]) -> None:
    found["exp"] = int(found["exp"]) * 1000


CATALOGUE: tuple[Case, ...] = (
    # -- numbers: lifetimes ------------------------------------------------------------------
    Case("expires_in-1e400", "numbers", S, literal("LIFETIME", "1e400")),
    Case("expires_in-Infinity-string", "numbers", S, fields(LIFETIME="Infinity")),
    Case("expires_in-Infinity-literal", "numbers", S, literal("LIFETIME", "Infinity")),
    Case("expires_in-NaN", "numbers", S, literal("LIFETIME", "NaN")),
    Case("expires_in-1e12", "numbers", S, fields(LIFETIME=1e12)),
    Case("expires_in-negative", "numbers", S, fields(LIFETIME=-3600)),
    Case("expires_in-zero", "numbers", S, fields(LIFETIME=0)),
    Case("expires_in-true", "numbers", S, fields(LIFETIME=True)),
    Case("expires_in-null", "numbers", S, fields(LIFETIME=None)),
    Case("expires_in-object", "numbers", S, fields(LIFETIME={"seconds": 600})),
    Case("expires_in-400-digits", "numbers", S, literal("LIFETIME", "9" * 400)),
    Case("expires_in-5000-digits", "numbers", S, literal("LIFETIME", "9" * 5000)),
    Case("expires_in-exponent-string", "numbers", S, fields(LIFETIME="6e2")),
    Case("expires_in-decimal-string", "numbers", S, fields(LIFETIME="600"), needs=LIFE),
    # Milliseconds: 600,000 "seconds" is a week, the JWT's own exp says 10 minutes.
    Case("expires_in-milliseconds-jwt", "numbers", S, fields(LIFETIME=600_000), needs=LIFE),
    # Below the JWT's own 600 s: a longer lifetime than the JWT's exp gives is capped by it.
    Case("expires_in-float", "numbers", S, fields(LIFETIME=300.5), needs=LIFE, life=(290, 301)),
    Case("refresh-lifetime-1e400", "numbers", S, literal("REFRESH_LIFETIME", "1e400")),
    Case("refresh-lifetime-negative", "numbers", S, fields(REFRESH_LIFETIME=-1)),
    # -- numbers: JWT claims (no lifetime field: the JWT or the last lifetime decides) -------
    Case("exp-milliseconds", "numbers", S, claims(_exp_ms)),
    Case("exp-string", "numbers", S, claims(lambda c: c.update(exp=str(c["exp"])))),
    Case("exp-float", "numbers", S, claims(lambda c: c.update(exp=c["exp"] + 0.5))),
    Case("exp-bool", "numbers", S, claims(_set("exp", True))),
    Case("exp-null", "numbers", S, claims(_set("exp", None))),
    Case("exp-missing", "numbers", S, claims(_drop("exp"))),
    Case("exp-negative", "numbers", S, claims(_set("exp", -5))),
    Case("exp-huge-int", "numbers", S, claims(_set("exp", 10**30))),
    Case("iat-absurd", "numbers", S, claims(_set("iat", 10**12))),
    Case("iat-after-exp", "numbers", S, claims(lambda c: c.update(iat=c["exp"] + 3600))),
    Case("iat-string", "numbers", S, claims(_set("iat", "yesterday"))),
    # -- clocks ------------------------------------------------------------------------------
    Case("server-40min-behind-with-date", "clocks", S, skewed(-SKEW, date=True)),
    Case("server-40min-behind-no-date", "clocks", S, skewed(-SKEW, date=False)),
    Case("server-40min-ahead-with-date", "clocks", S, skewed(SKEW, date=True)),
    Case("server-40min-ahead-no-date", "clocks", S, skewed(SKEW, date=False)),
    Case(
        "alor-broker-behind-30min-token",
        "clocks",
        S,
        skewed(-SKEW, date=True, lifetime=30 * MINUTE),
        life=(1740, 1810),
    ),
    Case(
        "alor-broker-behind-30min-token-no-date",
        "clocks",
        S,
        skewed(-SKEW, date=False, lifetime=30 * MINUTE),
        life=(1740, 1810),
    ),
    Case(
        "issuer-40min-behind-date-right",  # a front proxy's Date, a skewed token issuer
        "clocks",
        S,
        claims(lambda c: c.update(iat=c["iat"] - SKEW, exp=c["iat"] - SKEW + 1800)),
        life=(1790, 1801),
    ),
    Case(
        "expired-on-arrival-no-date-no-iat",
        "clocks",
        T,
        no_date(claims(_exp_from_now(-10 * MINUTE, iat=False))),
        says="clock",
    ),
    Case(
        "expired-by-its-own-date",
        "clocks",
        T,
        claims(_exp_from_now(-MINUTE, iat=False)),
        says="clock",
    ),
    # A front proxy's Date behind, the issuer right: a token lives no longer than exp - iat.
    Case("date-40min-behind-issuer-right", "clocks", S, dated(claims(_same), -SKEW)),
    Case("date-1-year-behind-issuer-right", "clocks", S, dated(claims(_same), -YEAR)),
    # A gateway's cached JWT (issued 50 minutes ago, 10 left) sent with a fresh expires_in.
    Case(
        "cached-jwt-with-fresh-expires_in",
        "clocks",
        S,
        reissued_with_lifetime(_issued_ago(50 * MINUTE, 60 * MINUTE), 3600),
        needs=LIFE,
    ),
    Case("date-garbage", "clocks", S, with_header("Date", "yesterday at noon")),
    Case("date-year-9999", "clocks", S, with_header("Date", "Fri, 31 Dec 9999 23:59:59 GMT")),
    Case("date-1970", "clocks", S, with_header("Date", "Thu, 01 Jan 1970 00:00:00 GMT")),
    Case(
        "date-skewed-but-expires_in",
        "clocks",
        S,
        with_header("Date", lambda c: http_date(c.fake.now() - SKEW)),
        needs=LIFE,
    ),
    # -- encodings ---------------------------------------------------------------------------
    Case(
        "form-urlencoded", "encodings", S, raw_body(form_body, "application/x-www-form-urlencoded")
    ),
    Case(
        "form-urlencoded-charset",
        "encodings",
        S,
        raw_body(form_body, "application/x-www-form-urlencoded; charset=utf-8"),
    ),
    Case("utf8-bom", "encodings", S, raw_body(lambda c: b"\xef\xbb\xbf" + genuine_bytes(c))),
    Case(
        "utf8-bom-with-charset",
        "encodings",
        S,
        raw_body(lambda c: b"\xef\xbb\xbf" + genuine_bytes(c), "application/json; charset=utf-8"),
    ),
    Case("utf16-bom", "encodings", S, raw_body(lambda c: genuine_bytes(c, "utf-16"))),
    Case(
        "utf16le-charset",
        "encodings",
        S,
        raw_body(lambda c: genuine_bytes(c, "utf-16-le"), "application/json; charset=UTF-16LE"),
    ),
    Case("utf32-no-bom", "encodings", S, raw_body(lambda c: genuine_bytes(c, "utf-32-be"))),
    Case(
        "latin1-charset",
        "encodings",
        S,
        raw_body(genuine_bytes, 'application/json; charset="ISO-8859-1"'),
    ),
    Case(
        "charset-base64",
        "encodings",
        S,
        raw_body(genuine_bytes, "application/json; charset=base64"),
    ),
    Case(
        "charset-rot13", "encodings", S, raw_body(genuine_bytes, "application/json; charset=rot13")
    ),
    Case(
        "charset-unknown",
        "encodings",
        S,
        raw_body(genuine_bytes, "application/json; charset=x-klingon"),
    ),
    Case("json-as-text-plain", "encodings", S, raw_body(genuine_bytes, "text/plain")),
    Case("json-without-content-type", "encodings", S, raw_body(genuine_bytes, None)),
    Case("json-vendor-type", "encodings", S, raw_body(genuine_bytes, "application/vnd.api+json")),
    Case("gzip", "encodings", S, raw_body(lambda c: gzipped(genuine_bytes(c)), encoding="gzip")),
    Case(
        "deflate-zlib",
        "encodings",
        S,
        raw_body(lambda c: gzipped(genuine_bytes(c), zlib.MAX_WBITS), encoding="deflate"),
    ),
    Case(
        "deflate-raw",
        "encodings",
        S,
        raw_body(lambda c: gzipped(genuine_bytes(c), -zlib.MAX_WBITS), encoding="deflate"),
    ),
    Case(
        "gzip-twice",
        "encodings",
        S,
        raw_body(lambda c: gzipped(gzipped(genuine_bytes(c))), encoding="gzip, gzip"),
    ),
    Case("chunked", "encodings", S, raw_body(genuine_bytes, chunked=True)),
    Case("no-content-length", "encodings", S, raw_body(genuine_bytes, length=None)),
    Case("scope-with-controls", "encodings", S, fields(scope="read\r\nwrite\x1b[31m")),
    # -- bodies that cannot be read -----------------------------------------------------------
    Case("truncated-json", "bodies", T, raw_body(lambda c: genuine_bytes(c)[:-5])),
    Case(
        "invalid-utf8",
        "bodies",
        T,
        raw_body(lambda c: genuine_bytes(c)[:-1] + b', "x": "\xff\xfe"}'),
    ),
    Case("html-200", "bodies", T, raw_body(b"<html><body>Welcome</body></html>", "text/html")),
    Case("empty-200", "bodies", T, raw_body(b"")),
    Case("json-array", "bodies", T, raw_body(b"[1, 2, 3]")),
    Case("json-string", "bodies", T, raw_body(b'"access_token"')),
    Case("json-nested-100k", "bodies", T, raw_body(_deep(100_000))),
    Case("unknown-content-coding", "bodies", T, raw_body(genuine_bytes, encoding="br")),
    Case(
        "corrupt-gzip",
        "bodies",
        T,
        raw_body(b"\x1f\x8b\x08\x00garbage-not-deflate", encoding="gzip"),
    ),
    Case(
        "truncated-gzip",
        "bodies",
        T,
        raw_body(lambda c: gzipped(genuine_bytes(c))[:-12], encoding="gzip"),
    ),
    Case("no-token-fields", "bodies", T, fields(ACCESS=_DROP), says="without"),
    # -- sizes -------------------------------------------------------------------------------
    Case(
        "declared-200MiB",
        "sizes",
        T,
        raw_body(b"{", length=200 << 20, stream=_zeros(200 << 20)),
        says="larger than",
    ),
    Case(
        "endless-chunked",
        "sizes",
        T,
        raw_body(b"{", chunked=True, stream=_zeros(200 << 20)),
        says="larger than",
    ),
    Case("json-2MiB", "sizes", T, raw_body(_padded(2 << 20)), says="larger than"),
    Case(
        "gzip-2MiB-json",
        "sizes",
        T,
        raw_body(lambda c: gzipped(_padded(2 << 20)(c)), encoding="gzip"),
        says="larger than",
    ),
    Case(
        "gzip-bomb-1GiB",
        "sizes",
        T,
        raw_body(lambda c: gzip_bomb(), encoding="gzip"),
        says="larger than",
        prepare=gzip_bomb,
    ),
    Case("header-200KB", "sizes", T, raw_body(genuine_bytes, extra=(("X-Big", "a" * 200_000),))),
    # -- timing ------------------------------------------------------------------------------
    Case("drip-1-byte-per-0.3s", "timing", T, raw_body(genuine_bytes, drip=0.3), slow=True),
    Case("hang-after-request", "timing", T, lambda c: Reply(action="hang"), slow=True),
    Case("drop-after-request", "timing", T, lambda c: Reply(action="drop")),
    Case(
        "short-body",
        "timing",
        T,
        raw_body(genuine_bytes, length=100_000),
        says="closed the connection",
    ),
    # -- redirects (never followed, never a success) ------------------------------------------
    Case(
        "301-to-trailing-slash",
        "redirects",
        M,
        redirect(301, lambda c: c.request.path + "/"),
        processed=False,
        says="redirect to",
    ),
    Case(
        "302-elsewhere",
        "redirects",
        M,
        redirect(302, lambda c: "https://user:pw@evil.example/steal?token=abc#x"),
        processed=False,
        says="evil.example/steal",
        never=("token=abc", "user:pw"),
    ),
    Case("307-relative", "redirects", M, redirect(307, lambda c: "../other"), processed=False),
    Case("308-no-location", "redirects", M, status(308, {}), processed=False),
    # -- echoes of the request ----------------------------------------------------------------
    Case("echo-400-json", "echoes", R, echo(400), processed=False),
    Case("echo-401-json", "echoes", R, echo(401), processed=False),
    Case("echo-500-json", "echoes", T, echo(500), processed=False),
    Case("echo-400-text", "echoes", R, echo(400, "text/plain"), processed=False),
    Case("echo-200-text", "echoes", T, echo(200, "text/plain"), processed=False),
    # -- 2xx carrying an error ----------------------------------------------------------------
    Case(
        "200-invalid_grant", "errors", R, status(200, {"error": "invalid_grant"}), processed=False
    ),
    Case(
        "200-bad_refresh_token",
        "errors",
        R,
        status(
            200, {"error": "bad_refresh_token", "error_description": "The refresh token is bad."}
        ),
        processed=False,
        says="bad_refresh_token",
    ),
    Case(
        "200-error-object",
        "errors",
        R,
        status(200, {"error": {"code": "unauthorized", "message": "expired session"}}),
        processed=False,
    ),
    Case(
        "200-temporarily_unavailable",
        "errors",
        T,
        status(200, {"error": "temporarily_unavailable"}),
        processed=False,
    ),
    Case(
        "200-invalid_request",
        "errors",
        M,
        status(200, {"error": "invalid_request"}),
        processed=False,
    ),
    Case(
        "200-error-and-token",
        "errors",
        R,
        lambda c: c.json({**c.body(), "error": "invalid_grant"}),
        processed=False,
    ),
    Case("200-error-empty", "errors", S, fields(error="")),
    Case("200-error-zero", "errors", S, fields(error=0)),
    # -- error descriptions from outside --------------------------------------------------------
    Case(
        "description-escapes-and-crlf",
        "errors",
        R,
        status(
            400, {"error": "invalid_grant", "error_description": f"bad\r\n{ANSI}\x00\u202e" * 3}
        ),
        processed=False,
        never=("\x1b", "\x00", "\u202e", "pwned\x07", "\r", "\n"),
    ),
    Case(
        "description-50KiB",
        "errors",
        R,
        status(401, {"error": "invalid_grant", "error_description": "x" * 50_000}),
        processed=False,
    ),
    # -- token syntax -------------------------------------------------------------------------
    Case(
        "access-crlf-injection",
        "syntax",
        T,
        fields(ACCESS="abc\r\nX-Injected: 1"),
        says="line break",
    ),
    Case("access-lf", "syntax", T, fields(ACCESS="abcdef\nghijkl"), says="line break"),
    Case("access-space", "syntax", T, fields(ACCESS="abc def"), says="space"),
    Case("access-nul", "syntax", T, fields(ACCESS="abc\x00def"), says="control"),
    Case("access-escape", "syntax", T, fields(ACCESS="abc\x1b[2Jdef"), says="control"),
    Case("access-non-ascii", "syntax", T, fields(ACCESS="tökén"), says="non-ASCII"),
    Case("access-empty", "syntax", T, fields(ACCESS=""), says="without"),
    Case("access-number", "syntax", T, fields(ACCESS=12345678), says="not a string"),
    Case("access-object", "syntax", T, fields(ACCESS={"token": "x"}), says="not a string"),
    Case("access-20KiB", "syntax", T, fields(ACCESS="a" * 20_000), says="longer than"),
    Case(
        "refresh-crlf",
        "syntax",
        T,
        fields(REFRESH="r1\r\nX-Injected: 1"),
        needs=REFRESH,
        says="line break",
    ),
    Case("refresh-number", "syntax", T, fields(REFRESH=42), needs=REFRESH),
    Case("type-crlf", "syntax", T, fields(TYPE="Bearer\r\nX-Injected: 1"), needs=TYPE),
    Case("type-number", "syntax", T, fields(TYPE=7), needs=TYPE),
    Case("type-dpop", "types", M, fields(TYPE="DPoP"), needs=TYPE, processed=False, says="DPoP"),
    Case("type-mac", "types", M, fields(TYPE="mac"), needs=TYPE, processed=False, says="MAC"),
    Case(
        "type-uri",
        "types",
        M,
        fields(TYPE="urn:ietf:params:oauth:token-type:jwt"),
        needs=TYPE,
        processed=False,
    ),
    Case("type-bearer-lowercase", "types", S, fields(TYPE="bearer"), needs=TYPE),
    Case("type-absent", "types", S, fields(TYPE=_DROP), needs=TYPE),
    # -- statuses ----------------------------------------------------------------------------
    Case(
        "429-retry-after-huge",
        "statuses",
        T,
        status(429, {"error": "slow_down"}, {"Retry-After": "9" * 40}),
        processed=False,
    ),
    Case(
        "429-retry-after-superscript",
        "statuses",
        T,
        status(429, {"error": "slow_down"}, {"Retry-After": "\u00b2"}),
        processed=False,
    ),
    Case(
        "503-retry-after-date",
        "statuses",
        T,
        status(503, {}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        processed=False,
    ),
    Case("418", "statuses", M, status(418, {"message": "I'm a teapot"}), processed=False),
    Case("204-no-content", "statuses", T, raw_body(b"", None, status=204, reason="No Content")),
    Case("599", "statuses", T, status(599, {}), processed=False),
    Case("reason-phrase-garbage", "statuses", S, raw_body(genuine_bytes, reason="\x7f\x01 ok")),
)

BY_NAME = {case.name: case for case in CATALOGUE}
assert len(BY_NAME) == len(CATALOGUE), "catalogue names must be unique"


def kinds() -> dict[str, int]:
    """How many cases of each kind the catalogue holds."""
    counts: dict[str, int] = {}
    for case in CATALOGUE:
        counts[case.kind] = counts.get(case.kind, 0) + 1
    return counts


def cases_for(kind: str) -> list[Case]:
    """The cases that apply to a provider kind's dialect."""
    dialect = DIALECTS[kind]
    return [case for case in CATALOGUE if case.applies(dialect)]
