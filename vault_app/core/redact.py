"""Keep secrets out of logs and messages: a registry of known secret values and a logging
filter that masks them wherever they appear (our loggers, httpx, httpcore)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "********"
_MIN_LEN = 4  # shorter values would mask ordinary words; no real secret is that short

_lock = threading.Lock()
# Secrets currently held, by owner (an account id; "" for values read from the user). An
# owner's values are replaced as a whole, so a long-running app holds today's tokens, not
# every token it ever refreshed.
_held: dict[str, frozenset[str]] = {}
_pattern: re.Pattern[str] | None = None
_dirty = False

# Values that look secret even when we have not seen them: bearer tokens and JWTs in headers.
_SHAPES = re.compile(
    r"(?i)(bearer\s+|token[\"']?\s*[:=]\s*[\"']?|password[\"']?\s*[:=]\s*[\"']?)"
    r"(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}"  # with a digit: "token: expected" is prose
    r"|ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
)


def register(values: Iterable[str | None], owner: str = "") -> None:
    """Remember secret values so the filter masks them from now on. With an `owner`, they
    replace that owner's earlier values; without one, they are added to the user's."""
    global _dirty
    kept = frozenset(v for v in values if v and len(v) >= _MIN_LEN)
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
    return _SHAPES.sub(lambda m: (m.group(1) or "") + MASK, text)


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
