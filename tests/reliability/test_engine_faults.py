"""The engine's reactions against a real loopback server: Retry-After honoured, a rejected
refresh repaired with the stored credential or turned into "sign-in needed" for good, a
server that never answers given up on by the CLI within 60 s with exit 5, a skewed clock
measured away or backed off from (never a loop), and a dripping reply ended at the request
deadline with the account's lock released."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import jwt
import pytest

from tests.cli.support import assert_error, assert_ok
from tests.conftest import REPO, Cli, Result
from tests.fakes import hostile
from tests.fakes.alor import AlorFake
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.providers.wire import age_tokens
from tests.unit.test_engine import FakeClock, settle
from vault_app.core.account_store import AccountStore
from vault_app.core.engine import Event, EventKind, Refresher
from vault_app.core.errors import TransientError
from vault_app.core.model import Status
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault

Scenario = Callable[[Vault, Refresher, FakeClock, list[Event]], Awaitable[None]]


def _run(home: Path, scenario: Scenario) -> None:
    async def main() -> None:
        vault = Vault(home, backend=MemoryBackend())
        clock = FakeClock(time.time())
        engine = Refresher(vault, clock=clock)
        events: list[Event] = []
        engine.subscribe(events.append)
        try:
            await scenario(vault, engine, clock, events)
        finally:
            await engine.stop()
            await vault.aclose()

    asyncio.run(main())


def _password_account(fake: OAuth2Fake) -> tuple[dict[str, str], dict[str, str]]:
    fields = {
        "token_url": fake.token_url,
        "grant": "password",
        "client_id": "c",
        "username": "dana",
    }
    return fields, {"client_secret": "c-secret-0001", "password": "dana-password-1"}


@pytest.fixture
def fake() -> Iterator[OAuth2Fake]:
    """A token endpoint knowing client "c" and user "dana" (see _password_account)."""
    with OAuth2Fake() as server:
        server.add_client("c", "c-secret-0001")
        server.add_user("dana", "dana-password-1")
        yield server


def test_retry_after_is_honoured(vault_home: Path, fake: OAuth2Fake) -> None:

    async def scenario(
        vault: Vault, engine: Refresher, clock: FakeClock, events: list[Event]
    ) -> None:
        await vault.add("a", "oauth2", *_password_account(fake))
        fake.inject("/token", Fault.rate_limited(120))
        outcome = await engine.refresh_now(vault.load().accounts)
        (event,) = outcome.values()
        assert event.kind is EventKind.REFRESH_FAILED
        assert event.retry_at is not None and event.retry_at - clock.now() >= 120
        # Nothing is tried before the server's time is up; right after, it works.
        task = asyncio.ensure_future(engine.run())
        await clock.advance(119)
        await engine.idle()
        assert len(fake.requests_to("/token")) == 2
        await clock.advance(30)
        await settle()
        await engine.idle()
        assert len(fake.requests_to("/token")) == 3
        assert events[-2].kind is EventKind.REFRESH_SUCCEEDED
        await engine.stop()
        await task

    _run(vault_home, scenario)


def test_invalid_grant_with_a_stored_password_signs_in_again(
    vault_home: Path, fake: OAuth2Fake
) -> None:

    async def scenario(
        vault: Vault, engine: Refresher, clock: FakeClock, events: list[Event]
    ) -> None:
        account, _ = await vault.add("a", "oauth2", *_password_account(fake))
        fake.inject("/token", Fault.status(400, {"error": "invalid_grant"}))
        outcome = await engine.refresh_now([account])
        assert outcome[account.id].kind is EventKind.REFRESH_SUCCEEDED
        sent = [r.form()["grant_type"][0] for r in fake.requests_to("/token")]
        assert sent == ["password", "refresh_token", "password"]
        assert vault.load().find("a").status is Status.OK

    _run(vault_home, scenario)


def test_invalid_grant_without_a_credential_stops_for_good(
    vault_home: Path, fake: OAuth2Fake
) -> None:
    first = fake.issue_refresh_token("c", "dana")
    fields = {"token_url": fake.token_url, "grant": "refresh_token", "client_id": "c"}

    async def scenario(
        vault: Vault, engine: Refresher, clock: FakeClock, events: list[Event]
    ) -> None:
        account, _ = await vault.add(
            "a", "oauth2", fields, {"client_secret": "c-secret-0001", "refresh_token": first}
        )
        fake.inject("/token", Fault.status(400, {"error": "invalid_grant"}), times=None)
        sent = len(fake.requests)
        outcome = await engine.refresh_now([account])
        assert outcome[account.id].kind is EventKind.SIGN_IN_NEEDED
        assert len(fake.requests) == sent + 1  # no sign-in attempt: nothing to sign in with
        assert vault.load().find("a").status is Status.SIGN_IN_NEEDED
        task = asyncio.ensure_future(engine.run())
        for _ in range(5):
            await clock.advance(3600)
            await engine.idle()
        assert len(fake.requests) == sent + 1  # and no more attempts, ever
        await engine.stop()
        await task

    _run(vault_home, scenario)


def test_cli_gives_up_on_a_silent_server_within_60_s(cli: Cli) -> None:
    """A server that accepts connections and never answers: exit 5 within a minute, with
    the default timeouts (no test knob)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        assert_ok(
            cli(
                "add",
                "silent",
                "--provider",
                "apirone",
                "--set",
                f"base_url=http://127.0.0.1:{port}/api/v2",
                "--set",
                "login=x",
                "--secret",
                "password",
                "--no-sign-in",
                stdin="transfer-key-0009\n",
            )
        )
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "vault_app", "token", "silent"],
            cwd=REPO,
            env=dict(cli.env, TOKEN_VAULT_LOG="WARNING"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        elapsed = time.monotonic() - started
        line = assert_error(Result(proc.returncode, proc.stdout, proc.stderr), 5)
        assert "did not answer in time" in line
        assert elapsed < 60
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


# -- clocks (issue 10.4) ---------------------------------------------------------------------


def _alor(fake: AlorFake) -> tuple[dict[str, str], dict[str, str]]:
    return {"oauth_url": fake.base_url}, {"refresh_token": "alor-refresh-token-0001"}


def test_a_broker_40_minutes_behind_gives_a_30_minute_token(vault_home: Path) -> None:
    """The issue's broker: {"AccessToken": JWT} with iat 40 min ago and exp 30 min after
    that, its Date header as far behind. The token lives 30 minutes here, the countdown says
    so, and the engine leaves it alone for those minutes."""
    with AlorFake(access_lifetime=1800) as fake:
        fake.add_refresh_token("alor-refresh-token-0001")
        fake.advance(-40 * 60)

        async def scenario(
            vault: Vault, engine: Refresher, clock: FakeClock, events: list[Event]
        ) -> None:
            account, failure = await vault.add("alor", "alor", *_alor(fake))
            assert failure is None
            _, tokens = await vault.token("alor")
            claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
            assert claims["exp"] < time.time()  # by our clock it "expired" 10 minutes ago
            left = (account.access_expires_at or 0) - time.time()
            assert 1790 < left <= 1802
            task = asyncio.ensure_future(engine.run())
            for _ in range(15):
                await clock.advance(1)
                await engine.idle()
            await engine.stop()
            await task
            assert len(fake.requests_to("/refresh")) == 1  # the sign-in only

        _run(vault_home, scenario)


def test_a_token_expired_on_arrival_backs_off_instead_of_looping(vault_home: Path) -> None:
    """A server whose tokens are expired by our clock, with neither a Date header nor an
    iat to tell whose clock is wrong: each refresh is a failure naming the clock, retried
    with backoff (today: 126 requests in 15 s), and the expired token is never served."""
    with AlorFake(access_lifetime=600) as fake:
        fake.add_refresh_token("alor-refresh-token-0001")
        case = hostile.BY_NAME["expired-on-arrival-no-date-no-iat"]

        async def scenario(
            vault: Vault, engine: Refresher, clock: FakeClock, events: list[Event]
        ) -> None:
            await vault.add("alor", "alor", *_alor(fake))
            age_tokens(vault, "alor", 600)  # due now
            fake.inject("/refresh", case.fault(hostile.DIALECTS["alor"], fake), times=None)
            sent = len(fake.requests)
            task = asyncio.ensure_future(engine.run())
            for _ in range(15):
                await clock.advance(1)
                await engine.idle()
            await engine.stop()
            await task
            assert 1 <= len(fake.requests) - sent <= 4
            failed = [e for e in events if e.kind is EventKind.REFRESH_FAILED]
            assert failed and all("clock" in (e.message or "") for e in failed)
            assert [e.failures for e in failed] == list(range(1, len(failed) + 1))
            account = vault.load().find("alor")
            assert account.status is Status.ERROR and "clock" in (account.last_error or "")
            with pytest.raises(TransientError, match="clock"):
                await vault.token("alor")

        _run(vault_home, scenario)


def test_token_never_exits_0_with_an_expired_token(cli: Cli) -> None:
    with AlorFake(access_lifetime=600) as fake:
        fake.add_refresh_token("alor-refresh-token-0002")
        case = hostile.BY_NAME["expired-on-arrival-no-date-no-iat"]
        fake.inject("/refresh", case.fault(hostile.DIALECTS["alor"], fake), times=None)
        added = cli(
            "add",
            "skewed",
            "--provider",
            "alor",
            "--set",
            f"oauth_url={fake.base_url}",
            "--secret",
            "refresh_token",
            stdin="alor-refresh-token-0002\n",
        )
        line = assert_error(added, 5, contains="clock")
        assert "expired when it arrived" in line
        for args in (("token", "skewed"), ("token", "skewed", "--force-refresh")):
            assert_error(cli(*args), 5, contains="clock")


# -- limits (issue 10.6) -----------------------------------------------------------------------


def test_a_dripping_reply_ends_at_the_deadline_and_frees_the_lock(cli: Cli) -> None:
    """Headers, then one byte a second: `token` gives up at the request deadline with exit
    5, and a parallel `token --force-refresh`, waiting on the account's lock meanwhile, gets
    it then and succeeds instead of timing out."""
    with AlorFake(access_lifetime=600) as fake:
        fake.add_refresh_token("alor-refresh-token-0003")
        assert_ok(
            cli(
                "add",
                "drip",
                "--provider",
                "alor",
                "--set",
                f"oauth_url={fake.base_url}",
                "--secret",
                "refresh_token",
                stdin="alor-refresh-token-0003\n",
            )
        )
        AccountStore(cli.home).update(lambda doc: doc.settings.update(request_deadline=3))
        drip = hostile.Case(
            "drip-1-byte-per-s",
            "timing",
            hostile.Outcome.TRANSIENT,
            hostile.raw_body(hostile.genuine_bytes, drip=1.0),
        )
        # Twice: a lost reply is retried once with the same token (ALOR has no password).
        fake.inject("/refresh", drip.fault(hostile.DIALECTS["alor"], fake), times=2)
        sent = len(fake.requests)
        started = time.monotonic()
        first = _spawn(cli, "token", "drip", "--force-refresh")
        _wait_for(lambda: len(fake.requests) > sent)  # the first holds the lock now
        second = _spawn(cli, "token", "drip", "--force-refresh")
        out1, err1 = first.communicate(timeout=120)
        out2, err2 = second.communicate(timeout=120)
        elapsed = time.monotonic() - started
        assert_error(Result(first.returncode, out1, err1), 5, contains="did not answer in time")
        assert second.returncode == 0, err2
        assert fake.is_active(out2.strip())
        assert elapsed < 40


def _spawn(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vault_app", *args],
        cwd=REPO,
        env=dict(cli.env, TOKEN_VAULT_LOG="WARNING"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], limit: float = 60.0) -> None:
    """Until `condition` holds (an event in another process), with a generous safety net."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
