"""The vault's known settings: one line each, with its type, range and default. Kept free of
heavy imports: the window reads the defaults before its first paint. The metadata file's
schema (vault_schema.py) checks stored values against this table; settings it does not list
are kept as they are (a newer version's, or another front end's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """`kind` is bool, int, float, str, or a typed container such as list[str] or
    dict[str, int]; `low` / `high` bound numbers (inclusive); `choices` lists the allowed
    texts. A `default` of None means the reader decides. For example:
    `"sort_order": Setting("ascending", str, choices=("ascending", "descending"))`,
    `"column_widths": Setting({}, dict[str, int])`."""

    default: Any
    kind: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


SETTINGS: dict[str, Setting] = {
    "refresh_ahead_fraction": Setting(0.25, float, 0.0, 0.9),
    "refresh_ahead_min_seconds": Setting(60, float, 0, 86400),
    "refresh_jitter_fraction": Setting(0.10, float, 0.0, 0.5),
    "clipboard_seconds": Setting(30, int, 0, 86400),
    "copy_format": Setting("raw", str, choices=("raw", "bearer", "header")),
    "start_minimized": Setting(False, bool),
    "autostart": Setting(False, bool),
    "notifications": Setting(True, bool),
    "request_deadline": Setting(30, float, 1, 600),  # seconds for one whole HTTP request
    "keyring_chunk_limit": Setting(None, int, 128, 10_000_000),  # secret_store.py
    # The window's own: colour scheme, size and place (Base64 of QWidget.saveGeometry), the
    # table's column widths (px, by column title) and sort, the toolbar, and the accounts the
    # tray's Copy menu lists (pinned in order; recently copied, newest first).
    "colour_scheme": Setting("system", str, choices=("system", "light", "dark")),
    "window_geometry": Setting("", str),
    "column_widths": Setting({}, dict[str, int]),
    "sort_column": Setting("Name", str),
    "sort_order": Setting("ascending", str, choices=("ascending", "descending")),
    "toolbar_visible": Setting(True, bool),
    "pinned_accounts": Setting([], list[str]),
    "recent_accounts": Setting([], list[str]),
}

DEFAULT_SETTINGS: dict[str, Any] = {
    name: spec.default for name, spec in SETTINGS.items() if spec.default is not None
}
