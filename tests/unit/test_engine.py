"""The refresh scheduler on an injected clock: nothing here sleeps for real. The vault is a
stub that records calls (a narrow unit test); the same engine runs against the loopback fakes
in tests/reliability/."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from vault_app.core.account_store import VaultDoc
from vault_app.core.engine import EngineSettings, Event, EventKind, Refresher, refresh_at
from vault_app.core.errors import RejectedError, TransientError
from vault_app.core.model import Account, Status, TokenSet
from vault_app.core.vault_slots import request_done, request_slot

T0 = 1_800_000_000.0
LIFETIME = 1800.0


class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    def __init__(self, start: float = T0) -> None:
        self.t = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.t += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self.t and not future.done():
                future.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        await settle()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@dataclass
class StubVault:
    """Accounts in memory; each refresh records the time and gives a fresh lifetime."""

    clock: FakeClock
    accounts: list[Account] = field(default_factory=list)
    calls: list[tuple[str, str, float]] = field(default_factory=list)
    script: list[BaseException] = field(default_factory=list)  # raised by the next refreshes
    gate: asyncio.Event | None = None  # when set, refreshes wait for it
    running: int = 0
    peak: int = 0

    def load(self) -> VaultDoc:
        return VaultDoc(vault_id="stub", accounts=list(self.accounts))

    def add(self, name: str, expires_in: float = LIFETIME, **extra: object) -> Account:
        account = Account(
            id=uuid.uuid4().hex,
            name=name,
            provider="oauth2",
            status=Status.OK,
            access_expires_at=self.clock.t + expires_in,
            last_refresh_at=self.clock.t + expires_in - LIFETIME,
            **extra,  # type: ignore[arg-type]
        )
        self.accounts.append(account)
        return account

    async def _renew(self, account_id: str, how: str) -> tuple[Account, TokenSet]:
        self.calls.append((account_id, how, self.clock.t))
        await request_slot()  # as the vault does right before it asks the provider
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.script:
                error = self.script.pop(0)
                if isinstance(error, RejectedError):
                    self._account(account_id).status = Status.SIGN_IN_NEEDED
                raise error
            account = self._account(account_id)
            account.access_expires_at = self.clock.t + LIFETIME
            account.last_refresh_at = self.clock.t
            if how == "resign":
                account.refresh_expires_at = self.clock.t + 30 * 86400
                account.refresh_obtained_at = self.clock.t
            return account, TokenSet(access_token="t", expires_at=account.access_expires_at)
        finally:
            self.running -= 1
            request_done()

    def _account(self, account_id: str) -> Account:
        return next(a for a in self.accounts if a.id == account_id)

    async def ensure_fresh(self, account_id: str, min_valid: float) -> tuple[Account, TokenSet]:
        return await self._renew(account_id, "due")

    async def force_refresh(self, account_id: str) -> tuple[Account, TokenSet]:
        return await self._renew(account_id, "force")

    async def sign_in_again(self, account_id: str) -> tuple[Account, TokenSet]:
        return await self._renew(account_id, "resign")


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


Scenario = Callable[[FakeClock, StubVault, Refresher, list[Event]], Awaitable[None]]


def run(scenario: Scenario, *, rng: random.Random | None = None) -> None:
    async def main() -> None:
        clock = FakeClock()
        vault = StubVault(clock)
        engine = Refresher(vault, clock=clock, rng=rng or FixedRandom(0.0))
        events: list[Event] = []
        engine.subscribe(events.append)
        task = asyncio.ensure_future(engine.run())
        try:
            await scenario(clock, vault, engine, events)
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())


def _account(expires: float, issued: float = T0, name: str = "a") -> Account:
    """An account whose access token was issued at `issued` and expires at `expires`."""
    return Account(
        id=name,
        name=name,
        provider="oauth2",
        status=Status.OK,
        access_expires_at=expires,
        last_refresh_at=issued,
    )


def test_deadline_is_a_quarter_of_the_lifetime_before_expiry() -> None:
    settings = EngineSettings()
    account = _account(T0 + LIFETIME)
    assert refresh_at(account, settings, 0.0) == T0 + LIFETIME - 450
    assert refresh_at(account, settings, 1.0) == T0 + LIFETIME - 450 - 180  # 10 % jitter
    short = _account(T0 + 120, name="s")
    assert refresh_at(short, settings, 0.0) == T0 + 60  # max(60 s, 25 %)
    tiny = _account(T0 + 40, name="t")
    assert refresh_at(tiny, settings, 0.0) == T0 + 20  # shorter than 60 s: halfway
    for status in (Status.SIGN_IN_NEEDED, Status.SIGNED_OUT):
        assert (
            refresh_at(
                Account(
                    id="x", name="x", provider="oauth2", status=status, access_expires_at=T0 + 60
                ),
                settings,
                0.0,
            )
            is None
        )


def test_refreshes_at_the_deadline_and_not_before() -> None:
    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        account = vault.add("a")  # due at T0 + 1350
        engine.poke()
        await clock.advance(1349)
        assert vault.calls == []
        await clock.advance(1)
        await engine.idle()
        assert vault.calls == [(account.id, "due", T0 + 1350)]
        kinds = [e.kind for e in events]
        assert kinds[:2] == [EventKind.REFRESH_STARTED, EventKind.REFRESH_SUCCEEDED]
        # The next deadline follows from the new lifetime.
        assert engine.next_at == pytest.approx(T0 + 1350 + 1350)

    run(scenario)


def test_backoff_doubles_from_2_s_to_a_5_minute_cap_with_jitter() -> None:
    plain = Refresher(StubVault(FakeClock()), rng=FixedRandom(0.0))
    assert [plain.backoff(n) for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    jittered = Refresher(StubVault(FakeClock()), rng=FixedRandom(1.0))
    assert [jittered.backoff(n) for n in (1, 5, 12)] == pytest.approx([1.6, 25.6, 240])
    assert plain.backoff(1, retry_after=120) == 120  # the server's Retry-After wins
    assert plain.backoff(9, retry_after=10) == 300


def test_transient_failures_retry_on_the_backoff_schedule() -> None:
    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        vault.script = [
            TransientError("boom"),
            TransientError("boom"),
            TransientError("slow down", retry_after=90),
        ]
        account = vault.add("a", expires_in=300)  # 300 s left of 1800: due now
        engine.poke()
        await settle()
        await engine.idle()
        for step in (2, 4, 90):  # 2 s, 4 s, then Retry-After 90 s instead of 8 s
            await clock.advance(step - 0.5)
            attempts = len(vault.calls)
            await clock.advance(0.5)
            await engine.idle()
            assert len(vault.calls) == attempts + 1
        starts = [t - T0 for _, _, t in vault.calls]
        assert starts == [0, 2, 6, 96]
        failed = [e for e in events if e.kind is EventKind.REFRESH_FAILED]
        assert [e.failures for e in failed] == [1, 2, 3]
        assert failed[2].retry_at == T0 + 96
        assert events[-2].kind is EventKind.REFRESH_SUCCEEDED
        assert account.last_refresh_at == T0 + 96

    run(scenario)


def test_rejected_means_no_more_attempts() -> None:
    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        vault.script = [RejectedError("invalid_grant")]
        vault.add("a", expires_in=10)
        engine.poke()
        await settle()
        await engine.idle()
        await clock.advance(3600)
        await engine.idle()
        assert len(vault.calls) == 1
        assert [e.kind for e in events if e.kind is EventKind.SIGN_IN_NEEDED] == [
            EventKind.SIGN_IN_NEEDED
        ]

    run(scenario)


def test_clock_jump_forward_refreshes_at_the_next_check() -> None:
    """A laptop suspended for an hour: the wall clock jumps; the engine, which never sleeps
    longer than 30 s, notices at its next look and refreshes at once."""

    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        vault.add("a")  # due in 1350 s
        engine.poke()
        await settle()
        clock.t += 3600  # the jump itself wakes nobody
        await settle()
        assert vault.calls == []
        await clock.advance(30)  # the engine's longest sleep ends
        await engine.idle()
        assert len(vault.calls) == 1

    run(scenario)


def test_no_storm_when_500_accounts_share_an_expiry() -> None:
    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        for i in range(500):
            vault.add(f"acct-{i}")
        deadlines: list[float] = []
        for a in vault.accounts:
            when = refresh_at(a, engine.settings, engine._state(a.id).jitter)
            assert when is not None
            deadlines.append(when)
        deadlines.sort()
        spread = deadlines[-1] - deadlines[0]
        assert spread > 0.09 * LIFETIME  # jitter spreads them over ~3 minutes
        per_second: dict[int, int] = {}
        for when in deadlines:
            per_second[int(when)] = per_second.get(int(when), 0) + 1
        assert max(per_second.values()) <= 12  # ~3 a second on average, no spike

        # Everything due at once (say after a suspend): never more than 8 in flight.
        vault.gate = asyncio.Event()
        await clock.advance(LIFETIME)
        assert vault.running == 8
        vault.gate.set()
        await engine.idle()
        assert len(vault.calls) == 500
        assert vault.peak == 8 and engine.peak_in_flight == 8

    run(scenario, rng=random.Random(20261123))


def test_pause_holds_refreshes_until_resumed() -> None:
    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        engine.paused = True
        vault.add("a", expires_in=10)
        engine.poke()
        await clock.advance(60)
        assert vault.calls == []
        engine.paused = False
        engine.poke()
        await settle()
        await engine.idle()
        assert len(vault.calls) == 1

    run(scenario)


def test_refresh_token_near_expiry_signs_in_again_or_warns() -> None:
    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        day = 86400.0
        # A password is stored: sign in again a quarter-life (capped at 2 days) before expiry.
        with_password = vault.add(
            "pw",
            fields={"grant": "password", "username": "u"},
            secret_fields=["password"],
            refresh_expires_at=T0 + 1.5 * day,
            refresh_obtained_at=T0 - 28.5 * day,
        )
        # Only the refresh token itself: warn, once a day, from 14 days ahead.
        only_token = vault.add(
            "rt",
            fields={"grant": "refresh_token"},
            secret_fields=["refresh_token"],
            refresh_expires_at=T0 + 10 * day,
            refresh_obtained_at=T0 - 355 * day,
        )
        engine.poke()
        await settle()
        await engine.idle()
        assert [(a, how) for a, how, _ in vault.calls] == [(with_password.id, "resign")]
        warnings = [e for e in events if e.kind is EventKind.REFRESH_TOKEN_EXPIRING]
        assert [(w.account_id, w.message) for w in warnings] == [
            (only_token.id, "rt: the refresh token expires in 10 days")
        ]
        await clock.advance(30)
        await engine.idle()
        assert len([e for e in events if e.kind is EventKind.REFRESH_TOKEN_EXPIRING]) == 1
        assert [how for _, how, _ in vault.calls].count("resign") == 1
        await clock.advance(86400)  # a day later: the reminder comes again
        await engine.idle()
        assert len([e for e in events if e.kind is EventKind.REFRESH_TOKEN_EXPIRING]) == 2

    run(scenario)


def test_settings_come_from_the_vault_file() -> None:
    doc = VaultDoc(
        vault_id="v",
        settings={
            "refresh_ahead_fraction": 0.5,
            "refresh_ahead_min_seconds": 120,
            "refresh_jitter_fraction": 0.0,
        },
    )
    settings = EngineSettings.from_doc(doc)
    assert (settings.ahead_fraction, settings.ahead_min, settings.jitter_fraction) == (
        0.5,
        120.0,
        0.0,
    )
    defaults = EngineSettings.from_doc(VaultDoc(vault_id="v"))
    assert (defaults.ahead_fraction, defaults.ahead_min, defaults.jitter_fraction) == (
        0.25,
        60.0,
        0.10,
    )


def test_a_token_just_over_the_minimum_is_not_due_on_arrival() -> None:
    """expires_in 61 s: max(60 s, 25 %) would make it due at once, over and over."""
    account = _account(T0 + 61, name="e")
    assert refresh_at(account, EngineSettings(), 0.0) == T0 + 30.5


def test_a_jittered_refresh_asks_for_the_jittered_window() -> None:
    """The engine starts an account at its jittered deadline; the freshness threshold it
    passes must be that same window, or the vault finds the token fresh and nothing ends."""

    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        account = vault.add("a")
        jitter = engine._state(account.id).jitter
        assert jitter == 1.0
        expected = 450 + 0.10 * LIFETIME * jitter
        assert engine._min_valid(account) == pytest.approx(expected)

    run(scenario, rng=FixedRandom(1.0))


@pytest.mark.parametrize(
    "settings",
    [
        {"refresh_ahead_fraction": "a quarter", "refresh_ahead_min_seconds": None},
        {"refresh_ahead_fraction": float("nan"), "refresh_jitter_fraction": float("inf")},
        {"refresh_ahead_fraction": 5, "refresh_ahead_min_seconds": -60},
        {"refresh_ahead_fraction": True, "refresh_jitter_fraction": [0.1]},
    ],
)
def test_settings_that_are_not_sane_numbers_take_their_defaults(
    settings: dict[str, object],
) -> None:
    engine = EngineSettings.from_settings(settings)
    assert (engine.ahead_fraction, engine.ahead_min, engine.jitter_fraction) == (0.25, 60.0, 0.10)


@pytest.mark.parametrize(
    ("expires", "issued"),
    [
        (float("inf"), T0),
        (float("nan"), T0),
        (1e400, T0),
        (-5.0, T0),
        (2.6e11, T0),  # beyond year 9999
        (T0 + 1800, float("nan")),
        (T0 + 1800, T0 + 99999),  # "issued" after it expires
    ],
)
def test_a_stored_time_no_clock_can_reach_never_breaks_scheduling(
    expires: float, issued: float
) -> None:
    account = _account(expires, issued=issued)
    when = refresh_at(account, EngineSettings(), 0.5)
    assert when is None or math.isfinite(when)


def test_tokens_that_live_a_moment_are_refreshed_every_2_s_not_in_a_storm() -> None:
    """A server whose tokens live 0.2 s (or a clock misread into that): the engine refreshes
    every 2 s at most, where half the lifetime would be ten refreshes a second."""

    async def scenario(
        clock: FakeClock, vault: StubVault, engine: Refresher, events: list[Event]
    ) -> None:
        account = vault.add("a", expires_in=0.1)
        account.last_refresh_at = clock.t - 0.1
        original = vault._renew

        async def brief(account_id: str, how: str) -> tuple[Account, TokenSet]:
            renewed, tokens = await original(account_id, how)
            renewed.access_expires_at = clock.t + 0.2
            return renewed, tokens

        vault._renew = brief  # type: ignore[method-assign]
        engine.poke()
        for _ in range(80):
            await clock.advance(0.25)
            await engine.idle()
        starts = [t - T0 for _, _, t in vault.calls]
        assert 9 <= len(starts) <= 11, starts
        assert all(b - a >= 2 for a, b in itertools.pairwise(starts)), starts

    run(scenario)


def test_refresh_at_keeps_the_minimum_interval() -> None:
    account = _account(T0 + 0.5)
    assert refresh_at(account, EngineSettings(), 0.0) == T0 + 2
    account.access_expires_at = T0 + 1800
    assert refresh_at(account, EngineSettings(), 0.0) == T0 + 1350


class CachedStubVault(StubVault):
    """As the real store does: the same VaultDoc until the accounts change."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self._doc: VaultDoc | None = None
        self._seen: list[Account] = []

    def load(self) -> VaultDoc:
        if self._doc is None or self._seen != self.accounts:
            self._seen = list(self.accounts)
            self._doc = VaultDoc(vault_id="stub", accounts=list(self.accounts))
        return self._doc


