"""VaultService: what a running app (the window or `token-vault serve`) offers beside its
refresh engine, without Qt. Both start the same object over their own Vault and Refresher.

- Tokens from memory: the newest token of each account, kept per stored generation (every
  change of an account's secrets writes a new one), so a CLI call reads no keyring after the
  first, and a change made by any process (a new generation in the metadata) is seen at once.
- One refresher: a refresh a caller needs runs through the engine (its events reach the window,
  its in-flight slot joins concurrent callers), so many CLI calls make one refresh at the
  server; the engine's account locks keep other processes out meanwhile.
- The CLI socket (server.py) and the local proxies (proxy.py) this app runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from vault_app import __version__
from vault_app.core.engine import Event, EventKind, Refresher
from vault_app.core.errors import (
    NoSuchAccountError,
    RejectedError,
    SignInNeededError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.model import Account, Status, TokenSet
from vault_app.core.redact import redact
from vault_app.core.sign_in import sign_in_warning
from vault_app.core.vault import Vault
from vault_app.service import protocol
from vault_app.service.server import SocketServer

if TYPE_CHECKING:
    from vault_app.service.proxy import LocalProxy

log = logging.getLogger(__name__)

_FINAL = (EventKind.REFRESH_SUCCEEDED, EventKind.REFRESH_FAILED, EventKind.SIGN_IN_NEEDED)


class VaultService:
    """The running app's services over one vault and its engine. `app` names the front end
    ("window" or "headless") for `hello`."""

    def __init__(
        self,
        vault: Vault,
        engine: Refresher,
        *,
        app: str,
        activity: Callable[[], None] | None = None,
    ) -> None:
        self.vault = vault
        self.engine = engine
        self.app = app
        # Called after each socket request and each proxied request: the window collects
        # garbage on its own thread at these moments (gui/collector.py).
        self.activity = activity
        self.server: SocketServer | None = None
        self._stopped = False
        self.proxies: list[LocalProxy] = []
        self.proxies_changed: list[Callable[[], None]] = []
        # account id -> (generation, its tokens or None): the memory the CLI is served from.
        self._tokens: dict[str, tuple[int, TokenSet | None]] = {}
        self._reading: dict[tuple[str, int], asyncio.Future[TokenSet | None]] = {}
        self._outcome: dict[str, Event] = {}
        self._waiters: dict[str, list[asyncio.Future[tuple[Event, Account | None]]]] = {}
        engine.subscribe(self._on_event)

    # -- life -----------------------------------------------------------------------------

    async def start_socket(self) -> None:
        """Serve the CLI socket; ServiceUnavailableError says why it cannot. Nothing once
        stop() has run (a start still on its way when the app quits serves nothing)."""
        if self.is_stopped():
            return
        server = SocketServer(self.vault.store.home, self.handle, self.activity)
        await server.start()
        if self.is_stopped():  # stop() ran meanwhile
            await server.stop()
            return
        self.server = server

    def is_stopped(self) -> bool:
        return self._stopped

    async def stop(self) -> None:
        """Stop every proxy and the socket; callers waiting on a refresh get an error."""
        self._stopped = True
        for proxy in list(self.proxies):
            await self.stop_proxy(proxy)
        if self.server is not None:
            await self.server.stop()
            self.server = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.cancel()
        self._waiters.clear()

    # -- engine events ----------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.kind in _FINAL:
            self._outcome[event.account_id] = event
        elif event.kind is EventKind.ACCOUNT_CHANGED:
            # The engine sends this right after a refresh's final event, with the stored
            # metadata when it has it.
            outcome = self._outcome.pop(event.account_id, None)
            if outcome is None:
                return
            for waiter in self._waiters.pop(event.account_id, []):
                if not waiter.done():
                    waiter.set_result((outcome, event.account))

    async def _through_engine(
        self, account: Account, mode: str, *, unless_changed_from: int | None = None
    ) -> Account:
        """Refresh `account` through the engine ("due": unless fresh enough; "force"),
        joining its refresh when one is in flight; the stored metadata afterwards, or the
        failure's UserFacingError. With `unless_changed_from`, nothing starts when the stored
        generation differs from it already (new tokens arrived since the caller looked)."""
        if unless_changed_from is not None:
            current = self.vault.load().by_id(account.id)
            if current.generation != unless_changed_from:
                return current
        waiter: asyncio.Future[tuple[Event, Account | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.setdefault(account.id, []).append(waiter)
        # Nothing awaited between the check above and this: no refresh can end in between.
        self.engine.start([account], mode)  # no-op when in flight: the waiter joins that one
        event, stored = await waiter
        if event.kind is not EventKind.REFRESH_SUCCEEDED:
            raise protocol.failure(event.message or "the refresh failed", event.exit_code or 1)
        if stored is not None:
            return stored
        return self.vault.load().by_id(account.id)

    # -- tokens ---------------------------------------------------------------------------

    async def _held(self, account: Account) -> TokenSet | None:
        """The tokens stored with `account`'s generation: from memory, else one keyring read
        shared by every caller that asks meanwhile."""
        cached = self._tokens.get(account.id)
        if cached is not None and cached[0] == account.generation:
            return cached[1]
        if account.generation == 0:
            return None
        key = (account.id, account.generation)
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(self._read(account))
            reading.add_done_callback(lambda _f: self._reading.pop(key, None))
        return await asyncio.shield(reading)

    async def _read(self, account: Account) -> TokenSet | None:
        store = self.vault.secrets()
        found = await store.acall(partial(store.read_current, account.id, account.generation))
        if found is None:
            raise VaultFileError(f"{account.name}: its secrets are missing from the keyring")
        tokens = found[1].tokens
        self._tokens[account.id] = (account.generation, tokens)
        return tokens

    async def token(
        self, name: str, *, min_valid: float = 60, force: bool = False
    ) -> tuple[Account, TokenSet]:
        """A token valid for `min_valid` seconds (unknown expiry counts as valid), refreshed
        through the engine when needed; `force` refreshes unless a refresh of this account
        stored new tokens while this call waited. UserFacingError as the CLI's direct path."""
        return await self.token_for(self.vault.load().find(name), min_valid=min_valid, force=force)

    async def token_for(
        self, account: Account, *, min_valid: float = 60, force: bool = False
    ) -> tuple[Account, TokenSet]:
        if not force:
            tokens = await self._held(account)
            if tokens is not None and tokens.serves(min_valid):
                return account, tokens
            # "due" re-reads under the account lock and sends nothing when another process
            # (or the engine, a moment ago) has refreshed already.
            before = account.generation
            account = await self._through_engine(account, "due")
            tokens = await self._held(account)
            # New tokens are the answer even when they live less than asked (as on the CLI's
            # own path: one refresh, not one more that could give no longer a life).
            if tokens is not None and (account.generation != before or tokens.serves(min_valid)):
                return account, tokens
        before = account.generation
        for _attempt in range(2):
            account = await self._through_engine(account, "force", unless_changed_from=before)
            if account.generation != before:
                break
            # Joined a refresh that stored nothing new (a "due" one that found the token
            # fresh): now start the refresh this caller asked for.
        tokens = await self._held(account)
        if tokens is None:
            raise SignInNeededError(f"{account.name}: no token is held; sign in again")
        return account, tokens

    def account_by_id(self, account_id: str) -> Account:
        return self.vault.load().by_id(account_id)

    # -- the socket's operations ----------------------------------------------------------

    async def handle(self, request: protocol.Request) -> dict[str, Any]:
        """A socket request's reply fields (protocol.py); UserFacingError on failure."""
        try:
            return await self._handle(request)
        finally:
            if self.activity is not None:
                self.activity()

    async def _handle(self, request: protocol.Request) -> dict[str, Any]:
        if isinstance(request, protocol.Hello):
            return {"app": self.app, "pid": os.getpid(), "version": __version__}
        if isinstance(request, protocol.TokenRequest):
            return await self._token_reply(request)
        if isinstance(request, protocol.ListRequest):
            import msgspec  # the metadata file's own encoding of an account (vault_schema.py)

            return {"accounts": msgspec.to_builtins(list(self.vault.load().accounts))}
        return {"results": await self.refresh(request.names, request.everything)}

    async def _token_reply(self, request: protocol.TokenRequest) -> dict[str, Any]:
        """`token`, as the CLI's own path answers it: an account whose refresh the server
        rejected still gets its unexpired access token, with a warning saying so."""
        account = self.vault.load().find(request.name)
        warning = None
        try:
            account, tokens = await self.token_for(
                account, min_valid=request.min_valid, force=request.force
            )
        except RejectedError as exc:
            if request.force:  # a new token was asked for: the old one is no answer
                raise
            held = await self._held(self.vault.load().by_id(account.id))
            left = held.remaining() if held is not None else None
            if held is None or left is None or left <= 0:
                raise
            tokens, warning = held, sign_in_warning(account, exc.message, left)
        else:
            if account.status is Status.SIGN_IN_NEEDED:
                warning = sign_in_warning(account, account.last_error, tokens.remaining())
        reply: dict[str, Any] = {
            "access_token": tokens.access_token,
            "token_type": tokens.token_type or "",
            "expires_at": tokens.expires_at,
            "header_name": account.fields.get("header_name") or "Authorization",
        }
        if warning:
            reply["warning"] = redact(warning)
        return reply

    async def refresh(self, names: tuple[str, ...], everything: bool) -> list[dict[str, Any]]:
        """Refresh these accounts now through the engine, at once; each one's outcome."""
        doc = self.vault.load()
        chosen = list(doc.accounts) if everything else [doc.find(n) for n in names]

        async def one(account: Account) -> dict[str, Any]:
            try:
                stored = await self._through_engine(account, "force")
            except NoSuchAccountError:
                raise
            except UserFacingError as exc:
                return {
                    "name": account.name,
                    "ok": False,
                    "message": exc.message,
                    "exit": exc.exit_code,
                }
            return {"name": account.name, "ok": True, "expires_at": stored.access_expires_at}

        return list(await asyncio.gather(*(one(a) for a in chosen)))

    # -- proxies --------------------------------------------------------------------------

    async def start_proxy(
        self,
        account: Account,
        upstream: str,
        listen: str | None = None,
        deadline: float | None = None,
    ) -> LocalProxy:
        """Start a local proxy for `account` (proxy.py); UsageError for a bad upstream or
        listen address, UserFacingError when the address cannot be bound."""
        from vault_app.service.proxy import DEFAULT_DEADLINE, LocalProxy, ProxyConfig
        from vault_app.service.sources import ServiceSource

        config = ProxyConfig.make(account.name, upstream, listen, deadline or DEFAULT_DEADLINE)
        source = ServiceSource(self, account.id)
        proxy = LocalProxy(
            config, source, ca_bundle=account.fields.get("ca_bundle"), activity=self.activity
        )
        await proxy.start()
        self.proxies.append(proxy)
        self._proxies_changed()
        return proxy

    async def stop_proxy(self, proxy: LocalProxy) -> None:
        if proxy in self.proxies:
            self.proxies.remove(proxy)
        await proxy.stop()
        self._proxies_changed()

    def _proxies_changed(self) -> None:
        for listener in list(self.proxies_changed):
            try:
                listener()
            except Exception:
                log.exception("proxy listener failed")
