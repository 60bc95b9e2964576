"""`--demo`: the loopback demo server, the seeded in-memory vault, and what each demo account
shows within a minute, without ever touching the real keyring or vault home."""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import os
import random
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from vault_app.core import jwtinfo, secret_store
from vault_app.core.engine import EngineSettings, Event, EventKind, Refresher, refresh_at
from vault_app.core.errors import RejectedError
from vault_app.core.model import Status
from vault_app.core.vault import Vault
from vault_app.demo import server as demo
from vault_app.demo import start_demo
from vault_app.demo.seed import demo_accounts, demo_vault, remove_demo_home, seed_demo

GOOD = ("alor-main", "te-trading", "apirone-wallet", "oauth-reports", "tv-broker")
SHORT = ("flaky-gateway", "expired-session")
ALL = (*GOOD, "static-api-key", *SHORT)


@pytest.fixture(autouse=True)
def no_system_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """keyring's `fail` backend, and a tripwire: the demo must never build the system one."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

    def tripwire(self: object) -> None:
        raise AssertionError("the demo reached for the system keyring")

    monkeypatch.setattr(secret_store._KeyringBackend, "__init__", tripwire)


@pytest.fixture
def server() -> Iterator[demo.DemoServer]:
    with demo.DemoServer() as running:
        yield running


@pytest.fixture
def demo_home() -> Iterator[tuple[Vault, Path]]:
    vault, home = demo_vault()
    try:
        yield vault, home
    finally:
        remove_demo_home(home)
        assert not home.exists()


def test_seeded_demo_shows_every_outcome(
    server: demo.DemoServer, demo_home: tuple[Vault, Path], vault_home: Path
) -> None:
    vault, home = demo_home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700

    async def scenario() -> None:
        try:
            await seed_demo(vault, server.url)
            now = time.time()
            doc = vault.load()
            accounts = {a.name: a for a in doc.accounts}
            assert set(accounts) == set(ALL)
            assert all(a.status is Status.OK for a in doc.accounts)

            expected_life = {**dict.fromkeys(GOOD, 120.0), **dict.fromkeys(SHORT, 50.0)}
            expected_life["static-api-key"] = 600.0
            settings = EngineSettings.from_doc(doc)
            for name, life in expected_life.items():
                account = accounts[name]
                assert account.access_expires_at is not None
                assert life - 2 <= account.access_expires_at - now <= life + 1, name
                if name == "static-api-key":
                    continue
                # The promise: the first background refresh falls within the first minute
                # whatever the per-account jitter (the short-lived ones within half a minute).
                limit = 30 if name in SHORT else 60
                for jitter in (0.0, 1.0):
                    due = refresh_at(account, settings, jitter)
                    assert due is not None and due - now <= limit, name

            _, before = await vault.token("tv-broker")
            engine = Refresher(vault)
            outcome = await engine.refresh_now(vault.load().accounts)
            kinds = {accounts_by_id(doc)[aid]: event.kind for aid, event in outcome.items()}
            assert kinds == {
                **dict.fromkeys((*GOOD, "static-api-key"), EventKind.REFRESH_SUCCEEDED),
                "flaky-gateway": EventKind.REFRESH_FAILED,
                "expired-session": EventKind.SIGN_IN_NEEDED,
            }
            flaky = outcome[accounts["flaky-gateway"].id]
            assert flaky.retry_at is not None
            assert flaky.retry_at - time.time() >= demo.FLAKY_RETRY_AFTER - 1  # Retry-After
            assert "503" in (flaky.message or "")

            after_doc = {a.name: a for a in vault.load().accounts}
            assert after_doc["flaky-gateway"].status is Status.ERROR
            assert after_doc["expired-session"].status is Status.SIGN_IN_NEEDED
            assert all(after_doc[n].status is Status.OK for n in GOOD)

            # Rotation: the refresh token changed, and the server no longer takes the old one.
            _, after = await vault.token("tv-broker")
            assert after.refresh_token and after.refresh_token != before.refresh_token
            status, body, _ = post_form(
                server,
                "/oauth/token",
                {
                    "grant_type": "refresh_token",
                    "refresh_token": before.refresh_token or "",
                    "client_id": demo.BROKER_CLIENT_ID,
                    "client_secret": demo.BROKER_CLIENT_SECRET,
                },
            )
            assert (status, body["error"]) == (400, "invalid_grant")

            # Revoke reaches the server for Apirone (logout) and OAuth2 (RFC 7009).
            for name in ("apirone-wallet", "tv-broker", "oauth-reports"):
                assert (await vault.revoke(name)).server_side, name
            status, _, _ = post_form(
                server,
                "/oauth/token",
                {
                    "grant_type": "refresh_token",
                    "refresh_token": after.refresh_token,
                    "client_id": demo.BROKER_CLIENT_ID,
                    "client_secret": demo.BROKER_CLIENT_SECRET,
                },
            )
            assert status == 400
        finally:
            await vault.aclose()

    asyncio.run(scenario())
    # Everything went to the demo home: the test's TOKEN_VAULT_HOME was never created.
    assert not vault_home.exists()
    assert os.environ["TOKEN_VAULT_HOME"] == str(vault_home)
    assert (home / "accounts.json").is_file()


def test_background_engine_reaches_each_state_on_its_own(
    demo_home: tuple[Vault, Path], vault_home: Path
) -> None:
    """The first minute of the demo, compressed: tokens living 4 s (the short ones 2 s)."""
    vault, _home = demo_home

    async def scenario() -> None:
        seen: dict[str, set[EventKind]] = {}
        with demo.DemoServer(lifetime=4, short_lifetime=2) as fast:
            engine = Refresher(vault)

            def record(event: Event) -> None:
                seen.setdefault(event.name, set()).add(event.kind)

            def done() -> bool:
                return all(EventKind.REFRESH_SUCCEEDED in seen.get(n, ()) for n in GOOD) and (
                    EventKind.REFRESH_FAILED in seen.get("flaky-gateway", ())
                    and EventKind.SIGN_IN_NEEDED in seen.get("expired-session", ())
                )

            engine.subscribe(record)
            try:
                await seed_demo(vault, fast.url)
                runner = asyncio.ensure_future(engine.run())
                deadline = time.monotonic() + 8
                while not done() and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                await engine.stop()
                await asyncio.wait_for(runner, 5)
            finally:
                await vault.aclose()
        assert done(), seen
        assert "static-api-key" not in seen  # a static key is never refreshed in the background
        statuses = {a.name: a.status for a in vault.load().accounts}
        assert statuses["expired-session"] is Status.SIGN_IN_NEEDED
        assert statuses["flaky-gateway"] is Status.ERROR

    asyncio.run(scenario())
    assert not vault_home.exists()


def test_background_engine_does_not_spin(demo_home: tuple[Vault, Path]) -> None:
    """Each account is refreshed about once per half-life, not over and over."""
    vault, _home = demo_home
    succeeded: dict[str, int] = {}

    async def scenario() -> None:
        with demo.DemoServer(lifetime=4, short_lifetime=2) as fast:
            engine = Refresher(vault, rng=random.Random(7))

            def record(event: Event) -> None:
                if event.kind is EventKind.REFRESH_SUCCEEDED:
                    succeeded[event.name] = succeeded.get(event.name, 0) + 1

            engine.subscribe(record)
            try:
                await seed_demo(vault, fast.url)
                runner = asyncio.ensure_future(engine.run())
                await asyncio.sleep(3)
                await engine.stop()
                await asyncio.wait_for(runner, 5)
            finally:
                await vault.aclose()

    asyncio.run(scenario())
    # 4-s tokens are due at half-life (about every 2 s): a handful in 3 s, never dozens.
    assert max(succeeded.values(), default=0) <= 6, succeeded


def test_start_demo_seeds_outside_any_loop_and_works_in_another(
    vault_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GUI's contract: called before its event loop exists, used from that loop later."""
    at_exit: list[tuple[Any, tuple[Any, ...]]] = []
    monkeypatch.setattr(atexit, "register", lambda fn, *args: at_exit.append((fn, args)))
    vault, server, note = start_demo()
    try:
        home = vault.store.home
        assert home.is_dir() and server.url.split("//")[1] in note
        assert sorted(a.name for a in vault.load().accounts) == sorted(ALL)
        assert isinstance(vault.secrets().backend(), secret_store.MemoryBackend)

        async def later() -> None:  # a new loop, like the GUI's qasync loop
            try:
                _, tokens = await vault.token("alor-main", force=True)
                info = jwtinfo.inspect(tokens.access_token)
                assert info is not None and info.claims["portfolios"] == "D12345 G67890"
                await vault.refresh("tv-broker")
            finally:
                await vault.aclose()

        asyncio.run(later())
    finally:
        server.stop()
    with pytest.raises(RuntimeError):
        _ = server.url
    assert at_exit == [(remove_demo_home, (home,))]
    remove_demo_home(home)  # what the process exit would do
    assert not home.exists()
    assert not vault_home.exists()


