"""Vault: the operations a user asks for (add, edit, token, refresh, revoke, remove), built on
the account store, the secret store, the providers and the HTTP client.

Every change to an account's secrets follows one path (`_locked` + `_commit`): take the
in-process and cross-process account locks, re-read the stored generation (another process may
have refreshed already), act, write generation N+1 and verify it, switch the metadata to N+1,
then delete what it replaces. A crash at any point leaves a generation that holds the newest
tokens the server handed out.

When the metadata cannot be written after new tokens reached the keyring (a full disk, a
read-only vault folder), the refresh still counts: the next load adopts the newer generation
(SecretStore.read_current), and `warnings` says that the metadata is behind. A change of the
user's own secrets (`edit`) is taken back instead, and `add` removes the secret it wrote:
nothing changes. `remove` records what it could not delete, so running it again finishes the
job (see `remove`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_app.core import bounds
from vault_app.core.account_store import AccountStore, VaultDoc, check_name
from vault_app.core.errors import (
    KeyringUnavailableError,
    MisconfiguredError,
    NoSuchAccountError,
    RejectedError,
    TransientError,
    UsageError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.field_values import check_field_values
from vault_app.core.http import DEFAULT_DEADLINE, Http, SentButNoAnswerError, UnusableReplyError
from vault_app.core.model import Account, Leftover, SecretBundle, Status, TokenSet
from vault_app.core.providers.base import (
    AccountConfig,
    Provider,
    RevokeOutcome,
    check_complete,
    check_secrets,
    get_provider,
    normalize_fields,
)
from vault_app.core.providers.replies import ExpiredOnArrivalError
from vault_app.core.secret_store import (
    DEFAULT_CHUNK_LIMIT,
    DIRECT_HINT,
    MIN_CHUNK_LIMIT,
    Backend,
    SecretStore,
    configured_timeout,
    owned_by,
    unowned,
)
from vault_app.core.vault_slots import request_done, request_slot

if TYPE_CHECKING:
    from vault_app.core.sign_in import SignInView

log = logging.getLogger(__name__)

# How long `token` and `refresh` wait for another process holding the account's lock.
LOCK_TIMEOUT = 90.0
# The account ids the vault makes and its schema accepts (vault_schema.Id).
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Loaded:
    """An account re-read under its lock, with the generation its secrets came from.
    `current`: the generation and bundle the keyring and the metadata agree on when the lock
    is released (what `_commit` stored), or None when they may not."""

    account: Account
    generation: int
    bundle: SecretBundle
    current: tuple[int, SecretBundle] | None = None


@dataclass
class _Held:
    """What this process last read or wrote of one account's secrets, and the stamp its lock
    file held then: while the file still holds that stamp, no other process has held the lock,
    so the keyring holds the same (account_lock.py)."""

    stamp: bytes
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
        # Account id -> digest of a refresh token whose refresh went unanswered: the server
        # may have used it up, so it is not sent again (sign in instead) until a renewal
        # succeeds. In memory: what is stored never changes on a failure.
        self._spent: dict[str, str] = {}
        # Account id -> its secrets as this process last read or wrote them, so a refresh
        # does not read back from the keyring what this process stored there itself.
        self._held: dict[str, _Held] = {}
        self.longest_lock_hold = 0.0  # seconds, for diagnostics and the crash test
        # One line each: what went wrong without failing the operation (a refresh whose
        # metadata could not be written). Front ends show and clear them; the newest 100 are
        # kept, so a window that never looks does not grow them without end.
        self.warnings: collections.deque[str] = collections.deque(maxlen=100)

    # -- plumbing -------------------------------------------------------------------------

    def secrets(self, doc: VaultDoc | None = None) -> SecretStore:
        """The secret store for this vault (its id names the keyring service)."""
        doc = doc or self.store.load()
        if self._secrets is None:
            limit = int(self._chunk_limit or doc.setting("keyring_chunk_limit") or 0)
            if limit and limit < MIN_CHUNK_LIMIT:
                raise UsageError(
                    f"TOKEN_VAULT_CHUNK_LIMIT must be at least {MIN_CHUNK_LIMIT} characters"
                )
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
            file_lock = await self._acquire_account_lock(account_id)
            acquired = time.monotonic()
            # Forgotten unless the body ends well: after a failure nothing is assumed.
            held = self._held.pop(account_id, None)
            try:
                doc = self.store.load()
                account = doc.by_id(account_id)
                self.http.deadline = request_deadline(doc.setting("request_deadline"))
                if (
                    held is not None
                    and held.generation == account.generation
                    and file_lock.unchanged_since(held.stamp)
                ):
                    generation, bundle = held.generation, held.bundle
                    # The read skipped here also found a keyring that is locked or gone
                    # before the server was asked; a token it rotates then could not be
                    # stored, and the one kept is spent.
                    await self.secrets(doc).aready()
                else:
                    store = self.secrets(doc)
                    found = await store.acall(
                        lambda: store.read_current(account_id, account.generation)
                    )
                    if found is None and account.generation > 0:
                        raise VaultFileError(
                            f"{account.name}: its secrets are missing from the keyring"
                        )
                    generation, bundle = found if found else (account.generation, SecretBundle())
                loaded = Loaded(account, generation, bundle)
                if generation == account.generation:  # not a crash leftover to adopt
                    loaded.current = (generation, bundle)
                yield loaded
                if loaded.current is not None and file_lock.stamp:
                    self._held[account_id] = _Held(file_lock.stamp, *loaded.current)
            finally:
                await file_lock.release()
                held_for = time.monotonic() - acquired
                self.longest_lock_hold = max(self.longest_lock_hold, held_for)
                log.debug("account %s: lock held for %.0f ms", account_id, held_for * 1000)

    async def _acquire_account_lock(self, account_id: str) -> Any:
        """The account's cross-process lock, acquired (the caller releases it)."""
        file_lock = self.store.async_account_lock(account_id, timeout=LOCK_TIMEOUT)
        try:
            await file_lock.acquire()
        except TimeoutError:  # before OSError, whose subclass it is
            raise UserFacingError(
                f"another Token Vault process has held this account for {LOCK_TIMEOUT:g} s; "
                "try again"
            ) from None
        except OSError as exc:
            raise VaultFileError(
                f"cannot lock {file_lock.lock_file}: {exc.strerror or type(exc).__name__}"
            ) from None
        return file_lock

    async def _commit(
        self,
        loaded: Loaded,
        bundle: SecretBundle,
        change: Callable[[Account], None],
        *,
        keep_unrecorded: bool = True,
    ) -> Account:
        """Store `bundle` as a new generation and apply `change` to the metadata with it.

        When the metadata write fails (VaultFileError: full disk, read-only folder; or its
        lock times out), `keep_unrecorded` decides: True (tokens from a server, which may have
        rotated the refresh token) keeps the new generation, which the next load adopts, and
        returns the changed account with a line in `warnings`; False takes the generation
        back out of the keyring and raises (nothing changed)."""
        store = self.secrets()
        old = loaded.account.generation
        new = max(old, loaded.generation) + 1
        loaded.current = None  # until the metadata says `new` as well
        await store.acall(lambda: store.write_bundle(loaded.account.id, new, bundle))

        def apply(account: Account) -> Account:
            account.generation = new
            account.secret_fields = sorted(bundle.secrets)
            change(account)
            return account

        try:
            account = await self.store.aupdate(lambda doc: apply(doc.by_id(loaded.account.id)))
        except NoSuchAccountError:
            await store.acall(lambda: store.delete_raw(loaded.account.id, new))
            raise
        except UserFacingError as exc:
            if not keep_unrecorded:
                await self._take_back(loaded.account.id, new)
                raise
            log.info("account %s: metadata not written: %s", loaded.account.id, exc.message)
            self.warnings.append(
                f"{loaded.account.name}: the change reached the keyring but could not be "
                f"recorded ({exc.message}); it is read from the keyring until the metadata "
                "can be written"
            )
            return apply(loaded.account.copy())
        loaded.current = (new, bundle)
        for stale in range(max(old, 1), new):
            await store.acall(partial(store.delete_raw, loaded.account.id, stale))
        return account

    async def _take_back(self, account_id: str, generation: int) -> None:
        """Delete a generation just written whose metadata was not; a failure leaves it to
        `remove --leftovers` (it is logged, the caller reports its own error)."""
        store = self.secrets()
        try:
            await store.acall(partial(store.delete_raw, account_id, generation, strict=True))
        except UserFacingError as exc:
            log.info("account %s: generation %d kept: %s", account_id, generation, exc.message)
            self.warnings.append(
                f"a secret could not be taken back out of the keyring ({exc.message}); "
                "'token-vault remove --leftovers' deletes it"
            )

    async def _set_meta(self, account_id: str, change: Callable[[Account], None]) -> Account | None:
        """Apply `change` to the stored account; None (and a warning) when the metadata
        cannot be written: recording a failure must never hide the failure itself."""

        def apply(doc: VaultDoc) -> Account:
            account = doc.by_id(account_id)
            change(account)
            return account

        try:
            return await self.store.aupdate(apply)
        except NoSuchAccountError:
            raise
        except UserFacingError as exc:
            log.info("account %s: metadata not written: %s", account_id, exc.message)
            self.warnings.append(f"could not record the outcome: {exc.message}")
            return None

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
        check_field_values(provider, clean)
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

        def insert(doc: VaultDoc) -> None:
            if any(a.name == name for a in doc.accounts):
                raise UsageError(f"an account named {name!r} exists already")
            doc.accounts.append(account)

        # Held from the secret's write to the metadata's: `remove --leftovers` never takes the
        # secret of an account being added for one that no account owns.
        file_lock = await self._acquire_account_lock(account.id)
        added = False
        try:
            if generation:
                await store.acall(lambda: store.write_bundle(account.id, 1, bundle))
            try:
                self.store.update(insert)
                added = True
            except BaseException:
                # Disk full, read-only folder, a name taken meanwhile: no secret stays behind.
                if generation:
                    await self._take_back(account.id, 1)
                raise
        finally:
            await file_lock.release()
            if not added:
                with contextlib.suppress(OSError):
                    (self.store.lock_dir / f"{account.id}.lock").unlink()
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
        kept until that sign-in replaces them: a failed edit never loses a refresh token,
        unless the edit points the account at another server or client
        (Provider.token_destination), where those tokens must never be sent."""
        account = self.store.load().find(name)
        provider = get_provider(account.provider)
        clean = normalize_fields(provider, fields, complete=False)
        check_field_values(provider, clean)
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
            # Tokens go only where they came from (RFC 6749 section 10.4): an edit that
            # points the account at another server or client drops them, even if the
            # sign-in there then fails.
            moved = provider.token_destination(loaded.account.fields) != (
                provider.token_destination(merged_fields)
            )
            tokens = None if replaced_token or moved else loaded.bundle.tokens

            bundle = SecretBundle(secrets=merged_secrets, tokens=tokens)

            def change(acc: Account) -> None:
                acc.fields = merged_fields
                acc.refresh_expires_at = _field_expiry(acc)
                if moved and tokens is None:
                    acc.status = Status.SIGNED_OUT
                    acc.access_expires_at = None

            # New secrets the metadata does not know of would be adopted by the next load
            # without the fields that go with them: all or nothing.
            edited = await self._commit(loaded, bundle, change, keep_unrecorded=False)
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
        or for half its life when the server's tokens live less (TokenSet.wanted), refreshed
        first when needed; never one that has expired (a negative or NaN `min_valid` counts
        as 0)."""
        min_valid = min_valid if min_valid > 0 else 0.0
        account = self.store.load().find(name)
        if not force:
            store = self.secrets()
            found = await store.acall(lambda: store.read_current(account.id, account.generation))
            tokens = found[1].tokens if found else None
            if tokens is not None:
                # A server whose tokens live less than asked: one in the first half of its
                # life is as good as a refresh would bring (TokenSet.wanted).
                min_valid = tokens.wanted(min_valid)
                if _fresh(tokens, min_valid):
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
        """Refresh (or sign in) under the account's locks and store the result. Never returns
        a token that is already expired: one expired on arrival is an ExpiredOnArrivalError
        (a clock is wrong), kept from being served and from being asked for again at once."""
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
                    await request_slot()
                    try:
                        tokens, signed_in = await self._obtain(
                            account_id, provider, config, current, fresh_sign_in
                        )
                    except (MisconfiguredError, TransientError) as exc:
                        config = await self._rediscovered(provider, loaded, config, exc)
                        tokens, signed_in = await self._obtain(
                            account_id, provider, config, current, fresh_sign_in
                        )
                finally:
                    request_done()
            except ExpiredOnArrivalError as exc:
                await self._keep_after_failure(loaded, provider, exc, started, exc.tokens)
                raise
            except RejectedError as exc:
                await self._set_meta(account_id, _failed(Status.SIGN_IN_NEEDED, exc))
                raise
            except UserFacingError as exc:
                await self._set_meta(account_id, _failed(Status.ERROR, exc))
                raise
            self._spent.pop(account_id, None)
            if tokens.refresh_token is None and current is not None and not signed_in:
                # A refresh reply without a new refresh token leaves the old one in force.
                tokens.refresh_token = current.refresh_token
                tokens.refresh_expires_at = current.refresh_expires_at
            if tokens.id_token is None and current is not None and not signed_in:
                tokens.id_token = current.id_token  # OIDC refresh replies may leave it out
            if tokens.expires_at is None and current is not None and current.lifetime:
                # No usable lifetime this time (none sent, or an insane one): the server's
                # last word for this account stands, so an opaque token is still refreshed.
                tokens.expires_at = tokens.obtained_at + current.lifetime
                tokens.lifetime = current.lifetime
            bundle = self._bundle_with(provider, loaded, tokens)
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
        self._spent.pop(account.id, None)
        return stored, tokens

    def _bundle_with(self, provider: Provider, loaded: Loaded, tokens: TokenSet) -> SecretBundle:
        """The account's secrets with these tokens; a rotated refresh token that the user
        gave as a secret replaces it there too."""
        secrets = dict(loaded.bundle.secrets)
        spec = provider.field("refresh_token")
        if spec is not None and spec.secret and tokens.refresh_token and "refresh_token" in secrets:
            # The user's refresh token was rotated: keep only the newest, so no later
            # sign-in can ever send a superseded one (reuse would revoke the family). One
            # that came with the tokens (a browser sign-in, say) lives with them only.
            secrets["refresh_token"] = tokens.refresh_token
        return SecretBundle(secrets=secrets, tokens=tokens)

    async def _keep_after_failure(
        self,
        loaded: Loaded,
        provider: Provider,
        error: UserFacingError,
        started: float,
        arrived: TokenSet,
    ) -> None:
        """Record a renewal whose access token was expired on arrival. Nothing stored changes,
        except that a refresh token that came with it (rotated: the one we sent is used up)
        is kept beside the current access token, or stored with the expired one when there
        is none, so the next try sends the server's newest refresh token."""
        current = loaded.bundle.tokens
        if not arrived.refresh_token or arrived.refresh_token == (
            current and current.refresh_token
        ):
            await self._set_meta(loaded.account.id, _failed(Status.ERROR, error))
            return
        kept = dataclasses.replace(current) if current is not None else arrived
        kept.refresh_token = arrived.refresh_token
        kept.refresh_expires_at = arrived.refresh_expires_at

        def change(acc: Account) -> None:
            _failed(Status.ERROR, error)(acc)
            acc.access_expires_at = kept.expires_at
            acc.refresh_expires_at = kept.refresh_expires_at or _field_expiry(acc)
            acc.refresh_obtained_at = started

        await self._commit(loaded, self._bundle_with(provider, loaded, kept), change)
        self._spent.pop(loaded.account.id, None)

    async def _obtain(
        self,
        account_id: str,
        provider: Provider,
        config: AccountConfig,
        current: TokenSet | None,
        fresh_sign_in: bool,
    ) -> tuple[TokenSet, bool]:
        """New tokens, and whether they come from a sign-in (not from the refresh token)."""
        if current is None or fresh_sign_in:
            return await provider.sign_in(self.http, config), True
        can_sign_in = provider.can_sign_in_again(config)
        spent = _digest(current.refresh_token)
        if spent is not None and can_sign_in and self._spent.get(account_id) == spent:
            # An earlier refresh with this token went unanswered: it may be used up.
            return await provider.sign_in(self.http, config), True
        try:
            return await provider.refresh(self.http, config, current), False
        except (SentButNoAnswerError, UnusableReplyError) as lost:
            # The server may have acted on the refresh (rotated the refresh token) before its
            # reply was lost or garbled. Resending that token could trip reuse detection and
            # revoke the whole family: sign in afresh when the account can, now and (should
            # that fail too) on every later try, until a renewal succeeds.
            if spent is not None and can_sign_in:
                self._spent[account_id] = spent
                log.info("refresh reply lost or unusable; signing in again instead")
                return await provider.sign_in(self.http, config), True
            if not isinstance(lost, SentButNoAnswerError):
                raise
            # Nothing else to send: retry once with the same token. A server that rotated
            # answers with a rejection, handled below; silence again stays transient.
            log.info("refresh sent but unanswered; retrying once with the same token")
            try:
                return await provider.refresh(self.http, config, current), False
            except RejectedError:
                if not can_sign_in:
                    raise
        except RejectedError:
            # A rejected refresh with a stored primary credential: sign in again, once.
            if not can_sign_in:
                raise
        return await provider.sign_in(self.http, config), True

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
        """Delete the account and every keyring item it owns.

        The account leaves the metadata first, together with a record of its keyring items
        (VaultDoc.leftovers), under its lock; the record goes once every item is deleted.
        When the keyring refuses a delete, KeyringUnavailableError says so and the record
        stays: `remove NAME` again (it finds the record by name) or `remove --leftovers`
        finishes the job. Nothing is ever orphaned for good."""
        doc = self.store.load()
        pending = [item for item in doc.leftovers if item.name == name]
        account = next((a for a in doc.accounts if a.name == name), None)
        if account is None and not pending:
            doc.find(name)  # NoSuchAccountError, with its usual message
        if account is not None:
            pending.append(await self._forget(account.id))
        failures: list[str] = []
        for item in pending:
            try:
                await self._delete_leftover(item)
            except UserFacingError as exc:
                failures.append(exc.message)
        await self._drop_leftover_records()
        if failures:
            raise KeyringUnavailableError(
                f"{name} is removed from the vault, but not all of its keyring items could be "
                f"deleted ({failures[0]}); run 'token-vault remove {name}' again to delete them"
            )

    async def _forget(self, account_id: str) -> Leftover:
        """Take the account out of the metadata, recording its keyring items as leftovers."""
        file_lock = await self._acquire_account_lock(account_id)
        self._held.pop(account_id, None)
        try:

            def drop(doc: VaultDoc) -> Leftover:
                account = doc.by_id(account_id)
                doc.accounts = [a for a in doc.accounts if a.id != account_id]
                # From the one before (its delete may have failed) to the next (a crash
                # leftover); _delete_leftover also follows newer ones and lists the rest.
                item = Leftover(
                    account.id,
                    account.name,
                    max(1, account.generation - 1),
                    account.generation + 1,
                )
                doc.leftovers.append(item)
                return item

            return self.store.update(drop)
        finally:
            await file_lock.release()

    async def _delete_leftover(self, item: Leftover) -> None:
        """Delete every keyring item of a removed account, under its lock; raises
        (KeyringUnavailableError) while any stays."""
        store = self.secrets()
        file_lock = await self._acquire_account_lock(item.id)
        try:

            def delete_all() -> None:
                generation = item.first
                while generation <= item.last or store.has(item.id, generation):
                    store.delete_raw(item.id, generation, strict=True)
                    generation += 1
                try:
                    names = store.usernames()
                except KeyringUnavailableError:
                    return  # this keyring cannot list: the range above is what there is
                for username in owned_by(names, item.id):
                    store.delete_item(username)

            await store.acall(delete_all)
        finally:
            await file_lock.release()
        with contextlib.suppress(OSError):
            (self.store.lock_dir / f"{item.id}.lock").unlink()

    async def _drop_leftover_records(self) -> None:
        """Forget the leftover records whose items are all gone (best effort: a record that
        stays only makes the next `remove` look once more)."""
        doc = self.store.load()
        if not doc.leftovers:
            return
        store = self.secrets()
        try:
            names = await store.acall(store.usernames)
            gone = {item.id for item in doc.leftovers if not owned_by(names, item.id)}
        except KeyringUnavailableError:
            gone = {item.id for item in doc.leftovers}
            for item in doc.leftovers:
                if await store.acall(partial(store.has, item.id, item.last)):
                    gone.discard(item.id)
        if not gone:
            return

        def drop(doc: VaultDoc) -> None:
            doc.leftovers = [item for item in doc.leftovers if item.id not in gone]

        try:
            await self.store.aupdate(drop)
        except UserFacingError as exc:
            log.info("leftover records kept: %s", exc.message)

    def leftovers(self) -> list[str]:
        """Keyring items of this vault that no account owns (their keyring usernames): blocking,
        for --self-check. KeyringUnavailableError when the keyring cannot list its items."""
        store = self.secrets()
        names = store.call(store.usernames)
        return unowned(names, {a.id: a.generation for a in self.store.load().accounts})

    async def remove_leftovers(self) -> list[str]:
        """Delete every keyring item of this vault that no account owns: items of removed
        accounts, stale generations, secrets of an add that failed. Each account's items are
        re-checked under its lock, so an operation under way never loses its newest item.
        Returns the usernames deleted; KeyringUnavailableError when one stays."""
        store = self.secrets()
        names = await store.acall(store.usernames)
        suspects = unowned(names, {a.id: a.generation for a in self.store.load().accounts})
        deleted: list[str] = []
        for account_id in sorted({username.partition(":")[0] for username in suspects}):
            if not _ACCOUNT_ID.fullmatch(account_id):
                # Not an id we ever make (so no account and no lock of ours): an id from the
                # keyring never becomes a path.
                for username in [u for u in suspects if u.partition(":")[0] == account_id]:
                    await store.acall(partial(store.delete_item, username))
                    deleted.append(username)
                continue
            file_lock = await self._acquire_account_lock(account_id)
            try:
                current = {a.id: a.generation for a in self.store.load().accounts}
                mine = [u for u in suspects if u.partition(":")[0] == account_id]
                for username in unowned(mine, current):
                    await store.acall(partial(store.delete_item, username))
                    deleted.append(username)
            finally:
                await file_lock.release()
            if account_id not in current:
                with contextlib.suppress(OSError):
                    (self.store.lock_dir / f"{account_id}.lock").unlink()
        await self._drop_leftover_records()
        return deleted


def _has_default(provider: Provider, name: str) -> bool:
    """`--set FIELD=` clears a field; one with a default keeps "" as an explicit value
    (an empty `scheme` is a bare API key, not "use Bearer")."""
    spec = provider.field(name)
    return spec is not None and spec.default is not None


def request_deadline(value: object) -> float:
    """The `request_deadline` setting in seconds: 1 to 600, else the default (30 s)."""
    seconds = bounds.duration(value)
    if seconds is None:
        return DEFAULT_DEADLINE
    return min(max(seconds, 1.0), 600.0)


def _digest(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest() if token else None


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
    if not text:
        return None
    try:
        return parse_date("refresh_token_expires", text)
    except UsageError:  # edited by hand into something else: unknown, not a failed refresh
        return None


def _env_number(name: str) -> float:
    """A positive, finite number from the environment variable `name`, else 0 (unset)."""
    try:
        value = bounds.number(float(os.environ.get(name, "") or 0))
    except ValueError:
        return 0.0
    return value if value is not None and 0 < value <= 2**31 else 0.0
