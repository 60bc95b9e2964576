"""Keep secrets out of logs and messages: a registry of known secret values and a logging
filter that masks them wherever they appear (our loggers, httpx, httpcore).

A secret is masked in every encoding the app itself produces when it sends one (DESIGN.md
section 7): as is, percent-encoded (form bodies, RFC 6749 appendix B), JSON-escaped (JSON
bodies, with or without `\\/` and `\\uXXXX` escapes), and for client credentials the Base64
of `id:secret`, both raw and with the pair form-encoded first (RFC 6749 section 2.3.1). An
error reply that echoes our request therefore shows none of them.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
_MIN_LEN = 4  # shorter values would mask ordinary words; no real secret is that short

_lock = threading.Lock()
# Secrets currently held, by owner (an account id; "" for values read from the user). An
# owner's values are replaced as a whole, so a long-running app holds today's tokens, not
# every token it ever refreshed.
_held: dict[str, frozenset[str]] = {}
_pattern: re.Pattern[str] | None = None
_dirty = False

# Values that look secret even when we have not seen them: bearer tokens and JWTs in
# headers, Basic credentials, and secret-named parameters in JSON or form text.
_SHAPES = re.compile(
    r"(?i)(bearer\s+|"
    r"(?:token|password|secret|assertion)[\"']?\s*[:=]\s*[\"']?)"
    r"(?=[A-Za-z%._~+/=-]*\d)[A-Za-z0-9%._~+/=-]{8,}"  # with a digit: "token: expected" is prose
    r"|(?i:basic\s+)[A-Za-z0-9+/]{8,}={0,2}"
    r"|ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
)
_BASIC = re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/]{8,}={0,2}")
# Terminal escape sequences (CSI and OSC) are removed whole, not just their ESC byte.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)


def encodings(value: str) -> set[str]:
    """`value` and the forms it takes in what the app sends: percent-encoded (both form
    flavours) and JSON-escaped (ASCII-only or not, with or without escaped slashes)."""
    forms = {value, quote(value, safe=""), quote_plus(value, safe="")}
    for ascii_only in (True, False):
        escaped = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        forms.update((escaped, escaped.replace("/", "\\/")))
    return forms


def basic_credentials(user: str, secret: str) -> set[str]:
    """The Base64 forms of HTTP Basic credentials for this pair: of `user:secret` as is and
    of the pair form-encoded first (RFC 6749 section 2.3.1, what the app sends)."""
    pairs = {
        f"{user}:{secret}",
        f"{quote(user, safe='')}:{quote(secret, safe='')}",
        f"{quote_plus(user, safe='')}:{quote_plus(secret, safe='')}",
    }
    return {base64.b64encode(pair.encode()).decode() for pair in pairs}


def register(values: Iterable[str | None], owner: str = "") -> None:
    """Remember secret values so the filter masks them from now on. With an `owner`, they
    replace that owner's earlier values; without one, they are added to the user's."""
    global _dirty
    kept = frozenset(form for v in values if v and len(v) >= _MIN_LEN for form in encodings(v))
    with _lock:
        if owner:
            if _held.get(owner) == kept:
                return
            _held[owner] = kept
        else:
            if kept <= _held.get("", frozenset()):
                return
            _held[""] = _held.get("", frozenset()) | kept
        _dirty = True


def register_basic(user: str, secret: str) -> None:
    """Remember the Basic credentials made from this pair (kept with the user's values)."""
    if secret and len(secret) >= _MIN_LEN:
        register(basic_credentials(user, secret))


def _current_pattern() -> re.Pattern[str] | None:
    """The alternation of every held secret, rebuilt only after the set changed."""
    global _pattern, _dirty
    with _lock:
        if _dirty:
            values = set().union(*_held.values()) if _held else set()
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(values, key=len, reverse=True)
            _pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
            _dirty = False
        return _pattern


def redact(text: str) -> str:
    """`text` with every held secret and every token-shaped value masked."""
    pattern = _current_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _SHAPES.sub(_mask_shape, text)


def _mask_shape(match: re.Match[str]) -> str:
    basic = _BASIC.fullmatch(match.group(0))
    if basic is not None:
        return basic.group(1) + MASK
    return (match.group(1) or "") + MASK


def one_line(text: str, limit: int = 160) -> str:
    """Text from outside made fit for a message, a log line, a terminal or a widget: every
    secret masked first (so no cut leaves half of one), terminal escapes removed, every
    character that is not printable (controls, format characters, line separators,
    unassigned code points) turned into a space, runs of space collapsed, and at most
    `limit` characters."""
    text = _ESCAPES.sub("", redact(text))
    # Not printable: Unicode's "Other" (controls, format characters such as the bidi
    # overrides, surrogates, private use, unassigned) and separators other than the space.
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's final message; args are folded in first so none escapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not leak its args either
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            # Formatters print exc_text when set, so the traceback goes out masked.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install(handler: logging.Handler) -> None:
    """Attach the filter to a handler: handler filters see records from every logger."""
    handler.addFilter(RedactingFilter())
