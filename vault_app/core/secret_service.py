"""The Secret Service (gnome-keyring, KWallet's Secret Service) over one kept D-Bus connection.

keyring's own SecretService backend opens a new D-Bus connection, finds the collection and
negotiates a new encrypted session on every call: about 26 ms a read here, most of a refresh's
keyring cost. This backend stores the very same items (the attributes and label keyring gives
them: `service`, `username`, `application`, in the default collection) through secretstorage,
the library keyring uses, but keeps the connection, the collection and the session open on the
keyring thread, the only thread that calls it (SecretStore's executor).

A call that fails on a kept connection (the daemon restarted, the bus went away, the session is
gone) closes it and is tried once more on a new one; a failure there is raised to SecretStore,
which maps it to a one-line KeyringUnavailableError. It is used only where keyring itself
resolved to its SecretService backend with the default scheme and collection (secret_store.py);
every other backend goes through keyring's API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from vault_app.core.errors import KeyringUnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")

# What keyring's SecretService backend writes: the same items, readable by either.
APPLICATION = "Python keyring library"


class NoSuchItemError(KeyError):
    """delete_password of an item that is not there (keyring's PasswordDeleteError)."""


class SecretServiceBackend:
    """keyring's get/set/delete_password and a listing, on one kept connection."""

    def __init__(self, name: str = "SecretService.Keyring") -> None:
        self.name = name
        self._connection: Any = None
        self._collection: Any = None
        self.connections_opened = 0  # for tests and diagnostics

    # -- the connection -------------------------------------------------------------------

    def _open(self) -> Any:
        if self._collection is not None:
            return self._collection
        import secretstorage
        from secretstorage.util import open_session

        connection = secretstorage.dbus_init()
        try:
            collection = secretstorage.get_default_collection(connection)
            if collection.is_locked():
                collection.unlock()  # the desktop's unlock prompt, as keyring would show
                if collection.is_locked():
                    raise KeyringUnavailableError(
                        "the keyring is locked: unlock it (e.g. log in to the desktop "
                        "session) and try again"
                    )
            # One encrypted session for every item of this connection (secretstorage would
            # otherwise open one per item it reads).
            collection.session = open_session(connection)
        except BaseException:
            connection.close()
            raise
        self._connection, self._collection = connection, collection
        self.connections_opened += 1
        return collection

    def close(self) -> None:
        connection, self._connection, self._collection = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # already broken: nothing left to close
                log.debug("closing the Secret Service connection: %s", type(exc).__name__)

    def _call(self, operation: Callable[[Any], T]) -> T:
        """`operation(collection)` on the kept connection; on a failure, once more on a new
        one (every operation here is idempotent). A collection locked since the connection
        was opened is asked to unlock there (the desktop's prompt, as keyring asks on every
        call); one that stays locked is final."""
        for attempt in (1, 2):
            reused = self._collection is not None
            collection = self._open()
            try:
                return operation(collection)
            except (KeyringUnavailableError, NoSuchItemError):
                raise
            except Exception as exc:
                self.close()
                if attempt == 2 or not reused:
                    raise
                log.info(
                    "Secret Service connection failed (%s); opening a new one",
                    type(exc).__name__,
                )
        raise AssertionError("unreachable")

    def ready(self) -> None:
        """Raise what a write would if the keyring cannot take one now: the daemon gone, or
        the collection locked and not unlocked at the prompt. One D-Bus round trip."""
        self._call(lambda collection: collection.ensure_not_locked())

    # -- keyring's API --------------------------------------------------------------------

    def get_password(self, service: str, username: str) -> str | None:
        def read(collection: Any) -> str | None:
            for item in collection.search_items({"username": username, "service": service}):
                secret: bytes = item.get_secret()
                return secret.decode("utf-8")
            return None

        return self._call(read)

    def set_password(self, service: str, username: str, password: str) -> None:
        def write(collection: Any) -> None:
            collection.create_item(
                f"Password for '{username}' on '{service}'",
                {"username": username, "service": service, "application": APPLICATION},
                password.encode("utf-8"),
                replace=True,
            )

        self._call(write)

    def delete_password(self, service: str, username: str) -> None:
        def delete(collection: Any) -> None:
            for item in collection.search_items({"username": username, "service": service}):
                item.delete()
                return
            raise NoSuchItemError(username)

        self._call(delete)

    def usernames(self, service: str) -> list[str]:
        """Every item's username under `service` (see secret_store.Listing)."""

        def listing(collection: Any) -> list[str]:
            return [
                str(item.get_attributes().get("username", ""))
                for item in collection.search_items({"service": service})
            ]

        return self._call(listing)
