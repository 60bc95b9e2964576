"""The read path of `token-vault token` for a valid stored token: the metadata file, then one
keyring read, with no event loop, HTTP client, provider or Qt import.

On the Secret Service it reads straight through secretstorage, the library keyring's own
SecretService backend uses, the same items (attributes `service` and `username` in the default
collection). That skips keyring's plugin discovery, which imports and probes every backend it
knows (macOS and Windows ones included) and costs about 100 ms per process: a third of the
whole command. It is used only when this vault's keyring last resolved to SecretService with its
default scheme and collection (the hint file SecretStore keeps beside the metadata) and
PYTHON_KEYRING_BACKEND is unset. Anything unusual (locked, missing, an error) returns None and
the caller takes the full path through keyring, which reports problems properly."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

from vault_app.core.errors import KeyringUnavailableError
from vault_app.core.model import Account, SecretBundle
from vault_app.core.secret_store import DIRECT_HINT, SecretStore, read_hint

log = logging.getLogger(__name__)


class _Fallback(Exception):
    """Not something the direct read decides: let keyring handle it."""


class DirectSecretService:
    """Reads keyring-written Secret Service items on one D-Bus connection. Read-only."""

    name = "SecretService.Keyring"

    def __init__(self) -> None:
        self._collection: Any = None
        self._connection: Any = None

    def _open(self) -> Any:
        if self._collection is None:
            import secretstorage

            self._connection = secretstorage.dbus_init()
            collection = secretstorage.get_default_collection(self._connection)
            if collection.is_locked():
                raise _Fallback("locked")  # keyring's path prompts for the unlock
            self._collection = collection
        return self._collection

    def get_password(self, service: str, username: str) -> str | None:
        for item in self._open().search_items({"username": username, "service": service}):
            if item.is_locked():
                raise _Fallback("locked item")
            secret: bytes = item.get_secret()
            return secret.decode("utf-8")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise _Fallback("read-only")

    def delete_password(self, service: str, username: str) -> None:
        raise _Fallback("read-only")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def direct_read_possible(home: Path) -> bool:
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return False
    return read_hint(home / DIRECT_HINT) == "SecretService"


def stored_bundle(
    home: Path, vault_id: str, account: Account, timeout: float
) -> SecretBundle | None:
    """The account's current bundle read directly, or None: take the full path."""
    if account.generation == 0 or not direct_read_possible(home):
        return None
    reader = DirectSecretService()
    # No retry: a second try is the full path's business.
    store = SecretStore(vault_id, reader, timeout=timeout, retries=0)
    try:
        found = store.call(partial(store.read_current, account.id, account.generation))
        store.call(reader.close)
    except KeyringUnavailableError as exc:
        if "did not answer" in exc.message:
            raise  # stuck: going through keyring would only wait as long again
        log.debug("direct keyring read failed (%s); using keyring", exc.message)
        return None
    except Exception as exc:
        log.debug("direct keyring read failed (%s); using keyring", type(exc).__name__)
        return None
    finally:
        store.close()
    return found[1] if found else None
