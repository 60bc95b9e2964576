"""Logging for every front end: stderr, level from $TOKEN_VAULT_LOG (default WARNING), and the
redaction filter on the handler so no secret reaches a log line."""

from __future__ import annotations

import logging
import os
import sys

from vault_app.core import redact


class _PrintableFormatter(logging.Formatter):
    """Each line of a record as a terminal may show it: control characters from outside
    (server messages, names) written as escapes, never acted on (core/text.py)."""

    def format(self, record: logging.LogRecord) -> str:
        from vault_app.core.text import printable

        return "\n".join(printable(line) for line in super().format(record).split("\n"))


def setup() -> None:
    # Only a level's name: any other attribute of the logging module (BASIC_FORMAT, root)
    # ended every command with a traceback.
    named = os.environ.get("TOKEN_VAULT_LOG", "").strip().upper()
    level = named if named in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "WARNING"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact.install(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level))
