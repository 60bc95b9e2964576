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
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Values that look secret even when we have not seen them: bearer tokens and JWTs in headers.
_SHAPES = re.compile(
    r"(?i)(bearer\s+|token[\"']?\s*[:=]\s*[\"']?|password[\"']?\s*[:=]\s*[\"']?)"
    r"(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}"  # with a digit: "token: expected" is prose
    r"|ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
)


def register(values: Iterable[str | None]) -> None:
    """Remember secret values so the filter can mask them from now on."""
    global _pattern
    with _lock:
        added = {v for v in values if v and len(v) >= _MIN_LEN} - _secrets
        if not added:
            return
        _secrets.update(added)
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """`text` with every registered secret and every token-shaped value masked."""
    pattern = _pattern
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
