"""Times as users read them: ISO 8601 UTC for machines, "in 12m" / "3m ago" for people."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def iso_utc(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return (
        datetime.fromtimestamp(timestamp, timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def span(seconds: float) -> str:
    """A duration in the two largest units: 45s, 12m 05s, 3h 20m, 14d 2h."""
    seconds = int(abs(seconds))
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
    if timestamp is None:
        return unknown
    seconds = max(now - timestamp, 0)
    if seconds < 60:
        return "just now"
    return f"{span(seconds - seconds % 60).removesuffix(' 00s')} ago"


def relative(timestamp: float | None, now: float | None = None, *, unknown: str = "-") -> str:
    if timestamp is None:
        return unknown
    delta = timestamp - (time.time() if now is None else now)
    return f"in {span(delta)}" if delta >= 0 else f"{span(delta)} ago"
