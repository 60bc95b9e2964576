"""Logging for every front end: stderr, level from $TOKEN_VAULT_LOG (default WARNING), and the
redaction filter on the handler so no secret reaches a log line."""

from __future__ import annotations

import logging
import os
import sys

from vault_app.core import redact


def setup() -> None:
    level = os.environ.get("TOKEN_VAULT_LOG", "WARNING").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact.install(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.WARNING))
