"""A keyring backend whose every call hangs, like one waiting on an unlock prompt nobody
answers: selected with PYTHON_KEYRING_BACKEND for the clean-quit tests. It prints a line on
stdout when a call starts hanging, so a test knows when to act without sleeping.

Never import this module into the test process: defining a KeyringBackend subclass registers it
with keyring, whose backend resolution would then pick it for every later test."""

from __future__ import annotations

import sys
import time

from keyring.backend import KeyringBackend

from tests.gui.stuck_markers import KEYRING


def _hang() -> None:
    sys.stdout.write(KEYRING + "\n")
    sys.stdout.flush()
    time.sleep(3600)


class StuckKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        _hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        _hang()

    def delete_password(self, service: str, username: str) -> None:
        _hang()
