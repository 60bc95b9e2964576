"""Refresher: keeps every account's access token fresh in the background (DESIGN.md section 5).

- Deadline: refresh once the remaining lifetime drops below max(60 s, 25 % of the lifetime),
  up to 10 % of the lifetime earlier by a per-account jitter, so accounts sharing an expiry
  do not all refresh at once. Deadlines are wall-clock and re-checked at least every 30 s, so
  a suspend/resume or a clock change is caught.
- At most 8 refreshes in flight; one per account (the vault's locks make that hold across
  processes too, and a refresh that finds the token renewed by another process sends nothing).
- Transient failure: keep the tokens, retry after 2 s, 4 s, ... up to 5 min, with jitter,
  never sooner than the server's Retry-After. Rejected: the vault has signed in again when it
  could; otherwise the account is "sign-in needed" and is left alone until the user acts.
- Refresh tokens with a known expiry are renewed by a fresh sign-in before they lapse when a
  primary credential is stored; otherwise a warning goes out from 14 days ahead.
- Events go to plain callbacks; the GUI adapter re-emits them as Qt signals.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from vault_app.core.account_store import VaultDoc
from vault_app.core.errors import RejectedError, UserFacingError
from vault_app.core.model import REFRESH_WARNING_DAYS, Account, Status, TokenSet
from vault_app.core.providers.base import get_provider
from vault_app.core.schedule import DAY, EngineSettings, refresh_at
from vault_app.core.vault_slots import REQUEST_DONE, REQUEST_SLOT

__all__ = ["DAY", "EngineSettings", "Event", "EventKind", "Refresher", "refresh_at"]

log = logging.getLogger(__name__)

# While refreshes are in flight, passes over the accounts after each one ends are gathered
# into one per this many seconds (deadlines are minutes apart; a quarter second is nothing).
PASS_GATHER = 0.25


class Clock(Protocol):
    """Wall-clock time and sleeping; tests inject a fake one and never sleep for real."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


QUIET_PASS_LIMIT = 300.0  # s: a full pass at least this often however quiet (reminders)
CLOCK_SLACK = 2.0  # s the wall clock may drift from the monotonic one between two looks


@dataclass(frozen=True)
class _Look:
    """What the last full pass saw: the file's accounts, and when (wall, monotonic)."""

    doc: VaultDoc
    wall: float
    monotonic: float


def _monotonic() -> float:
    """Seconds on a clock no suspend or clock change moves (a seam for tests)."""
    return time.monotonic()


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class VaultLike(Protocol):
    """What the engine needs from the vault (a narrow seam for scheduler tests)."""

    def load(self) -> VaultDoc: ...
    async def ensure_fresh(self, account_id: str, min_valid: float) -> tuple[Account, TokenSet]: ...
    async def sign_in_again(self, account_id: str) -> tuple[Account, TokenSet]: ...
    async def force_refresh(self, account_id: str) -> tuple[Account, TokenSet]: ...


class EventKind(str, enum.Enum):
    REFRESH_STARTED = "refresh_started"
    REFRESH_SUCCEEDED = "refresh_succeeded"
    REFRESH_FAILED = "refresh_failed"  # transient: a retry is scheduled (`retry_at`)
    SIGN_IN_NEEDED = "sign_in_needed"  # rejected: no more attempts until the user acts
    REFRESH_TOKEN_EXPIRING = "refresh_token_expiring"
    ACCOUNT_CHANGED = "account_changed"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    account_id: str
    name: str
    message: str | None = None
    retry_at: float | None = None
    failures: int = 0
    exit_code: int = 0  # for a failure: the CLI exit code of its error class
    account: Account | None = None  # ACCOUNT_CHANGED: the metadata as stored, when known


@dataclass
class _State:
    """The engine's memory of one account between passes (not persisted: a restart simply
    re-derives deadlines from the metadata)."""

    jitter: float  # 0..1, fixed per account, spreads deadlines
    failures: int = 0
    retry_at: float | None = None
    warned_day: int | None = None
    resigned_for: float | None = None  # the refresh expiry a sign-in was already tried for
    retry_mode: str = "due"  # a retry repeats what failed: a forced refresh stays forced


@dataclass
class Plan:
    """What one pass decided: accounts due now, and when the next one falls due."""

    due: list[Account] = field(default_factory=list)
    retry: list[tuple[Account, str]] = field(default_factory=list)  # with the failed mode
    resign: list[Account] = field(default_factory=list)
    next_at: float | None = None
    # When a pass would find more than access-token deadlines: a sign-in again before a
    # refresh token lapses, a reminder starting or coming again (not shown as a deadline).
    look_at: float | None = None

    def look_again_at(self, when: float) -> None:
        if self.look_at is None or when < self.look_at:
            self.look_at = when


