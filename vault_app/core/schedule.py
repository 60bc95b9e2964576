"""When to refresh: the settings of the refresh engine and the deadline of one account. Kept
apart from engine.py (and its event loop) so the window can draw countdown colours before
asyncio is even imported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vault_app.core import bounds
from vault_app.core.model import Account, Status

if TYPE_CHECKING:
    from vault_app.core.account_store import VaultDoc

DAY = 86400.0


@dataclass(frozen=True)
class EngineSettings:
    ahead_fraction: float = 0.25  # refresh when less than this share of the lifetime is left
    ahead_min: float = 60.0  # ... or less than this many seconds, whichever is more
    jitter_fraction: float = 0.10  # up to this share of the lifetime earlier, per account
    recheck: float = 30.0  # the longest sleep: wall-clock deadlines are re-read this often
    backoff_min: float = 2.0
    backoff_max: float = 300.0
    backoff_jitter: float = 0.2  # a delay is between (1 - this) and 1 times its step
    max_in_flight: int = 8
    # A refresh token is renewed by signing in again this long before it lapses.
    refresh_token_margin: float = 2 * DAY
    # Never refresh an account again sooner than this after its last refresh: a server
    # handing out tokens that live a second or less (or a clock misread into that) gets a
    # request every 2 s, not a storm. `token`, Copy and Show still refresh on demand.
    min_interval: float = 2.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EngineSettings:
        """From the vault's settings (names as in DEFAULT_SETTINGS); a missing one, or one
        that is not a number in its range, takes its default."""

        def pick(name: str, default: float, low: float, high: float) -> float:
            value = bounds.number(settings.get(name))
            return value if value is not None and low <= value <= high else default

        return cls(
            ahead_fraction=pick("refresh_ahead_fraction", cls.ahead_fraction, 0.0, 0.9),
            ahead_min=pick("refresh_ahead_min_seconds", cls.ahead_min, 0.0, DAY),
            jitter_fraction=pick("refresh_jitter_fraction", cls.jitter_fraction, 0.0, 0.5),
        )

    @classmethod
    def from_doc(cls, doc: VaultDoc) -> EngineSettings:
        return cls.from_settings(doc.settings)


def refresh_at(account: Account, settings: EngineSettings, jitter: float) -> float | None:
    """When the account's access token should be refreshed, or None (nothing to schedule,
    or a stored expiry no clock can reach: bounds.representable)."""
    expires = bounds.representable(account.access_expires_at)
    if expires is None or account.status in (Status.SIGNED_OUT, Status.SIGN_IN_NEEDED):
        return None
    issued = bounds.representable(account.last_refresh_at)
    if issued is None or issued > expires:
        issued = expires
    lifetime = max(expires - issued, 0.0)
    ahead = max(settings.ahead_min, settings.ahead_fraction * lifetime)
    if lifetime:
        # A token barely longer than the minimum would be due the moment it arrives, and
        # refreshed again and again: never refresh before half its life.
        ahead = min(ahead, lifetime / 2)
    due = expires - ahead - settings.jitter_fraction * lifetime * jitter
    if account.last_refresh_at is not None and issued < expires:
        due = max(due, issued + settings.min_interval)
    return due
