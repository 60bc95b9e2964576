"""When to refresh: the settings of the refresh engine and the deadline of one account. Kept
apart from engine.py (and its event loop) so the window can draw countdown colours before
asyncio is even imported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EngineSettings:
        """From the vault's settings (names as in DEFAULT_SETTINGS; missing ones default)."""
        return cls(
            ahead_fraction=float(settings.get("refresh_ahead_fraction", cls.ahead_fraction)),
            ahead_min=float(settings.get("refresh_ahead_min_seconds", cls.ahead_min)),
            jitter_fraction=float(settings.get("refresh_jitter_fraction", cls.jitter_fraction)),
        )

    @classmethod
    def from_doc(cls, doc: VaultDoc) -> EngineSettings:
        return cls.from_settings(doc.settings)


def refresh_at(account: Account, settings: EngineSettings, jitter: float) -> float | None:
    """When the account's access token should be refreshed, or None (nothing to schedule)."""
    expires = account.access_expires_at
    if expires is None or account.status in (Status.SIGNED_OUT, Status.SIGN_IN_NEEDED):
        return None
    issued = account.last_refresh_at if account.last_refresh_at is not None else expires
    lifetime = max(expires - issued, 0.0)
    ahead = max(settings.ahead_min, settings.ahead_fraction * lifetime)
    if lifetime:
        # A token barely longer than the minimum would be due the moment it arrives, and
        # refreshed again and again: never refresh before half its life.
        ahead = min(ahead, lifetime / 2)
    return expires - ahead - settings.jitter_fraction * lifetime * jitter