@pytest.mark.parametrize("change", ["none", "clock jump", "file", "limit"])
def test_a_recheck_with_nothing_changed_costs_no_pass(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle in the tray the engine wakes every 30 s to catch suspend and clock changes; when
    the file, the deadlines and the clocks say nothing changed, it does not look at every
    account again. A wall clock that moved unlike the monotonic one, a changed file or five
    quiet minutes make it look."""
    from vault_app.core import engine as engine_module

    async def main() -> None:
        clock = FakeClock()
        monotonic = [0.0]
        monkeypatch.setattr(engine_module, "_monotonic", lambda: monotonic[0])
        vault = CachedStubVault(clock)
        vault.add("a")  # due in 1350 s
        engine = Refresher(vault, clock=clock, rng=FixedRandom(0.0))
        passes = 0
        plan = engine.plan

        def counted(doc: VaultDoc, now: float) -> object:
            nonlocal passes
            passes += 1
            return plan(doc, now)

        monkeypatch.setattr(engine, "plan", counted)
        task = asyncio.ensure_future(engine.run())
        try:
            await settle()
            assert passes == 1
            for _ in range(4):  # two minutes of re-checks, clocks in step
                monotonic[0] += 30
                await clock.advance(30)
            assert passes == 1
            if change == "clock jump":
                clock.t += 3600  # a suspend: the wall clock moved, the monotonic one did not
            elif change == "file":
                vault.add("b")
            elif change == "limit":
                for _ in range(6):
                    monotonic[0] += 30
                    await clock.advance(30)
            monotonic[0] += 30
            await clock.advance(30)
            await engine.idle()
            assert (passes > 1) == (change != "none"), passes
            if change == "clock jump":
                assert len(vault.calls) == 1  # and the jump's refresh happened at once
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())


@pytest.mark.parametrize("what", ["sign in again", "reminder"])
def test_quiet_rechecks_still_catch_a_refresh_token_lapsing(
    what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moment to sign in again before a refresh token lapses (as little as a minute ahead)
    and the first reminder are no access-token deadline: quiet re-checks must not skip them
    for five minutes, or the refresh token lapses first."""
    from vault_app.core import engine as engine_module

    async def main() -> None:
        clock = FakeClock()
        monotonic = [0.0]
        monkeypatch.setattr(engine_module, "_monotonic", lambda: monotonic[0])
        vault = CachedStubVault(clock)
        if what == "sign in again":  # margin: 60 s (when it was obtained is unknown)
            account = vault.add(
                "pw",
                expires_in=86400,
                fields={"grant": "password", "username": "u"},
                secret_fields=["password"],
                refresh_expires_at=T0 + 200,
            )
        else:  # reminders start 14 days ahead, 100 s from now
            account = vault.add(
                "rt",
                expires_in=86400,
                fields={"grant": "refresh_token"},
                secret_fields=["refresh_token"],
                refresh_expires_at=T0 + 14 * 86400 + 100,
            )
        engine = Refresher(vault, clock=clock, rng=FixedRandom(0.0))
        events: list[Event] = []
        engine.subscribe(events.append)
        task = asyncio.ensure_future(engine.run())
        try:
            await settle()
            assert vault.calls == []
            for _ in range(6):  # three minutes of re-checks, clocks in step
                monotonic[0] += 30
                await clock.advance(30)
                await engine.idle()
            if what == "sign in again":
                assert [(a, how) for a, how, _ in vault.calls] == [(account.id, "resign")]
                assert vault.calls[0][2] <= T0 + 170  # at the margin, within a re-check
            else:
                warnings = [e for e in events if e.kind is EventKind.REFRESH_TOKEN_EXPIRING]
                assert [w.account_id for w in warnings] == [account.id]
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_cancelling_the_run_task_just_after_a_poke_ends_it() -> None:
    """Cancelling the engine's task ends it even when a poke ended its sleep in the same
    step: the poke must not be taken for the reason the sleep ended and the cancel lost."""

    async def main() -> None:
        clock = FakeClock()
        vault = StubVault(clock)
        vault.add("a")
        engine = Refresher(vault, clock=clock, rng=FixedRandom(0.0))
        task = asyncio.ensure_future(engine.run())
        await settle()
        engine.poke()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)  # a safety net, not a sync
        try:
            assert task in done and task.cancelled()
        finally:
            await engine.stop()
            await asyncio.wait({task}, timeout=5)

    asyncio.run(main())
