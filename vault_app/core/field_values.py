"""Checks of non-secret field values where they enter the vault (add, edit, import), on top
of each provider's own: text without control or format characters (it reaches terminals,
headers and widgets), and dates and lifetimes within core/bounds.py's horizon, so no absurd
time is ever stored."""

from __future__ import annotations

from collections.abc import Mapping

from vault_app.core import bounds
from vault_app.core.errors import UsageError
from vault_app.core.providers.base import FieldKind, Provider, parse_date
from vault_app.core.text import check_printable


def check_field_values(provider: Provider, fields: Mapping[str, str]) -> None:
    """UsageError naming the first field whose value is not acceptable; `fields` are values
    as normalize_fields returns them."""
    for name, value in fields.items():
        check_printable(name, value)
        spec = provider.field(name)
        if spec is None or not value:
            continue
        if spec.kind is FieldKind.DATE and bounds.moment(parse_date(name, value)) is None:
            raise UsageError(f"{name}: {value!r} is not a date between 1970 and 10 years ahead")
        if spec.kind is FieldKind.INTEGER and bounds.duration(_whole(value)) is None:
            raise UsageError(f"{name}: {value!r} is not a number of seconds up to 10 years")


def _whole(text: str) -> int | None:
    # ASCII digits only: str.isdigit() also takes other scripts' digits and superscripts.
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)
