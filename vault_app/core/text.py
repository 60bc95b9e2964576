"""Text from outside on its way to a terminal or into the vault: names, field values, server
messages, JWT claims. A character str.isprintable() refuses (C0 and C1 controls such as the ESC
that starts a terminal escape sequence, CR and LF, bidi overrides and other format characters,
line separators, lone surrogates from undecodable input) is either refused where the text
enters, or written as a visible escape (\\x1b, \\u202e) where it is shown."""

from __future__ import annotations

from vault_app.core.errors import UsageError

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every unprintable character written as a visible escape; text that is
    printable already (almost all of it) comes back as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def first_unprintable(text: str) -> str | None:
    """The escape of the first unprintable character in `text`, or None."""
    if text.isprintable():
        return None
    return next(_escape(ch) for ch in text if not ch.isprintable())


def check_printable(label: str, value: str) -> str:
    """`value`, or a UsageError naming `label` when it holds an unprintable character."""
    bad = first_unprintable(value)
    if bad is not None:
        raise UsageError(f"{label}: control and format characters are not allowed (found {bad})")
    return value
