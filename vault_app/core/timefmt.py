"""Times as users read them: ISO 8601 UTC for machines, "in 12m" / "3m ago" for people.

Never raises, whatever it is given: a time that is not sane (not a finite number, not after
1970, more than 10 years ahead: core/bounds.py's `moment`) is shown as unknown (None, or the
`unknown` text), so one odd value cannot break a listing or a widget."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone

from vault_app.core import bounds


def iso_utc(timestamp: float | None) -> str | None:
    """`2030-01-02T03:04:05Z`, or None when the time is unknown or not sane."""
    when = bounds.moment(timestamp)
    if when is None:
        return None
    return (
        datetime.fromtimestamp(when, timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def span(seconds: float) -> str:
    """A duration in the two largest units: 45s, 12m 05s, 3h 20m, 14d 2h ("?" when it is
    not a finite number)."""
    finite = bounds.number(seconds)
    if finite is None:
        return "?"
    seconds = int(abs(finite))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def ago(timestamp: float | None, now: float, *, unknown: str = "-") -> str:
    """How long ago, to the minute once past the first one ("just now", "5m ago", "2h 05m
    ago"): a time that changes once a minute, not every second."""
    if not math.isfinite(now):
        return unknown
    when = bounds.moment(timestamp, now)
    if when is None:
        return unknown
    seconds = max(now - when, 0)
    if seconds < 60:
        return "just now"
    return f"{span(seconds - seconds % 60).removesuffix(' 00s')} ago"


def relative(timestamp: float | None, now: float | None = None, *, unknown: str = "-") -> str:
    """ "in 12m 05s" or "3h 20m ago", or `unknown` when the time is unknown or not sane."""
    now = time.time() if now is None else now
    if not math.isfinite(now):
        return unknown
    when = bounds.moment(timestamp, now)
    if when is None:
        return unknown
    delta = when - now
    return f"in {span(delta)}" if delta >= 0 else f"{span(delta)} ago"
