"""A keyring backend for CLI tests (PYTHON_KEYRING_BACKEND=tests.cli.refusing_keyring.Keyring):
the session's Secret Service, except that every delete fails while the file named by
$TOKEN_VAULT_TEST_REFUSE_DELETES exists, as a stuck or misbehaving keyring's would."""

from __future__ import annotations

import os

from keyring.backends import SecretService


class Keyring(SecretService.Keyring):
    def delete_password(self, service: str, username: str) -> None:
        marker = os.environ.get("TOKEN_VAULT_TEST_REFUSE_DELETES", "")
        if marker and os.path.exists(marker):
            raise RuntimeError("org.freedesktop.DBus.Error.NoReply: did not receive a reply")
        super().delete_password(service, username)
