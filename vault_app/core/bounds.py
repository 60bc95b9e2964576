"""Sanity bounds for numbers from outside (server replies, JWT claims, the metadata file, the
command line): a time or a lifetime that is not finite, negative, or beyond HORIZON is not
trusted, and callers treat it as "unknown" (or a usage error), never store it as is
(DESIGN.md section 5, "Clocks")."""

from __future__ import annotations

import math
import time
from typing import Any

# About 10 years, in seconds: no token lives longer, and a timestamp this far ahead is a
# misread unit (milliseconds for seconds) or a hostile value.
HORIZON = 10 * 366 * 86400.0
# 2001-09-09 (10^9 s): the earliest timestamp any token or refresh of ours can carry.
EPOCH_FLOOR = 1_000_000_000.0
# 10000-01-01: the first time Python's datetime (and so every listing) cannot show.
YEAR_10000 = 253_402_300_800.0


def number(value: Any) -> float | None:
    """`value` as a finite float when it is an int or float (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        result = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return result if math.isfinite(result) else None


def duration(value: Any) -> float | None:
    """A lifetime in seconds, 0 < value <= HORIZON, from a number; None otherwise."""
    seconds = number(value)
    if seconds is None or seconds <= 0 or seconds > HORIZON:
        return None
    return seconds


def timestamp(value: Any, now: float | None = None) -> float | None:
    """A UTC POSIX time in seconds within [EPOCH_FLOOR, now + HORIZON]; None otherwise."""
    when = number(value)
    if when is None:
        return None
    now = time.time() if now is None else now
    if when < EPOCH_FLOOR or when > now + HORIZON:
        return None
    return when


def representable(value: Any) -> float | None:
    """A UTC POSIX time every display can show (1970 to year 9999), from a number; None
    otherwise. For times already stored, which a person may have typed far ahead (2099 for
    "never"): finite and showable is all a listing needs."""
    when = number(value)
    if when is None or when < 0 or when >= YEAR_10000:
        return None
    return when


def moment(value: Any, now: float | None = None) -> float | None:
    """A stored or displayed UTC POSIX time: after 1970 and at most HORIZON past `now`;
    None otherwise. Looser than `timestamp` (a date the user typed may lie before 2001), still
    refusing what is not a time at all (not finite, negative, milliseconds, 1e300)."""
    when = number(value)
    if when is None or when <= 0:
        return None
    now = time.time() if now is None else now
    return when if when <= now + HORIZON else None
