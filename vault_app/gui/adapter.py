"""The one bridge between the core and the widgets: engine events become Qt signals, and the
operations widgets ask for run as tasks on the event loop, never blocking the GUI thread.

Expected failures (UserFacingError) reach the window as their one-line message; anything else
is logged with secrets stripped and reported once as an unexpected error."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from vault_app.core import sign_in
from vault_app.core.account_store import VaultDoc
from vault_app.core.engine import Event, EventKind, Refresher
from vault_app.core.errors import RejectedError, UserFacingError
from vault_app.core.model import Account, Status, TokenSet
from vault_app.core.providers.base import AccountConfig, RevokeOutcome, get_provider
from vault_app.core.redact import redact
from vault_app.core.sign_in import SignInView
from vault_app.core.vault import Vault
from vault_app.system.autostart import Autostart

if TYPE_CHECKING:
    from vault_app.core.transfer import ImportResult

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
        self._settings_lock: asyncio.Lock | None = None
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

    def spawn(
        self,
        work: Awaitable[T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[UserFacingError], None] | None = None,
    ) -> None:
        """Run `work` on the loop; report its failure instead of raising into Qt: to
        `on_error` when given (the caller knows which account and action it was, and a bug
        reaches it as a UserFacingError saying so, so nothing waits for ever), else through
        the `error` and `unexpected` signals. A callback's own bug is logged and reported."""

        async def guarded() -> None:
            try:
                result = await work
            except asyncio.CancelledError:
                raise
            except UserFacingError as exc:
                if on_error is None:
                    self.error.emit(redact(exc.message))
                else:
                    self._call(on_error, _redacted(exc))
                return
            except Exception as exc:
                log.error("unexpected error", exc_info=exc)  # the log handler masks secrets
                message = (
                    f"Unexpected error: {type(exc).__name__}. Details are in "
                    "the log (run with TOKEN_VAULT_LOG=debug for more)."
                )
                if on_error is None:
                    self.unexpected.emit(message)
                else:
                    self._call(on_error, UserFacingError(message))
                return
            if on_done is not None:
                self._call(on_done, result)

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _call(self, callback: Callable[[Any], None], value: Any) -> None:
        """A widget's callback: its own failure is a bug, logged and reported, never raised
        into the event loop."""
        try:
            callback(value)
        except Exception as exc:
            log.exception("a window callback failed")
            self.unexpected.emit(f"Unexpected error: {type(exc).__name__}. Details are in the log.")

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

    async def refresh_now(self, account_ids: list[str]) -> dict[str, Event]:
        """Refresh these accounts now; each one's final event (succeeded, failed, sign-in
        needed) by account id, for the window to say what happened."""
        wanted = set(account_ids)
        chosen = [a for a in self.vault.load().accounts if a.id in wanted]
        return await self.engine.refresh_now(chosen)

    async def export_accounts(self, path: Path) -> int:
        """Write the account definitions (no secrets) to `path`, off the GUI thread, as
        core/transfer.write_export does for the CLI (atomic, mode 0600); returns how many.
        UserFacingError when the file cannot be written (an earlier file is left as it was)."""
        from vault_app.core.transfer import export_document, write_export

        def write() -> int:
            document = export_document(self.vault.store)
            write_export(path, document)  # the CLI's writer: atomic, 0600 from creation
            return len(document["accounts"])

        return await asyncio.to_thread(write)

    async def import_accounts(self, path: Path) -> ImportResult:
        """Read an export file and add its accounts (all or nothing), off the GUI thread;
        the table is reloaded after."""
        from vault_app.core.transfer import import_definitions, read_export

        def run() -> tuple[ImportResult, list[Account]]:
            result = import_definitions(self.vault.store, read_export(path))
            return result, self.vault.load().accounts

        result, accounts = await asyncio.to_thread(run)
        self.accounts_loaded.emit(accounts)
        return result

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
        self,
        name: str,
        kind: str,
        fields: dict[str, str],
        secrets: dict[str, str],
    ) -> tuple[Account | None, UserFacingError | None]:
        """Add an account and sign in (the Add dialog). When that first sign-in fails, the
        account is removed again and (None, why) returned: nothing the user did not ask to
        keep stays behind ("Save anyway" is `add_signed_out`); (account, why) when it could
        not be removed. Invalid input raises."""
        account, failure = await self.vault.add(name, kind, fields, secrets)
        if failure is not None and await self._discard(account):
            return None, failure
        self.account_changed.emit(account)
        self.engine.poke()
        return account, failure

    async def add_signed_out(
        self,
        name: str,
        kind: str,
        fields: dict[str, str],
        secrets: dict[str, str],
        failure: UserFacingError,
    ) -> Account:
        """Keep an account whose first sign-in failed ("Save anyway"), without trying again:
        it is stored with the status and reason that sign-in gave."""
        account, _ = await self.vault.add(name, kind, fields, secrets, sign_in=False)
        status = Status.SIGN_IN_NEEDED if isinstance(failure, RejectedError) else Status.ERROR

        def mark(doc: VaultDoc) -> Account:
            stored = doc.by_id(account.id)
            stored.status = status
            stored.last_error = failure.message
            return stored

        account = await self.vault.store.aupdate(mark)
        self.account_changed.emit(account)
        return account

    async def edit(
        self, account_id: str, fields: dict[str, str], secrets: dict[str, str]
    ) -> tuple[Account, UserFacingError | None]:
        account = self.vault.load().by_id(account_id)
        result = await self.vault.edit(account.name, fields, secrets)
        self.account_changed.emit(result[0])
        self.engine.poke()
        return result

    async def login(
        self, account_id: str, view: SignInView, cancelled: asyncio.Event | None = None
    ) -> Account:
        """The browser or device sign-in of an account, started by the person's click;
        `view` shows the link or code, and setting `cancelled` ends the wait with
        SignInCancelledError (nothing stored)."""
        account = self.vault.load().by_id(account_id)
        work = self.vault.login(account.name, view)
        stored, _ = await (work if cancelled is None else sign_in.cancellable(work, cancelled))
        self.account_changed.emit(stored)
        self.engine.poke()
        return stored

    async def add_interactive(
        self,
        name: str,
        kind: str,
        fields: dict[str, str],
        secrets: dict[str, str],
        view: SignInView,
        cancelled: asyncio.Event | None = None,
    ) -> tuple[Account | None, UserFacingError | None]:
        """Add an account of a browser or device grant and sign it in through the person
        (see `login`). Like `add` for the Add dialog, a sign-in that fails or is cancelled
        removes the account again: (None, why); (account, why) when it could not be removed.
        Invalid input and a failed discovery raise before anything is stored."""
        account, failure = await self.vault.add(name, kind, fields, secrets)
        if failure is None:
            try:
                return await self.login(account.id, view, cancelled), None
            except UserFacingError as exc:
                failure = exc
        if await self._discard(account):
            return None, failure
        self.account_changed.emit(account)
        return account, failure

    async def _discard(self, account: Account) -> bool:
        """Remove an account whose first sign-in failed; False (logged) when it could not
        be removed, so the caller shows it as it stays."""
        try:
            await self.vault.remove(account.name)
        except UserFacingError:
            log.warning("could not remove %s after its failed first sign-in", account.id)
            return False
        return True

    async def edit_interactive(
        self,
        account_id: str,
        fields: dict[str, str],
        secrets: dict[str, str],
        view: SignInView,
        cancelled: asyncio.Event | None = None,
    ) -> tuple[Account, UserFacingError | None]:
        """Save the changes (as `edit`), then the browser or device sign-in (see `login`);
        a failed or cancelled sign-in keeps the changes and the tokens held before."""
        account, failure = await self.edit(account_id, fields, secrets)
        if failure is not None:
            return account, failure
        try:
            return await self.login(account_id, view, cancelled), None
        except UserFacingError as exc:
            return self.vault.load().by_id(account_id), exc

    async def stored_tokens(self, account_id: str) -> tuple[Account, TokenSet | None]:
        """The account and the tokens stored for it now, without refreshing (what Show
        displays after the engine refreshed): a keyring read off the GUI thread."""
        account = self.vault.load().by_id(account_id)
        store = self.vault.secrets()
        found = await store.acall(lambda: store.read_current(account.id, account.generation))
        return account, (found[1].tokens if found else None)

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

        # One save at a time, in the order asked: the user's last choice is the one kept.
        if self._settings_lock is None:
            self._settings_lock = asyncio.Lock()
        async with self._settings_lock:
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


def _redacted(exc: UserFacingError) -> UserFacingError:
    """The error with its message redacted, keeping its class (dialogs advise by class)."""
    clean = redact(exc.message)
    if clean == exc.message:
        return exc
    twin = copy.copy(exc)
    twin.message = clean
    twin.args = (clean,)
    return twin