class Refresher:
    def __init__(
        self,
        vault: VaultLike,
        settings: EngineSettings | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.vault = vault
        self.settings = settings or EngineSettings()
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()  # noqa: S311 - scheduling jitter, not cryptography
        self.paused = False
        self._listeners: list[Callable[[Event], None]] = []
        self._states: dict[str, _State] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._gate = asyncio.Semaphore(self.settings.max_in_flight)  # requests to servers
        self._ready = asyncio.Semaphore(self.settings.max_in_flight)  # getting ready for one
        self._woken = False  # poke() or a refresh's end since the last sleep began
        self._sleeper: asyncio.Task[None] | None = None
        self._gathering: asyncio.TimerHandle | None = None
        self._stopped = False
        self.next_at: float | None = None  # for the status bar
        self._look_at: float | None = None  # Plan.look_at of the last pass
        self._looked: _Look | None = None  # what the last pass planned from
        self.peak_in_flight = 0
        self._running = 0

    # -- events ---------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed for %s", event.kind.value)

    # -- planning -------------------------------------------------------------------------

    def _state(self, account_id: str) -> _State:
        state = self._states.get(account_id)
        if state is None:
            state = self._states[account_id] = _State(jitter=self.rng.random())
        return state

    def backoff(self, failures: int, retry_after: float | None = None) -> float:
        """The wait after the n-th failure in a row: 2 s doubling to 5 min, jittered down by
        up to 20 %, and never shorter than the server's Retry-After."""
        doubling = 2.0 ** max(failures - 1, 0)
        step = min(self.settings.backoff_max, self.settings.backoff_min * doubling)
        delay = step * (1 - self.settings.backoff_jitter * self.rng.random())
        return max(delay, retry_after or 0.0)

    def plan(self, doc: VaultDoc, now: float) -> Plan:
        plan = Plan()
        known = set()
        for account in doc.accounts:
            known.add(account.id)
            if account.id in self._in_flight:
                continue
            state = self._state(account.id)
            if account.status is Status.SIGN_IN_NEEDED:
                state.failures, state.retry_at = 0, None
                continue
            if self._check_refresh_token(account, state, now, plan) or not _refreshable(account):
                continue
            when = (
                state.retry_at
                if state.retry_at is not None
                else refresh_at(account, self.settings, state.jitter)
            )
            if when is None:
                continue
            if when <= now and state.retry_at is not None:
                plan.retry.append((account, state.retry_mode))
            elif when <= now:
                plan.due.append(account)
            elif plan.next_at is None or when < plan.next_at:
                plan.next_at = when
        for gone in set(self._states) - known:
            del self._states[gone]
        return plan

    def _check_refresh_token(self, account: Account, state: _State, now: float, plan: Plan) -> bool:
        """Sign in again before a refresh token lapses when that needs no user; otherwise
        remind the user once a day from 14 days ahead."""
        expires = account.refresh_expires_at
        if expires is None or account.status is Status.SIGNED_OUT:
            return False
        # tried once; a server that gives no longer life must not be asked again every pass
        if _can_sign_in_again(account) and state.resigned_for != expires:
            resign_at = expires - self._resign_margin(account)
            if resign_at <= now:
                state.resigned_for = expires
                plan.resign.append(account)
                return True
            plan.look_again_at(resign_at)
        warning = account.refresh_warning(now)
        if not warning:
            plan.look_again_at(expires - REFRESH_WARNING_DAYS * DAY)
        else:
            day = int(now // DAY)
            plan.look_again_at((day + 1) * DAY)
            if state.warned_day != day:
                state.warned_day = day
                self._emit(
                    Event(
                        EventKind.REFRESH_TOKEN_EXPIRING,
                        account.id,
                        account.name,
                        f"{account.name}: {warning}",
                    )
                )
        return False

    def _resign_margin(self, account: Account) -> float:
        """How long before a refresh token lapses to sign in again: a quarter of its life,
        at most `refresh_token_margin`, so a fresh one is never renewed straight away."""
        assert account.refresh_expires_at is not None
        if account.refresh_obtained_at is None:
            return self.settings.ahead_min
        lifetime = max(account.refresh_expires_at - account.refresh_obtained_at, 0.0)
        return min(
            self.settings.refresh_token_margin, max(self.settings.ahead_min, 0.25 * lifetime)
        )

    # -- running --------------------------------------------------------------------------

    def start(self, accounts: Iterable[Account], mode: str = "due") -> None:
        """Start refreshes for these accounts (skipping any already in flight). `mode`: "due"
        refreshes unless another process just did; "force" always; "resign" signs in anew."""
        for account in accounts:
            if account.id not in self._in_flight:
                task = asyncio.ensure_future(self._refresh(account, mode))
                self._in_flight[account.id] = task

    async def _refresh(self, account: Account, mode: str) -> None:
        """At most `max_in_flight` requests to servers at once: the vault takes one of the
        slots right before it asks the provider (REQUEST_SLOT) and frees it once the provider
        has answered (REQUEST_DONE). As many refreshes again may get ready meanwhile (the
        account's lock, its secrets from the keyring), so a freed slot goes straight to a
        refresh that only has to send its request; storing results, batched, comes after."""
        state = {"ready": False, "slot": False}

        def leave_ready() -> None:
            if state["ready"]:
                state["ready"] = False
                self._ready.release()

        async def take_slot() -> None:
            if state["slot"]:
                return
            await self._gate.acquire()
            state["slot"] = True
            self._running += 1
            self.peak_in_flight = max(self.peak_in_flight, self._running)
            leave_ready()

        def free() -> None:
            if state["slot"]:
                state["slot"] = False
                self._running -= 1
                self._gate.release()

        try:
            await self._ready.acquire()
            state["ready"] = True
            REQUEST_SLOT.set(take_slot)
            REQUEST_DONE.set(free)
            try:
                await self._refresh_one(account, mode)
            finally:
                free()
                leave_ready()
        finally:
            self._in_flight.pop(account.id, None)
            self._refresh_ended()

    def _refresh_ended(self) -> None:
        """Look again once a refresh ends (its account has a new deadline): at once after the
        last one in flight, otherwise at most every PASS_GATHER seconds. A pass looks at every
        account, and a storm of 1,000 refreshes needs a handful of passes, not 1,000."""
        if not self._in_flight:
            self._wake_up()
        elif self._gathering is None:
            self._gathering = asyncio.get_running_loop().call_later(PASS_GATHER, self._gathered)

    def _gathered(self) -> None:
        self._gathering = None
        self._wake_up()

    async def _refresh_one(self, account: Account, mode: str) -> None:
        state = self._state(account.id)
        self._emit(Event(EventKind.REFRESH_STARTED, account.id, account.name))
        stored: Account | None = None  # after a failure the listener re-reads the metadata
        try:
            if mode == "resign":
                stored, _ = await self.vault.sign_in_again(account.id)
            elif mode == "force":
                stored, _ = await self.vault.force_refresh(account.id)
            else:
                stored, _ = await self.vault.ensure_fresh(account.id, self._min_valid(account))
        except RejectedError as exc:
            state.failures, state.retry_at = 0, None
            self._emit(
                Event(
                    EventKind.SIGN_IN_NEEDED,
                    account.id,
                    account.name,
                    exc.message,
                    exit_code=exc.exit_code,
                )
            )
        except UserFacingError as exc:
            self._failed(account, state, exc, getattr(exc, "retry_after", None), mode)
        except Exception as exc:  # a bug must not stop the engine; it is logged and retried
            log.exception("refresh of %s failed unexpectedly", account.id)
            unexpected = UserFacingError(f"unexpected {type(exc).__name__}")
            self._failed(account, state, unexpected, None, mode)
        else:
            state.failures, state.retry_at = 0, None
            self._emit(Event(EventKind.REFRESH_SUCCEEDED, account.id, account.name))
        self._emit(Event(EventKind.ACCOUNT_CHANGED, account.id, account.name, account=stored))

    def _failed(
        self,
        account: Account,
        state: _State,
        error: UserFacingError,
        retry_after: float | None,
        mode: str,
    ) -> None:
        state.failures += 1
        state.retry_mode = mode
        state.retry_at = self.clock.now() + self.backoff(state.failures, retry_after)
        self._emit(
            Event(
                EventKind.REFRESH_FAILED,
                account.id,
                account.name,
                error.message,
                retry_at=state.retry_at,
                failures=state.failures,
                exit_code=error.exit_code,
            )
        )

    def _min_valid(self, account: Account) -> float:
        """Refresh unless this much lifetime is left: the refresh window itself, so a token
        another process renewed meanwhile is not renewed twice."""
        # The account's own jitter: the refresh starts at its jittered deadline, and a smaller
        # threshold would find the token "still fresh" and come straight back, in a loop.
        due = refresh_at(account, self.settings, self._state(account.id).jitter)
        if due is None or account.access_expires_at is None:
            return self.settings.ahead_min
        return max(account.access_expires_at - due, 0.0)

    def run_pass(self) -> Plan:
        """One look at the vault: start what is due, remember when to look again."""
        now, monotonic = self.clock.now(), _monotonic()
        self._looked = None  # until this pass has planned
        doc = self.vault.load()
        plan = self.plan(doc, now)
        self._looked = _Look(doc, now, monotonic)
        if not self.paused:
            self.start(plan.due)
            for account, mode in plan.retry:
                self.start([account], mode)
            self.start(plan.resign, "resign")
        self.next_at, self._look_at = plan.next_at, plan.look_at
        return plan

    async def run(self) -> None:
        """Refresh in the background until stop(); wakes at the next deadline, after any
        refresh ends, on poke(), and at least every `recheck` seconds."""
        woken = True
        while not self._stopped:
            if woken or not self._only_time_passed(self._looked):
                try:
                    self.run_pass()
                except UserFacingError as exc:  # a damaged vault file: say so, keep looking
                    log.warning("refresh engine: %s", exc.message)
                    self.next_at = self._look_at = None
            now = self.clock.now()
            wait = self.settings.recheck
            for when in (self.next_at, self._look_at):
                if when is not None:
                    wait = min(wait, max(when - now, 0.0))
            woken = await self._sleep(wait)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep until `seconds` pass or `_wake_up` ends the sleep early (then True). One task
        per sleep: in the tray these wakes are most of what the app does."""
        if self._woken:
            self._woken = False
            return True
        self._sleeper = sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            # Waited on, not awaited: the sleeper's cancellation (a wake) ends the wait, and
            # this task's own (quit) raises here even when a wake came in the same step.
            await asyncio.wait({sleeper})
        finally:
            sleeper.cancel()
            self._sleeper = None
        woken, self._woken = self._woken, False
        return woken

    def _wake_up(self) -> None:
        self._woken = True
        if self._sleeper is not None:
            self._sleeper.cancel()

    def _only_time_passed(self, looked: _Look | None) -> bool:
        """Whether a pass now would find what the last one found: the same file, no deadline
        reached, the wall clock moved as the monotonic one did (no suspend, no clock change)
        and the last pass is recent. Then the re-check wakes (every `recheck` seconds) cost
        a stat, not a look at every account: in the tray that is most of what idling costs."""
        if looked is None or self._in_flight:
            return False
        now, moved = self.clock.now(), _monotonic() - looked.monotonic
        if moved > QUIET_PASS_LIMIT or abs((now - looked.wall) - moved) > CLOCK_SLACK:
            return False
        if any(when is not None and now >= when for when in (self.next_at, self._look_at)):
            return False
        try:
            return self.vault.load() is looked.doc
        except UserFacingError:
            return False

    def poke(self) -> None:
        """Look again now (settings changed, an account was added, resume from pause)."""
        self._wake_up()

    async def stop(self) -> None:
        self._stopped = True
        self._wake_up()
        if self._gathering is not None:
            self._gathering.cancel()
            self._gathering = None
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until no refresh is in flight."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)

    async def refresh_now(self, accounts: Iterable[Account]) -> dict[str, Event]:
        """Refresh these accounts at once (Refresh all, `token-vault refresh`), through the
        same gate and events; returns each account's final event."""
        outcome: dict[str, Event] = {}

        def keep(event: Event) -> None:
            if event.kind in (
                EventKind.REFRESH_SUCCEEDED,
                EventKind.REFRESH_FAILED,
                EventKind.SIGN_IN_NEEDED,
            ):
                outcome[event.account_id] = event

        self.subscribe(keep)
        try:
            chosen = list(accounts)
            for account in chosen:
                self._state(account.id).retry_at = None
            self.start(chosen, "force")
            await self.idle()
        finally:
            self._listeners.remove(keep)
        return outcome


def _refreshable(account: Account) -> bool:
    try:
        return get_provider(account.provider).can_refresh
    except UserFacingError:
        return False


def _can_sign_in_again(account: Account) -> bool:
    """Whether the stored secrets (known by name from the metadata) allow a sign-in."""
    from vault_app.core.providers.base import AccountConfig

    try:
        provider = get_provider(account.provider)
    except UserFacingError:
        return False
    # Only the names of stored secrets matter here; their values stay in the keyring.
    held = {name: "held" for name in account.secret_fields}
    return provider.can_sign_in_again(AccountConfig(account.fields, held))
