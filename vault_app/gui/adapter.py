"""The one bridge between the core and the widgets: engine events become Qt signals, and the
operations widgets ask for run as tasks on the event loop, never blocking the GUI thread.

Expected failures (UserFacingError) reach the window as their one-line message; anything else
is logged with secrets stripped and reported once as an unexpected error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from vault_app.core.engine import Event, EventKind, Refresher
from vault_app.core.errors import UserFacingError
from vault_app.core.model import Account, TokenSet
from vault_app.core.providers.base import AccountConfig, RevokeOutcome, get_provider
from vault_app.core.redact import redact
from vault_app.core.sign_in import SignInView
from vault_app.core.vault import Vault
from vault_app.system.autostart import Autostart

log = logging.getLogger(__name__)
T = TypeVar("T")


class VaultAdapter(QObject):
    accounts_loaded = Signal(list)  # list[Account]
    account_changed = Signal(object)  # Account
    account_removed = Signal(str)  # account id
    refresh_started = Signal(str)  # account id
    refresh_finished = Signal(str)  # account id
    refresh_failed = Signal(str, str, float)  # account id, message, retry_at (0: none)
    sign_in_needed = Signal(str, str)  # account id, message
    refresh_token_expiring = Signal(str, str)  # account id, message
    error = Signal(str)  # a one-line message for the user
    unexpected = Signal(str)  # a bug: logged with secrets stripped; the window says so once
    keyring_ready = Signal(str)  # the backend's name
    keyring_unusable = Signal(str)  # why

    def __init__(self, vault: Vault, engine: Refresher, autostart: Autostart | None = None) -> None:
        super().__init__()
        self.vault = vault
        self.engine = engine
        self.autostart = autostart  # None: not offered (the demo touches nothing)
        self._tasks: set[asyncio.Task[Any]] = set()
        engine.subscribe(self._on_event)

    # -- core events -> signals -------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.kind is EventKind.REFRESH_STARTED:
            self.refresh_started.emit(event.account_id)
        elif event.kind is EventKind.REFRESH_SUCCEEDED:
            self.refresh_finished.emit(event.account_id)
        elif event.kind is EventKind.REFRESH_FAILED:
            self.refresh_finished.emit(event.account_id)
            self.refresh_failed.emit(event.account_id, event.message or "", event.retry_at or 0.0)
        elif event.kind is EventKind.SIGN_IN_NEEDED:
            self.refresh_finished.emit(event.account_id)
            self.sign_in_needed.emit(event.account_id, event.message or "")
        elif event.kind is EventKind.REFRESH_TOKEN_EXPIRING:
            self.refresh_token_expiring.emit(event.account_id, event.message or "")
        elif event.kind is EventKind.ACCOUNT_CHANGED:
            # A successful refresh hands over the stored metadata: no re-read of the whole
            # vault file on the GUI thread for every refreshed account.
            if event.account is not None:
                self.account_changed.emit(event.account)
            else:
                self._reload_one(event.account_id)

    def _reload_one(self, account_id: str) -> None:
        try:
            account = self.vault.load().by_id(account_id)
        except UserFacingError:
            self.account_removed.emit(account_id)
            return
        self.account_changed.emit(account)

    # -- running work -----------------------------------------------------------------------

    def spawn(self, work: Awaitable[T], on_done: Callable[[T], None] | None = None) -> None:
        """Run `work` on the loop; report its failure instead of raising into Qt."""

        async def guarded() -> None:
            try:
                result = await work
            except asyncio.CancelledError:
                raise
            except UserFacingError as exc:
                self.error.emit(redact(exc.message))
                return
            except Exception as exc:
                log.exception("unexpected error")  # the log handler masks secrets
                self.unexpected.emit(
                    f"Unexpected error: {type(exc).__name__}. Details are in "
                    "the log (run with TOKEN_VAULT_LOG=debug for more)."
                )
                return
            if on_done is not None:
                on_done(result)

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- operations -------------------------------------------------------------------------

    def load(self) -> None:
        """Metadata only (no keyring): the table can fill before any secret is read."""
        try:
            accounts = self.vault.load().accounts
        except UserFacingError as exc:
            self.error.emit(exc.message)
            return
        self.accounts_loaded.emit(accounts)

    def check_keyring(self) -> None:
        """Resolve the keyring backend off the GUI thread; say which, or why none."""

        async def check() -> str:
            store = self.vault.secrets()
            backend = await store.acall(store.backend)
            return backend.name

        async def run() -> None:
            try:
                self.keyring_ready.emit(await check())
            except UserFacingError as exc:
                self.keyring_unusable.emit(exc.message)

        self.spawn(run())

    async def token(self, account_id: str, min_valid: float = 30) -> TokenSet:
        """A token valid for `min_valid` seconds, refreshed first if needed."""
        account = self.vault.load().by_id(account_id)
        account, tokens = await self.vault.token(account.name, min_valid=min_valid)
        self.account_changed.emit(account)
        return tokens

    def refresh(self, account_ids: list[str]) -> None:
        doc = self.vault.load()
        chosen = [a for a in doc.accounts if a.id in set(account_ids)]
        self.spawn(self.engine.refresh_now(chosen))

    def refresh_all(self) -> None:
        self.spawn(self.engine.refresh_now(self.vault.load().accounts))

    def revoke_description(self, account: Account) -> str:
        provider = get_provider(account.provider)
        # The description depends only on non-secret fields (e.g. a revocation URL).
        return provider.revoke_description(AccountConfig(account.fields, {}))

    async def revoke(self, account_id: str) -> RevokeOutcome:
        account = self.vault.load().by_id(account_id)
        outcome = await self.vault.revoke(account.name)
        self._reload_one(account_id)
        return outcome

    async def add(
        self, name: str, kind: str, fields: dict[str, str], secrets: dict[str, str]
    ) -> tuple[Account, UserFacingError | None]:
        result = await self.vault.add(name, kind, fields, secrets)
        self.account_changed.emit(result[0])
        self.engine.poke()
        return result

    async def edit(
        self, account_id: str, fields: dict[str, str], secrets: dict[str, str]
    ) -> tuple[Account, UserFacingError | None]:
        account = self.vault.load().by_id(account_id)
        result = await self.vault.edit(account.name, fields, secrets)
        self.account_changed.emit(result[0])
        self.engine.poke()
        return result

    async def login(self, account_id: str, view: SignInView) -> Account:
        """The browser or device sign-in of an account (started by the person's click)."""
        account = self.vault.load().by_id(account_id)
        stored, _ = await self.vault.login(account.name, view)
        self.account_changed.emit(stored)
        self.engine.poke()
        return stored

    def autostart_enabled(self) -> bool | None:
        """Whether the system will start us at login (the entry, not the stored setting: the
        user may have removed it by hand); None when autostart is not offered."""
        if self.autostart is None:
            return None
        try:
            return self.autostart.is_enabled()
        except OSError:
            return False

    async def save_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """Store settings in the metadata file and apply autostart, on a worker thread; the
        engine picks up the refresh ones."""
        from vault_app.core.engine import EngineSettings

        def save() -> tuple[dict[str, Any], EngineSettings, str | None]:
            problem = None
            if "autostart" in values:
                problem = self._apply_autostart(bool(values["autostart"]))
                values["autostart"] = bool(self.autostart_enabled())

            def apply(doc: Any) -> tuple[dict[str, Any], EngineSettings]:
                doc.settings.update(values)
                return dict(doc.settings), EngineSettings.from_doc(doc)

            saved, engine_settings = self.vault.store.update(apply)
            return saved, engine_settings, problem

        saved, self.engine.settings, problem = await asyncio.to_thread(save)
        self.engine.poke()
        if problem:
            raise UserFacingError(problem)
        return saved

    def _apply_autostart(self, enabled: bool) -> str | None:
        from vault_app.system.launcher import launch_command

        if self.autostart is None:
            return None
        try:
            if enabled:
                self.autostart.enable(launch_command())
            else:
                self.autostart.disable()
        except OSError as exc:
            return (
                f"Settings saved, but autostart could not be turned {'on' if enabled else 'off'}"
                f": {exc.strerror or exc} ({self.autostart.where})"
            )
        return None

    async def remove(self, account_id: str) -> None:
        account = self.vault.load().by_id(account_id)
        await self.vault.remove(account.name)
        self.account_removed.emit(account_id)
