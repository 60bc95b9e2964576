"""Vault: the operations a user asks for (add, edit, token, refresh, revoke, remove), built on
the account store, the secret store, the providers and the HTTP client.

Every change to an account's secrets follows one path (`_locked` + `_commit`): take the
in-process and cross-process account locks, re-read the stored generation (another process may
have refreshed already), act, write generation N+1 and verify it, switch the metadata to N+1,
then delete what it replaces. A crash at any point leaves a generation that holds the newest
tokens the server handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from vault_app.core.account_store import AccountStore, VaultDoc, check_name
from vault_app.core.errors import (
    MisconfiguredError,
    NoSuchAccountError,
    RejectedError,
    TransientError,
    UsageError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.http import Http, SentButNoAnswerError
from vault_app.core.model import Account, SecretBundle, Status, TokenSet
from vault_app.core.providers.base import (
    AccountConfig,
    Provider,
    RevokeOutcome,
    check_complete,
    check_secrets,
    get_provider,
    normalize_fields,
)
from vault_app.core.secret_store import (
    DEFAULT_CHUNK_LIMIT,
    DIRECT_HINT,
    Backend,
    SecretStore,
    configured_timeout,
)
from vault_app.core.vault_slots import request_done

if TYPE_CHECKING:
    from vault_app.core.sign_in import SignInView

log = logging.getLogger(__name__)

# How long `token` and `refresh` wait for another process holding the account's lock.
LOCK_TIMEOUT = 90.0


@dataclass
class Loaded:
    """An account re-read under its lock, with the generation its secrets came from."""

    account: Account
    generation: int
    bundle: SecretBundle


class Vault:
    def __init__(
        self,
        home: Path | None = None,
        *,
        backend: Backend | None = None,
        chunk_limit: int | None = None,
        keyring_timeout: float | None = None,
    ) -> None:
        self.store = AccountStore(home)
        self.http = Http()
        self._backend = backend
        self._chunk_limit = chunk_limit or _env_number("TOKEN_VAULT_CHUNK_LIMIT") or None
        self._keyring_timeout = keyring_timeout or configured_timeout()
        self._secrets: SecretStore | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self.longest_lock_hold = 0.0  # seconds, for diagnostics and the crash test

    # -- plumbing -------------------------------------------------------------------------

    def secrets(self, doc: VaultDoc | None = None) -> SecretStore:
        """The secret store for this vault (its id names the keyring service)."""
        doc = doc or self.store.load()
        if self._secrets is None:
            limit = int(self._chunk_limit or doc.setting("keyring_chunk_limit") or 0)
            self._secrets = SecretStore(
                doc.vault_id,
                self._backend,
                chunk_limit=limit or DEFAULT_CHUNK_LIMIT,
                timeout=self._keyring_timeout,
                hint_file=self.store.home / DIRECT_HINT,
            )
        # A vault file created since (by us or another process) brings its own id.
        self._secrets.vault_id = doc.vault_id
        return self._secrets

    async def aclose(self) -> None:
        await self.http.aclose()
        if self._secrets is not None:
            self._secrets.close()

    def load(self) -> VaultDoc:
        return self.store.load()

    def read_current_sync(self, account: Account) -> SecretBundle | None:
        """The newest stored bundle, without locks: for the fast read path of `token`."""
        store = self.secrets()
        for _attempt in range(3):
            found = store.call(partial(store.read_current, account.id, account.generation))
            if found is not None or account.generation == 0:
                return found[1] if found else None
            # Two refreshes by another process may have come and gone since we read the
            # metadata; the generation we looked for is deleted. Read the metadata again.
            account = self.store.load().by_id(account.id)
        raise VaultFileError(f"{account.name}: its secrets are missing from the keyring")

    @contextlib.asynccontextmanager
    async def _locked(self, account_id: str) -> AsyncIterator[Loaded]:
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            file_lock = self.store.async_account_lock(account_id, timeout=LOCK_TIMEOUT)
            try:
                await file_lock.acquire()
            except TimeoutError:
                raise UserFacingError(
                    "another Token Vault process has held this account for "
                    f"{LOCK_TIMEOUT:g} s; try again"
                ) from None
            acquired = time.monotonic()
            try:
                account = self.store.load().by_id(account_id)
                store = self.secrets()
                found = await store.acall(
                    lambda: store.read_current(account_id, account.generation)
                )
                if found is None and account.generation > 0:
                    raise VaultFileError(
                        f"{account.name}: its secrets are missing from the keyring"
                    )
                generation, bundle = found if found else (account.generation, SecretBundle())
                yield Loaded(account, generation, bundle)
            finally:
                await file_lock.release()
                held = time.monotonic() - acquired
                self.longest_lock_hold = max(self.longest_lock_hold, held)
                log.debug("account %s: lock held for %.0f ms", account_id, held * 1000)

    async def _commit(
        self, loaded: Loaded, bundle: SecretBundle, change: Callable[[Account], None]
    ) -> Account:
        """Store `bundle` as a new generation and apply `change` to the metadata with it."""
        store = self.secrets()
        old = loaded.account.generation
        new = max(old, loaded.generation) + 1
        await store.acall(lambda: store.write_bundle(loaded.account.id, new, bundle))

        def switch(doc: VaultDoc) -> Account:
            account = doc.by_id(loaded.account.id)
            account.generation = new
            account.secret_fields = sorted(bundle.secrets)
            change(account)
            return account

        try:
            account = await self.store.aupdate(switch)
        except NoSuchAccountError:
            await store.acall(lambda: store.delete_raw(loaded.account.id, new))
            raise
        for stale in range(max(old, 1), new):
            await store.acall(partial(store.delete_raw, loaded.account.id, stale))
        return account

    async def _set_meta(self, account_id: str, change: Callable[[Account], None]) -> Account:
        def apply(doc: VaultDoc) -> Account:
            account = doc.by_id(account_id)
            change(account)
            return account

        return await self.store.aupdate(apply)

    # -- operations -----------------------------------------------------------------------

    async def add(
        self,
        name: str,
        kind: str,
        fields: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        sign_in: bool = True,
        require_secrets: bool = True,
    ) -> tuple[Account, UserFacingError | None]:
        """Create an account; its first sign-in failing keeps the account and reports why.
        `require_secrets=False` (import) creates it without secrets, signed out."""
        name = check_name(name)
        provider = get_provider(kind)
        clean = normalize_fields(provider, fields, complete=True)
        check_secrets(provider, secrets)
        if require_secrets:
            clean = await provider.discover(self.http, AccountConfig(clean, secrets))
            check_complete(provider, clean, secrets)
            provider.validate(AccountConfig(clean, secrets))
        if any(a.name == name for a in self.store.load().accounts):
            raise UsageError(f"an account named {name!r} exists already")
        # An unusable keyring is refused before anything, the vault file included, is written.
        probe = self.secrets()
        await probe.acall(probe.backend)
        doc = self.store.ensure_created()
        bundle = SecretBundle(secrets={k: v for k, v in secrets.items() if v})
        # Generation 0 means "no keyring item yet"; the first commit writes generation 1.
        generation = 1 if bundle.secrets else 0
        account = Account(
            id=uuid.uuid4().hex, name=name, provider=kind, fields=clean, generation=generation
        )
        account.refresh_expires_at = _field_expiry(account)
        account.secret_fields = sorted(bundle.secrets)
        store = self.secrets(doc)
        if generation:
            await store.acall(lambda: store.write_bundle(account.id, 1, bundle))

        def insert(doc: VaultDoc) -> None:
            if any(a.name == name for a in doc.accounts):
                raise UsageError(f"an account named {name!r} exists already")
            doc.accounts.append(account)

        try:
            self.store.update(insert)
        except UserFacingError:
            if generation:
                await store.acall(lambda: store.delete_raw(account.id, 1))
            raise
        if not sign_in or not bundle.secrets or provider.interactive(AccountConfig(clean, {})):
            return account, None  # an interactive grant signs in through login()
        try:
            account, _ = await self._renew(account.id, force=True, fresh_sign_in=True)
        except UserFacingError as exc:
            return self.store.load().by_id(account.id), exc
        return account, None

    async def edit(
        self, name: str, fields: Mapping[str, str], secrets: Mapping[str, str]
    ) -> tuple[Account, UserFacingError | None]:
        """Change fields and secrets, then sign in again with them. Tokens from before are
        kept until that sign-in replaces them: a failed edit never loses a refresh token."""
        account = self.store.load().find(name)
        provider = get_provider(account.provider)
        clean = normalize_fields(provider, fields, complete=False)
        check_secrets(provider, secrets)
        if not clean and not secrets:
            raise UsageError("nothing to change: give --set, --secret or --secret-file")
        async with self._locked(account.id) as loaded:
            merged_fields = {**loaded.account.fields, **clean}
            merged_fields = {
                k: v for k, v in merged_fields.items() if v != "" or _has_default(provider, k)
            }
            merged_secrets = {**loaded.bundle.secrets, **secrets}
            merged_secrets = {k: v for k, v in merged_secrets.items() if v != ""}
            merged_fields = await provider.discover(
                self.http, AccountConfig(merged_fields, merged_secrets)
            )
            check_complete(provider, merged_fields, merged_secrets)
            provider.validate(AccountConfig(merged_fields, merged_secrets))
            replaced_token = any(k in provider.token_fields for k in secrets)
            tokens = None if replaced_token else loaded.bundle.tokens
            bundle = SecretBundle(secrets=merged_secrets, tokens=tokens)

            def change(acc: Account) -> None:
                acc.fields = merged_fields
                acc.refresh_expires_at = _field_expiry(acc)

            edited = await self._commit(loaded, bundle, change)
        if provider.interactive(AccountConfig(merged_fields, {})):
            return edited, None  # the caller runs login(): only the person can sign in
        try:
            updated, _ = await self._renew(account.id, force=True, fresh_sign_in=True)
        except UserFacingError as exc:
            return self.store.load().by_id(account.id), exc
        return updated, None

    async def token(
        self, name: str, *, min_valid: float = 0, force: bool = False
    ) -> tuple[Account, TokenSet]:
        """A token valid for at least `min_valid` seconds (unknown expiry counts as valid),
        refreshed first when needed."""
        account = self.store.load().find(name)
        if not force:
            store = self.secrets()
            found = await store.acall(lambda: store.read_current(account.id, account.generation))
            tokens = found[1].tokens if found else None
            if tokens is not None and _fresh(tokens, min_valid):
                return account, tokens
        return await self._renew(account.id, force=force, min_valid=min_valid)

    async def refresh(self, name: str) -> tuple[Account, TokenSet]:
        """Refresh now, whatever the remaining lifetime."""
        return await self.force_refresh(self.store.load().find(name).id)

    async def ensure_fresh(self, account_id: str, min_valid: float) -> tuple[Account, TokenSet]:
        """Refresh unless the stored token (re-read under the lock: another process may have
        refreshed it) stays valid for `min_valid` seconds. The engine's entry point."""
        return await self._renew(account_id, force=False, min_valid=min_valid)

    async def force_refresh(self, account_id: str) -> tuple[Account, TokenSet]:
        return await self._renew(account_id, force=True)

    async def sign_in_again(self, account_id: str) -> tuple[Account, TokenSet]:
        """A fresh sign-in with the stored credentials (before a refresh token lapses)."""
        return await self._renew(account_id, force=True, fresh_sign_in=True)

    async def _renew(
        self,
        account_id: str,
        *,
        force: bool,
        min_valid: float = 0,
        fresh_sign_in: bool = False,
    ) -> tuple[Account, TokenSet]:
        async with self._locked(account_id) as loaded:
            current = loaded.bundle.tokens
            if not force and current is not None and _fresh(current, min_valid):
                # Another process refreshed while we waited for the lock.
                return loaded.account, current
            provider = get_provider(loaded.account.provider)
            config = AccountConfig(loaded.account.fields, loaded.bundle.secrets)
            started = time.time()
            try:
                try:
                    try:
                        tokens = await self._obtain(provider, config, current, fresh_sign_in)
                    except (MisconfiguredError, TransientError) as exc:
                        config = await self._rediscovered(provider, loaded, config, exc)
                        tokens = await self._obtain(provider, config, current, fresh_sign_in)
                finally:
                    request_done()
            except RejectedError as exc:
                await self._set_meta(account_id, _failed(Status.SIGN_IN_NEEDED, exc))
                raise
            except UserFacingError as exc:
                await self._set_meta(account_id, _failed(Status.ERROR, exc))
                raise
            if tokens.refresh_token is None and current is not None and not fresh_sign_in:
                # A refresh reply without a new refresh token leaves the old one in force.
                tokens.refresh_token = current.refresh_token
                tokens.refresh_expires_at = current.refresh_expires_at
            if tokens.id_token is None and current is not None and not fresh_sign_in:
                tokens.id_token = current.id_token  # OIDC refresh replies may leave it out
            secrets = dict(loaded.bundle.secrets)
            spec = provider.field("refresh_token")
            if spec is not None and spec.secret and tokens.refresh_token:
                # The user's refresh token was rotated: keep only the newest, so no later
                # sign-in can ever send a superseded one (reuse would revoke the family).
                secrets["refresh_token"] = tokens.refresh_token
            bundle = SecretBundle(secrets=secrets, tokens=tokens)

            new_refresh_token = tokens.refresh_token != (current and current.refresh_token)
            change = _signed_in(tokens, started, new_refresh_token)
            account = await self._commit(loaded, bundle, change)
            return account, tokens

    async def _rediscovered(
        self, provider: Provider, loaded: Loaded, config: AccountConfig, failure: UserFacingError
    ) -> AccountConfig:
        """After a request to an endpoint failed: fetch the issuer's metadata again and, when
        the endpoints moved, store them and return the config to retry with; otherwise (or
        when discovery fails too) raise the original failure. A request that was sent but
        not answered is never retried here: it may have rotated the refresh token."""
        if isinstance(failure, SentButNoAnswerError):
            raise failure
        try:
            fields = await provider.discover(self.http, config)
        except UserFacingError:
            raise failure from None
        if fields == dict(config.fields):
            raise failure
        log.info("account %s: endpoints moved; retrying with the new ones", loaded.account.id)

        def store(acc: Account) -> None:
            acc.fields = fields

        await self._set_meta(loaded.account.id, store)
        return AccountConfig(fields, config.secrets)

    async def login(
        self, name: str, view: SignInView, *, limit: float | None = None
    ) -> tuple[Account, TokenSet]:
        """The interactive sign-in (browser or device grant) of an existing account, within
        `limit` seconds (default: core.sign_in.limit()). The person's part runs without the
        account's lock (it may take minutes); the new tokens then replace the stored ones
        through the usual generation path. A failure (denied, not in time, cancelled) changes
        nothing stored."""
        from vault_app.core import sign_in

        account = self.store.load().find(name)
        provider = get_provider(account.provider)
        async with self._locked(account.id) as loaded:
            config = AccountConfig(loaded.account.fields, loaded.bundle.secrets)
        if not provider.interactive(config):
            raise UsageError(
                f"{name} signs in without a browser; use 'refresh' (or edit its secrets)"
            )
        started = time.time()
        tokens = await provider.sign_in_interactive(
            self.http, config, view, limit=sign_in.limit() if limit is None else limit
        )
        async with self._locked(account.id) as loaded:
            bundle = SecretBundle(secrets=dict(loaded.bundle.secrets), tokens=tokens)
            stored = await self._commit(loaded, bundle, _signed_in(tokens, started, True))
        return stored, tokens

    async def _obtain(
        self,
        provider: Provider,
        config: AccountConfig,
        current: TokenSet | None,
        fresh_sign_in: bool,
    ) -> TokenSet:
        if current is None or fresh_sign_in:
            return await provider.sign_in(self.http, config)
        try:
            try:
                return await provider.refresh(self.http, config, current)
            except SentButNoAnswerError:
                # The server may have acted on it (rotated the refresh token) before the reply
                # was lost. Retry once with the same token: a server that rotated answers that
                # retry with a rejection, handled below; silence again stays transient.
                log.info("refresh sent but unanswered; retrying once with the same token")
                return await provider.refresh(self.http, config, current)
        except RejectedError:
            # A rejected refresh with a stored primary credential: sign in again, once.
            if not provider.can_sign_in_again(config):
                raise
            return await provider.sign_in(self.http, config)

    async def revoke(self, name: str) -> RevokeOutcome:
        """End the account's tokens (at the server where the provider can) and forget them."""
        account = self.store.load().find(name)
        provider = get_provider(account.provider)
        ended_already = None
        if provider.revoke_needs_live_access_token:
            # Logging out takes a live access token; refreshing first is the normal,
            # persisted path, so a rotated refresh token is never lost on the way.
            try:
                await self.token(name, min_valid=30)
            except RejectedError as exc:
                ended_already = exc
        async with self._locked(account.id) as loaded:
            config = AccountConfig(loaded.account.fields, loaded.bundle.secrets)
            tokens = loaded.bundle.tokens
            if tokens is None:
                outcome = RevokeOutcome(False, "no tokens were held; nothing to revoke")
            elif ended_already is not None:
                outcome = RevokeOutcome(
                    False, "the server no longer accepts these tokens; forgot them here"
                )
            else:
                outcome = await provider.revoke(self.http, config, tokens)
            kept = {
                k: v for k, v in loaded.bundle.secrets.items() if k not in provider.token_fields
            }

            def change(acc: Account) -> None:
                acc.status = Status.SIGNED_OUT
                acc.access_expires_at = None
                acc.refresh_expires_at = _field_expiry(acc)
                acc.last_error = None

            await self._commit(loaded, SecretBundle(secrets=kept, tokens=None), change)
        return outcome

    async def remove(self, name: str) -> None:
        """Delete the account and every keyring item it owns."""
        account = self.store.load().find(name)
        async with self._locked(account.id) as loaded:

            def drop(doc: VaultDoc) -> None:
                doc.accounts = [a for a in doc.accounts if a.id != account.id]

            self.store.update(drop)
            store = self.secrets()
            last = max(loaded.generation, loaded.account.generation) + 1
            for generation in range(max(1, loaded.account.generation - 1), last + 1):
                await store.acall(partial(store.delete_raw, account.id, generation))
        with contextlib.suppress(OSError):
            (self.store.lock_dir / f"{account.id}.lock").unlink()


