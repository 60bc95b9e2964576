"""Helpers for the per-provider wire-format tests: run a scenario against a fresh Vault on the
in-memory keyring, snapshot what is stored, and the fault table every provider faces."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest

from tests.fakes.base import ProviderFake
from tests.fakes.server import ANY_PATH, Fault
from vault_app.core.errors import TransientError, UsageError
from vault_app.core.model import Status
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault

F = TypeVar("F", bound=ProviderFake)

Scenario = Callable[[Vault], Awaitable[None]]


def run(home: Path, scenario: Scenario, backend: MemoryBackend | None = None) -> None:
    """Run `scenario` with a Vault on the in-memory keyring; the Vault is always closed."""

    async def main() -> None:
        vault = Vault(home, backend=backend or MemoryBackend())
        try:
            await scenario(vault)
        finally:
            await vault.aclose()

    asyncio.run(main())


@contextmanager
def serving(fake: F) -> Iterator[F]:
    """Serve the fake; afterwards it must have seen no secret in a URL and not crashed."""
    with fake:
        yield fake
        assert fake.errors == [], fake.errors
        assert fake.violations == [], fake.violations


@dataclass(frozen=True)
class Stored:
    """What the vault holds for one account: its generation and its secret bundle."""

    generation: int
    bundle: str | None  # the bundle as canonical JSON, None when nothing is stored


def stored(vault: Vault, name: str) -> Stored:
    account = vault.load().find(name)
    bundle = vault.read_current_sync(account)
    text = json.dumps(bundle.to_json(), sort_keys=True) if bundle is not None else None
    return Stored(account.generation, text)


def changed_elsewhere(vault: Vault, account_id: str) -> None:
    """Mark the account as changed by another process, as one would leave it: holding the
    account's lock file and stamping it. A test that rewrites keyring items behind the
    vault's back calls this, so the vault reads them again instead of trusting what it
    wrote itself (vault._Held)."""
    import fcntl

    path = vault.store.lock_dir / f"{account_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, b"another-process\n", 0)
        os.ftruncate(fd, len(b"another-process\n"))
    finally:
        os.close(fd)


def age_tokens(vault: Vault, name: str, seconds: float) -> None:
    """Make the stored tokens `seconds` older, as if this machine's clock had moved on (the
    vault measures a token's life on its own clock, so moving the server's clock does not
    expire it here). Rewrites the current keyring item and the metadata in place."""
    account = vault.load().find(name)
    bundle = vault.read_current_sync(account)
    assert bundle is not None and bundle.tokens is not None
    tokens = bundle.tokens
    tokens.obtained_at -= seconds
    if tokens.expires_at is not None:
        tokens.expires_at -= seconds
    store = vault.secrets()
    store.call(lambda: store.write_bundle(account.id, account.generation, bundle))
    changed_elsewhere(vault, account.id)

    def change(doc: Any) -> None:
        stored = doc.find(name)
        stored.access_expires_at = tokens.expires_at
        if stored.last_refresh_at is not None:
            stored.last_refresh_at -= seconds

    vault.store.update(change)


def claims_of(token: str) -> dict[str, Any]:
    """Unverified JWT claims (tests only read what the fakes signed)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text.strip(), "empty error message"
    assert "\n" not in text and "\r" not in text, text
    return text


@dataclass(frozen=True)
class FaultCase:
    fault: Fault
    says: str  # a fragment the one-line message must contain
    retry_after: float | None = None
    # The server may have acted on the request (a lost or unusable 2xx reply): an account
    # with a primary credential then signs in instead of resending its refresh token, and
    # one without retries a lost reply once with the same token (DESIGN.md section 5).
    lost: bool = False

    def times(self, can_sign_in: bool) -> int:
        """How many replies in a row must go wrong for a refresh to fail: the refresh, and
        the sign-in or the one retry that follows a lost reply."""
        if self.lost and (can_sign_in or self.fault.kind == "drop"):
            return 2
        return 1

    def path(self, refresh_path: str, can_sign_in: bool) -> str:
        """Where to inject it: the refresh endpoint, or every path when a sign-in follows."""
        return ANY_PATH if self.lost and can_sign_in else refresh_path


FAULTS: dict[str, FaultCase] = {
    "500": FaultCase(Fault.server_error(), "HTTP 500"),
    "html-502": FaultCase(Fault.html(502), "HTML page"),
    "malformed-json": FaultCase(Fault.malformed_json(), "JSON", lost=True),
    "no-token-fields": FaultCase(Fault.incomplete(), "without", lost=True),
    "429-retry-after": FaultCase(Fault.rate_limited(7), "HTTP 429", retry_after=7.0),
    "dropped": FaultCase(Fault.drop(), "closed the connection", lost=True),
}


def fault_params() -> list[Any]:
    return [pytest.param(case, id=name) for name, case in FAULTS.items()]


async def expect_transient_and_nothing_changed(
    vault: Vault, name: str, attempt: Callable[[], Awaitable[object]], case: FaultCase
) -> TransientError:
    """`attempt` fails with a TransientError as `case` says; the stored bundle and the
    generation stay exactly as they were; the account records the error."""
    before = stored(vault, name)
    with pytest.raises(TransientError) as caught:
        await attempt()
    message = one_line(caught.value)
    assert case.says in message, message
    assert caught.value.exit_code == 5
    if case.retry_after is not None:
        assert caught.value.retry_after == case.retry_after
    assert stored(vault, name) == before
    account = vault.load().find(name)
    assert account.status is Status.ERROR
    assert account.last_error == message
    return caught.value


async def expect_plain_http_refused(
    vault: Vault,
    kind: str,
    field: str,
    fields: Mapping[str, str],
    secrets: Mapping[str, str],
) -> None:
    """`http://` to a non-loopback host in `field` is a UsageError at add and at edit, and
    neither writes anything; https:// and http:// to loopback are accepted."""
    bad = "http://api.example.com/x"
    with pytest.raises(UsageError, match="loopback") as caught:
        await vault.add("plain", kind, {**fields, field: bad}, secrets, sign_in=False)
    assert field in str(caught.value)
    assert vault.load().accounts == []

    account, failure = await vault.add("ok", kind, dict(fields), secrets, sign_in=False)
    assert failure is None
    before = stored(vault, "ok")
    with pytest.raises(UsageError, match="loopback"):
        await vault.edit("ok", {field: bad}, {})
    assert stored(vault, "ok") == before
    assert vault.load().find("ok").fields == account.fields
    for good in ("https://api.example.com/x", "http://localhost:8/x", "http://[::1]:8/x"):
        await vault.add(
            f"ok-{len(vault.load().accounts)}",
            kind,
            {**fields, field: good},
            secrets,
            sign_in=False,
        )