def test_remove_demo_home_refuses_other_folders(tmp_path: Path) -> None:
    precious = tmp_path / "token-vault-demo-not-really"
    precious.mkdir()
    with pytest.raises(ValueError):
        remove_demo_home(precious)
    with pytest.raises(ValueError):
        remove_demo_home(tmp_path)
    assert precious.is_dir()


def test_demo_accounts_cover_every_provider() -> None:
    accounts = demo_accounts("http://127.0.0.1:1")
    assert {a.provider for a in accounts} == {
        "alor",
        "traderevolution",
        "apirone",
        "oauth2",
        "static",
    }
    assert len({a.name for a in accounts}) == len(accounts) == len(ALL)
    for account in accounts:
        assert account.shows
        # Secrets stay out of the repr that a log line or traceback could print.
        assert all(value not in repr(account) for value in account.secrets.values())


# -- the server on the wire -------------------------------------------------------------------


def test_server_rejects_what_it_does_not_know(
    server: demo.DemoServer, capfd: pytest.CaptureFixture[str]
) -> None:
    te_bad = post_json(server, "/te/auth/token", {"login": demo.TE_LOGIN, "password": "wrong"})
    assert te_bad[0] == 401 and te_bad[1]["error"] == "invalid_credentials"
    assert post_json(server, "/alor/refresh", {"token": "nope"})[0] == 401
    assert post_json(server, "/alor/refresh", {})[0] == 400
    assert request(server, "POST", "/alor/refresh", b"not json", "application/json")[0] == 400
    apirone_bad = post_json(server, "/apirone/auth/login", {"login": "x", "password": "y"})
    assert apirone_bad[0] == 401

    # OAuth: a wrong secret over Basic is a 401 with a challenge, per RFC 6749 5.2.
    basic = "Basic " + base64.b64encode(f"{demo.REPORTS_CLIENT_ID}:wrong".encode()).decode()
    status, body, headers = post_form(
        server, "/oauth/token", {"grant_type": "client_credentials"}, {"Authorization": basic}
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["www-authenticate"].startswith("Basic")
    reports = {"client_id": demo.REPORTS_CLIENT_ID, "client_secret": demo.REPORTS_CLIENT_SECRET}
    status, body, _ = post_form(server, "/oauth/token", {"grant_type": "magic", **reports})
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body, _ = post_form(server, "/oauth/token", {"grant_type": "password", **reports})
    assert (status, body["error"]) == (400, "unauthorized_client")
    broker = {"client_id": demo.BROKER_CLIENT_ID, "client_secret": demo.BROKER_CLIENT_SECRET}
    wrong_user = {"grant_type": "password", "username": "eve", "password": "x", **broker}
    status, body, _ = post_form(server, "/oauth/token", wrong_user)
    assert (status, body["error"]) == (400, "invalid_grant")

    # No secret in a URL: any query string is refused outright.
    status, body, _ = request(server, "POST", "/alor/refresh?token=" + demo.ALOR_REFRESH_TOKEN)
    assert status == 400 and "URL" in body["message"]
    assert request(server, "GET", "/nowhere")[0] == 404
    assert request(server, "GET", "/oauth/token")[0] == 405
    assert request(server, "POST", "/te/auth/token", b"x" * (demo.MAX_BODY + 1))[0] == 413

    # The flaky gateway: sign-in works, refresh never does.
    status, pair, _ = post_json(
        server, "/flaky/te/auth/token", {"login": demo.FLAKY_LOGIN, "password": demo.FLAKY_PASSWORD}
    )
    assert status == 200
    status, _, headers = request(
        server, "GET", "/flaky/te/auth/token/refresh", headers={"token": pair["refreshToken"]}
    )
    assert status == 503 and headers["retry-after"] == str(demo.FLAKY_RETRY_AFTER)

    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # the server logs nothing to the terminal


def test_server_tokens_rotate_and_die_on_logout() -> None:
    with demo.DemoServer(lifetime=30) as server:
        start = time.time()
        status, body, _ = post_json(server, "/alor/refresh", {"token": demo.ALOR_REFRESH_TOKEN})
        assert status == 200
        claims = jwt_claims(body["AccessToken"])
        assert 29 <= claims["exp"] - start <= 31
        assert jwtinfo.inspect(body["AccessToken"]) is not None  # our own reader takes it

        credentials = {"login": demo.TE_LOGIN, "password": demo.TE_PASSWORD}
        status, first, _ = post_json(server, "/te/auth/token", credentials)
        assert status == 200 and first["expiresIn"] == 30
        refresh_path = "/te/auth/token/refresh"
        status, second, _ = request(
            server, "GET", refresh_path, headers={"token": first["refreshToken"]}
        )
        assert status == 200 and second["refreshToken"] != first["refreshToken"]
        reused = request(server, "GET", refresh_path, headers={"token": first["refreshToken"]})
        assert reused[0] == 401

        login = {"login": demo.APIRONE_LOGIN, "password": demo.APIRONE_TRANSFER_KEY}
        status, pair, _ = post_json(server, "/apirone/auth/login", login)
        assert status == 200 and pair["login"] == demo.APIRONE_LOGIN
        bearer = {"Authorization": f"Bearer {pair['access-token']}"}
        assert request(server, "POST", "/apirone/auth/logout", headers=bearer)[:2] == (200, {})
        again = {"Authorization": f"Bearer {pair['refresh-token']}"}
        assert request(server, "POST", "/apirone/auth/refresh-token", headers=again)[0] == 401
        assert request(server, "POST", "/apirone/auth/logout", headers=bearer)[0] == 401

        # The expired-session token works exactly once, and what it buys is already dead.
        cli = {"client_id": demo.CLI_CLIENT_ID}
        grant = {"grant_type": "refresh_token", **cli}
        token = {"refresh_token": demo.EXPIRED_SESSION_REFRESH_TOKEN}
        status, issued, _ = post_form(server, "/oauth/token", {**grant, **token})
        assert status == 200 and issued["expires_in"] == 30
        status, body, _ = post_form(
            server, "/oauth/token", {**grant, "refresh_token": issued["refresh_token"]}
        )
        assert (status, body["error"]) == (400, "invalid_grant")
        # RFC 7009 2.2: revoking an unknown token is still a 200.
        assert post_form(server, "/oauth/revoke", {"token": "unknown", **cli})[0] == 200


def test_vault_sees_a_rejected_password_as_rejected(
    server: demo.DemoServer, demo_home: tuple[Vault, Path]
) -> None:
    vault, _home = demo_home

    async def scenario() -> None:
        try:
            account, failure = await vault.add(
                "wrong",
                "traderevolution",
                {"base_url": f"{server.url}/te", "login": demo.TE_LOGIN},
                {"password": "not-the-demo-password"},
            )
            assert isinstance(failure, RejectedError)
            assert account.status is Status.SIGN_IN_NEEDED
        finally:
            await vault.aclose()

    asyncio.run(scenario())


# -- helpers ----------------------------------------------------------------------------------


def accounts_by_id(doc: Any) -> dict[str, str]:
    return {a.id: a.name for a in doc.accounts}


def jwt_claims(token: str) -> dict[str, Any]:
    info = jwtinfo.inspect(token)
    assert info is not None
    return info.claims


def request(
    server: demo.DemoServer,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request with the standard library: status, parsed JSON body (or None), headers."""
    sent = dict(headers or {})
    if content_type:
        sent["Content-Type"] = content_type
    req = urllib.request.Request(server.url + path, data=body, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=5) as reply:
            status, raw, got = reply.status, reply.read(), reply.headers
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), exc.headers
    parsed = json.loads(raw) if raw else None
    return status, parsed, {k.lower(): v for k, v in got.items()}


def post_json(
    server: demo.DemoServer, path: str, data: dict[str, Any]
) -> tuple[int, Any, dict[str, str]]:
    return request(server, "POST", path, json.dumps(data).encode(), "application/json")


def post_form(
    server: demo.DemoServer,
    path: str,
    data: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    body = urlencode(data).encode()
    return request(server, "POST", path, body, "application/x-www-form-urlencoded", headers)
