"""The engine's reactions against a real loopback server: Retry-After honoured, a rejected
refresh repaired with the stored credential or turned into "sign-in needed" for good, and a
server that never answers given up on by the CLI within 60 s with exit 5."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.support import assert_error, assert_ok
from tests.conftest import REPO, Cli, Result
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.unit.test_engine import FakeClock, settle
from vault_app.core.engine import Event, EventKind, Refresher
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
