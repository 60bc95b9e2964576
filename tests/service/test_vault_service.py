"""VaultService's token rules, in one process against the OAuth2 fake: tokens from memory (one
keyring read per stored generation), refreshes through the engine, one refresh for concurrent
callers, and never two refreshes for one request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakes.cached import issued_ago
from tests.fakes.oauth2 import OAuth2Fake
from vault_app.core.engine import EventKind, Refresher
from vault_app.core.errors import RejectedError, UserFacingError
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.service import paths, protocol
from vault_app.service.vault_service import VaultService

T = TypeVar("T")


class CountingBackend(MemoryBackend):
    """The in-memory keyring, counting reads (what "from memory" must avoid)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return super().get_password(service, username)


@pytest.fixture
def oauth() -> Iterator[OAuth2Fake]:
    with OAuth2Fake(access_lifetime=600) as fake:
        fake.add_client("svc-client", "svc-secret-0001")
        yield fake


def scenario(
    home: Path, fake: OAuth2Fake, work: Callable[[VaultService, CountingBackend], Awaitable[T]]
) -> T:
    backend = CountingBackend()

    async def main() -> T:
        vault = Vault(home, backend=backend)
        account, failure = await vault.add(
            "cc",
            "oauth2",
            {"token_url": fake.token_url, "client_id": "svc-client"},
            {"client_secret": "svc-secret-0001"},
        )
        assert failure is None and account.generation > 0
        service = VaultService(vault, Refresher(vault), app="test")
        try:
            return await work(service, backend)
        finally:
            await service.stop()
            await service.engine.stop()
            await vault.aclose()

    return asyncio.run(main())


def test_tokens_come_from_memory_after_one_read(vault_home: Path, oauth: OAuth2Fake) -> None:
    async def work(service: VaultService, backend: CountingBackend) -> None:
        backend.reads = 0
        _, first = await service.token("cc")
        after_first = backend.reads
        assert after_first >= 1
        for _ in range(20):
            _, again = await service.token("cc")
            assert again.access_token == first.access_token
        assert backend.reads == after_first
        # A refresh stores a new generation: read once more, then memory again.
        _, fresh = await service.token("cc", force=True)
        assert fresh.access_token != first.access_token
        reads = backend.reads
        assert (await service.token("cc"))[1].access_token == fresh.access_token
        await service.token("cc")
        assert backend.reads == reads  # the refresh read its new generation once, already

    scenario(vault_home, oauth, work)


def test_concurrent_callers_share_one_refresh(vault_home: Path, oauth: OAuth2Fake) -> None:
    # The first token arrives with 200 s left of its 600 (issued 400 s before it was sent):
    # past the first half of its life, so callers who want 900 s are not served it.
    oauth.inject("/token", issued_ago(oauth, 400))

    async def work(service: VaultService, _backend: CountingBackend) -> None:
        before = len(oauth.requests_to("/token"))
        # Every caller needs more than the 200 s the token has: one refresh serves them all.
        oauth.access_lifetime = 3600
        results = await asyncio.gather(*(service.token("cc", min_valid=900) for _ in range(12)))
        assert len({tokens.access_token for _, tokens in results}) == 1
        assert len(oauth.requests_to("/token")) == before + 1
        # Forced at once: still one.
        forced = await asyncio.gather(*(service.token("cc", force=True) for _ in range(12)))
        assert len({tokens.access_token for _, tokens in forced}) == 1
        assert len(oauth.requests_to("/token")) == before + 2

    scenario(vault_home, oauth, work)


def test_a_token_shorter_than_asked_costs_one_refresh_not_two(
    vault_home: Path, oauth: OAuth2Fake
) -> None:
    # The first token arrives with 200 s left of its 600 (issued 400 s before it was sent):
    # past the first half of its life, so it is refreshed for a caller who wants more; the
    # new one lives 600 s, less than asked, and is the answer all the same.
    oauth.inject("/token", issued_ago(oauth, 400))

    async def work(service: VaultService, _backend: CountingBackend) -> None:
        before = len(oauth.requests_to("/token"))
        _, tokens = await service.token("cc", min_valid=7200)  # more than any token lives
        assert len(oauth.requests_to("/token")) == before + 1
        remaining = tokens.remaining()
        assert remaining is not None and 300 < remaining <= 600  # the new one, not the first

    scenario(vault_home, oauth, work)


def test_refreshes_go_through_the_engine_and_failures_keep_their_class(
    vault_home: Path, oauth: OAuth2Fake
) -> None:
    seen: list[EventKind] = []

    async def work(service: VaultService, _backend: CountingBackend) -> Any:
        service.engine.subscribe(lambda event: seen.append(event.kind))
        results = await service.refresh(("cc",), False)
        assert results[0]["ok"] is True and results[0]["expires_at"] is not None
        assert EventKind.REFRESH_STARTED in seen and EventKind.REFRESH_SUCCEEDED in seen
        oauth.clients["svc-client"].secret = "changed"  # rejected, and so is a new sign-in
        with pytest.raises(RejectedError):
            await service.token("cc", force=True)
        outcome = await service.refresh((), True)
        assert outcome[0]["ok"] is False and outcome[0]["exit"] == 4

    scenario(vault_home, oauth, work)


def test_each_socket_request_reports_activity(vault_home: Path, oauth: OAuth2Fake) -> None:
    async def work(service: VaultService, backend: CountingBackend) -> None:
        seen: list[int] = []
        service.activity = lambda: seen.append(1)
        await service.handle(protocol.Hello())
        with pytest.raises(UserFacingError):
            await service.handle(protocol.TokenRequest("no-such-account", 0.0, False))
        assert len(seen) == 2

    scenario(vault_home, oauth, work)


@pytest.mark.parametrize("sent", [b"", b"not json\n", b'{"op": "hello"'])
def test_a_socket_connection_with_no_request_answered_reports_activity_too(
    vault_home: Path, oauth: OAuth2Fake, sent: bytes
) -> None:
    """A connection that goes away or sends no proper request never reaches handle(), yet
    leaves garbage: a client looping on those must not go 5 minutes without a look by the
    window's collector (gui/collector.py)."""

    async def work(service: VaultService, _backend: CountingBackend) -> None:
        seen: list[int] = []
        service.activity = lambda: seen.append(1)
        await service.start_socket()
        reader, writer = await asyncio.open_unix_connection(
            str(paths.socket_path(service.vault.store.home))
        )
        writer.write(sent)
        writer.write_eof()
        await reader.read()  # until the server closes the connection
        writer.close()
        assert seen

    scenario(vault_home, oauth, work)