def _has_default(provider: Provider, name: str) -> bool:
    """`--set FIELD=` clears a field; one with a default keeps "" as an explicit value
    (an empty `scheme` is a bare API key, not "use Bearer")."""
    spec = provider.field(name)
    return spec is not None and spec.default is not None


def _fresh(tokens: TokenSet, min_valid: float) -> bool:
    remaining = tokens.remaining()
    return remaining is None or remaining > min_valid


def _signed_in(
    tokens: TokenSet, started: float, new_refresh_token: bool
) -> Callable[[Account], None]:
    def change(acc: Account) -> None:
        acc.status = Status.OK
        acc.access_expires_at = tokens.expires_at
        acc.refresh_expires_at = tokens.refresh_expires_at or _field_expiry(acc)
        if new_refresh_token or acc.refresh_obtained_at is None:
            acc.refresh_obtained_at = started
        acc.last_refresh_at = started
        acc.last_error = None

    return change


def _failed(status: Status, exc: UserFacingError) -> Callable[[Account], None]:
    def change(acc: Account) -> None:
        acc.status = status
        acc.last_error = exc.message

    return change


def _field_expiry(account: Account) -> float | None:
    """A refresh-token expiry the user typed in (ALOR's `refresh_token_expires`)."""
    from vault_app.core.providers.base import parse_date

    text = account.fields.get("refresh_token_expires")
    return parse_date("refresh_token_expires", text) if text else None


def _env_number(name: str) -> float:
    try:
        return float(os.environ.get(name, "") or 0)
    except ValueError:
        return 0.0
