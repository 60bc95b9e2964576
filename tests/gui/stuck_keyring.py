"""A keyring backend whose every call hangs, like one waiting on an unlock prompt nobody
answers: selected with PYTHON_KEYRING_BACKEND for the clean-quit test."""

from __future__ import annotations

import time

from keyring.backend import KeyringBackend


class StuckKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3600)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(3600)

    def delete_password(self, service: str, username: str) -> None:
        time.sleep(3600)
