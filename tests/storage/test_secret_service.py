"""The Secret Service backend on one kept connection (core/secret_service.py), against real
gnome-keyring daemons: the items are keyring's own, one connection serves every call, and a
daemon that restarts under it costs one reconnect, not a failure."""

from __future__ import annotations

import secrets
from functools import partial

import keyring
import pytest
from keyring.backends import SecretService

from tests.conftest import PrivateKeyring
from vault_app.core.model import SecretBundle, TokenSet
from vault_app.core.secret_service import NoSuchItemError, SecretServiceBackend
from vault_app.core.secret_store import SecretStore


def test_items_are_keyrings_own_and_one_connection_serves_them(
    on_private_keyring: PrivateKeyring,
) -> None:
    service = f"token-vault:{secrets.token_hex(8)}"
    backend = SecretServiceBackend()
    theirs = SecretService.Keyring()
    try:
        backend.set_password(service, "acct:1", "written-by-us")
        assert theirs.get_password(service, "acct:1") == "written-by-us"
        theirs.set_password(service, "acct:2", "written-by-keyring")
        assert backend.get_password(service, "acct:2") == "written-by-keyring"
        assert sorted(backend.usernames(service)) == ["acct:1", "acct:2"]
        backend.set_password(service, "acct:1", "replaced")  # replaces, never duplicates
        assert backend.usernames(service).count("acct:1") == 1
        assert theirs.get_password(service, "acct:1") == "replaced"
        backend.delete_password(service, "acct:1")
        assert theirs.get_password(service, "acct:1") is None
        with pytest.raises(NoSuchItemError):
            backend.delete_password(service, "acct:1")
        assert backend.get_password(service, "never-written") is None
        assert backend.connections_opened == 1
    finally:
        backend.close()
        for username in ("acct:1", "acct:2"):
            if theirs.get_password(service, username) is not None:
                theirs.delete_password(service, username)


def test_a_restarted_daemon_costs_one_reconnect(on_private_keyring: PrivateKeyring) -> None:
    service = f"token-vault:{secrets.token_hex(8)}"
    backend = SecretServiceBackend()
    try:
        backend.set_password(service, "acct:1", "before-the-restart")
        assert backend.connections_opened == 1
        on_private_keyring.restart()
        # The kept connection's session and daemon are gone: the call reconnects by itself.
        assert backend.get_password(service, "acct:1") == "before-the-restart"
        assert backend.connections_opened == 2
        backend.set_password(service, "acct:2", "after-the-restart")
        assert backend.get_password(service, "acct:2") == "after-the-restart"
        assert backend.connections_opened == 2
    finally:
        backend.close()


def test_a_daemon_that_stays_away_is_a_keyring_error(on_private_keyring: PrivateKeyring) -> None:
    backend = SecretServiceBackend()
    store = SecretStore("v" * 8, backend, timeout=30, retries=0)
    try:
        store.call(partial(store.write_bundle, "acct", 1, SecretBundle({"token": "t"})))
        on_private_keyring.stop_daemon()
        with pytest.raises(Exception, match="keyring error"):
            store.call(partial(store.read_bundle, "acct", 1))
        on_private_keyring.start()
        found = store.call(partial(store.read_bundle, "acct", 1))
        assert found is not None and found.secrets == {"token": "t"}
    finally:
        store.close()


def test_the_system_keyring_resolves_to_the_kept_connection(secret_service: None) -> None:
    """Where keyring picks its SecretService backend with the default scheme and
    collection, SecretStore uses the same items over one connection."""
    assert isinstance(keyring.get_keyring(), SecretService.Keyring)
    store = SecretStore(secrets.token_hex(8))
    try:
        backend = store.call(store.backend)
        assert isinstance(backend, SecretServiceBackend)
        assert backend.name == "SecretService.Keyring"
        bundle = SecretBundle({"token": "t"}, TokenSet(access_token="a" * 40))
        store.call(partial(store.write_bundle, "acct", 1, bundle))
        assert keyring.get_password(store.service, "acct:1") is not None
        store.call(partial(store.delete_raw, "acct", 1))
        assert keyring.get_password(store.service, "acct:1") is None
        assert backend.connections_opened == 1
    finally:
        store.close()
