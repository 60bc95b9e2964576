"""Text from outside (account names, server messages, claims, anything read from a file a
person may have edited) made safe to show in a widget: one line, no control characters, no
bidirectional overrides that reorder what follows, no lone surrogates (which Qt cannot take),
and a sane length. Widgets show it as plain text; tooltips, which Qt renders as rich text when
the text merely looks like HTML, get it escaped."""

from __future__ import annotations

import html
import re

# C0 and C1 controls, and the Unicode bidirectional embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_SHOWN = 200  # characters in a table cell or a title
MAX_TOOLTIP = 2000


def shown(text: object, limit: int = MAX_SHOWN) -> str:
    """`text` as one safe line of at most `limit` characters ("…" marks a cut)."""
    value = text if isinstance(text, str) else str(text)
    # Lone surrogates (possible in JSON) would fail Qt's conversion: replace them.
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = _UNSAFE.sub("\ufffd", value.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def paragraphs(text: object, limit: int = MAX_TOOLTIP) -> str:
    """Multi-line `text`, each line made safe as by `shown`."""
    value = text if isinstance(text, str) else str(text)
    lines = [shown(line, limit) for line in value.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def tooltip(text: object) -> str:
    """`text` for a tooltip: escaped into rich text, so markup in it is shown, not obeyed
    (and long text wraps instead of running off the screen)."""
    return "<p>" + html.escape(paragraphs(text)).replace("\n", "<br>") + "</p>"
