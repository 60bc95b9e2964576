"""Refresh storm: N OAuth2 accounts all due at once (access tokens inside their refresh window)
against a loopback token endpoint that answers every request after 50 ms (bench/token_server.py,
a process of its own). The app runs as it does for a user: App (main window shown, metadata
loaded, keyring checked, then the Refresher's own loop) on a qasync loop. Measured:
- time from the engine's start (the adapter's keyring_ready, which starts it) until every
  account has had a successful refresh, against the ideal N / 8 in flight x latency;
- the worst event-loop stall meanwhile: a 10 ms asyncio heartbeat task; a stall is how much
  longer than 10 ms one beat took.
--backend memory keeps the secrets in MemoryBackend; --backend keyring in the session's
gnome-keyring, where it also times the keyring floor: for as many other items, the keyring
writes any refresh must make (write the successor item, delete the one it replaces) in a row
over one kept Secret Service connection. Prints one JSON line (bench.common.run_json)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtWidgets import QApplication

from bench.common import PYTHON, REPO, emit, refs_left, singleton_ballast
from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.engine import EngineSettings, Event, EventKind
from vault_app.core.model import Account, SecretBundle, Status, TokenSet
from vault_app.core.providers.base import get_provider, normalize_fields
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.gui.app import App

HEARTBEAT = 0.010
LIFETIME = 3600.0
KEYRING_APPID = "Python keyring library"  # what keyring's SecretService backend writes


def bundle_json(now: float) -> str:
    tokens = TokenSet(
        access_token="bench-old-" + "y" * 600,
        expires_at=now + 600,  # a quarter of the lifetime is 900 s: due now
        obtained_at=now - (LIFETIME - 600),
    )
    bundle = SecretBundle(secrets={"client_secret": "bench-client-secret"}, tokens=tokens)
    return json.dumps(bundle.to_json(), separators=(",", ":"), sort_keys=True)


def seed_metadata(home: Path, count: int, url: str) -> tuple[str, list[str], str]:
    """`count` signed-in client_credentials accounts due for refresh; returns the vault id,
    the account ids and the secret every one of them holds."""
    provider = get_provider("oauth2")
    fields = normalize_fields(
        provider,
        {"token_url": f"{url}/token", "client_id": "bench", "grant": "client_credentials"},
        complete=True,
    )
    now = time.time()
    ids = [uuid.uuid4().hex for _ in range(count)]

    def fill(doc: VaultDoc) -> str:
        doc.accounts = [
            Account(
                id=account_id,
                name=f"svc-{i:04d}",
                provider="oauth2",
                fields=dict(fields),
                status=Status.OK,
                access_expires_at=now + 600,
                last_refresh_at=now - (LIFETIME - 600),
                generation=1,
                secret_fields=["client_secret"],
            )
            for i, account_id in enumerate(ids)
        ]
        return doc.vault_id

    vault_id = AccountStore(home).update(fill)
    return vault_id, ids, bundle_json(now)


def keyring_create(items: list[tuple[str, str, str]]) -> None:
    """Write (service, user, secret) items as keyring would (same attributes and label), on
    one D-Bus connection: keyring opens one per call."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        for service, user, secret in items:
            collection.create_item(
                f"Password for '{user}' on '{service}'",
                {"service": service, "username": user, "application": KEYRING_APPID},
                secret,
                replace=True,
            )
    finally:
        connection.close()


def keyring_floor(vault_id: str, count: int, secret: str) -> dict[str, Any]:
    """What the keyring itself must do per refresh, done by a minimal program over ONE kept
    Secret Service connection and session: write the successor item, delete the item it
    replaces (gnome-keyring rewrites its keyring file on each)."""
    import secretstorage
    from secretstorage.util import open_session

    service = f"token-floor:{vault_id}"
    users = [uuid.uuid4().hex for _ in range(count)]
    keyring_create([(service, f"{u}:1", secret) for u in users])
    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        collection.session = open_session(connection)
        per: list[float] = []
        for user in users:
            started = time.perf_counter()
            collection.create_item(
                f"Password for '{user}:2' on '{service}'",
                {"service": service, "username": f"{user}:2", "application": KEYRING_APPID},
                secret.encode(),
                replace=True,
            )
            for item in collection.search_items({"service": service, "username": f"{user}:1"}):
                item.delete()
            per.append(time.perf_counter() - started)
        for user in users:  # leave the keyring as it was for the app
            for item in collection.search_items({"service": service, "username": f"{user}:2"}):
                item.delete()
    finally:
        connection.close()
    return {"total_s": sum(per), "per_refresh_s": per}


async def storm(vault: Vault, count: int, latency: float, cap: float) -> dict[str, Any]:
    closing = asyncio.Event()
    app = App(vault, minimized=False, request_quit=closing.set)
    fresh: set[str] = set()
    failures: list[str] = []
    marks: dict[str, float] = {}
    all_fresh = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.kind is EventKind.REFRESH_SUCCEEDED:
            fresh.add(event.account_id)
            if len(fresh) == count:
                marks["end"] = time.perf_counter()
                all_fresh.set()
        elif event.kind in (EventKind.REFRESH_FAILED, EventKind.SIGN_IN_NEEDED):
            failures.append(event.message or event.kind.value)

    def engine_starts(_backend: str) -> None:  # connected before App's own slot: runs first
        marks.setdefault("start", time.perf_counter())

    app.engine.subscribe(on_event)
    app.adapter.keyring_ready.connect(engine_starts)
    beats: list[tuple[float, float]] = []  # (when a beat ended, how long it took)

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(HEARTBEAT)
            now = time.perf_counter()
            beats.append((now, now - last))
            last = now

    beating = asyncio.ensure_future(heartbeat())
    cpu_at_start: list[float] = []

    def cpu_now() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    app.adapter.keyring_ready.connect(lambda _name: cpu_at_start.append(cpu_now()))
    shown = time.perf_counter()
    app.show()
    try:
        await asyncio.wait_for(all_fresh.wait(), cap)
    except asyncio.TimeoutError:
        marks["end"] = time.perf_counter()
    cpu_used = cpu_now() - (cpu_at_start[0] if cpu_at_start else 0.0)
    beating.cancel()
    start, end = marks.get("start", shown), marks["end"]
    during = [gap for at, gap in beats if at >= start and at - gap <= end]
    before = [gap for at, gap in beats if at < start]
    await app.shutdown()
    now = time.time()
    stored_fresh = sum(
        1
        for a in vault.load().accounts
        if a.access_expires_at is not None and a.access_expires_at > now + LIFETIME / 2
    )
    ideal = count / EngineSettings().max_in_flight * latency
    return {
        "accounts": count,
        "latency_s": latency,
        "ideal_s": ideal,
        "elapsed_s": end - start,
        # When stopped at the cap: at the rate seen so far (the per-refresh cost does not
        # fall as accounts turn fresh), how long all of them would take.
        "projected_s": (end - start) * count / max(len(fresh), 1),
        "finished": len(fresh) == count,
        "refreshed": len(fresh),
        "stored_fresh": stored_fresh,
        "failures": len(failures),
        "first_failures": failures[:3],
        "peak_in_flight": app.engine.peak_in_flight,
        "worst_stall_s": max(max(during, default=HEARTBEAT) - HEARTBEAT, 0.0),
        # CPU time of the whole app process (all threads) from the engine's start to the
        # end: less at the mercy of other work on the machine than the wall-clock time.
        "cpu_s": cpu_used,
        "beats": len(during),
        "beats_over_50ms": sum(gap - HEARTBEAT > 0.050 for gap in during),
        "worst_stall_before_start_s": max(max(before, default=HEARTBEAT) - HEARTBEAT, 0.0),
        "window_to_engine_start_s": start - shown,
        "longest_lock_hold_s": vault.longest_lock_hold,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--backend", choices=("memory", "keyring"), default="memory")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--cap", type=float, default=60.0, help="stop the storm after this many seconds"
    )
    args = parser.parse_args()
    server = subprocess.Popen(
        [PYTHON, "-m", "bench.token_server", "--latency", str(args.latency)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
    qt = QApplication(sys.argv[:1])
    leaked, ballast = singleton_ballast()
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        home = Path(tmp) / "vault"
        seeding = time.perf_counter()
        vault_id, ids, secret = seed_metadata(home, args.accounts, url)
        service = f"token-vault:{vault_id}"
        floor = None
        if args.backend == "memory":
            memory = MemoryBackend()
            memory.items = {(service, f"{i}:1"): secret for i in ids}
            vault = Vault(home, backend=memory)
        else:
            keyring_create([(service, f"{i}:1", secret) for i in ids])
            vault = Vault(home)  # the system keyring, resolved as the app does
        seeded = time.perf_counter() - seeding
        if args.backend == "keyring":
            floor = keyring_floor(vault_id, args.accounts, secret)
        with loop:
            result = loop.run_until_complete(storm(vault, args.accounts, args.latency, args.cap))
    server.stdin.close()
    server.wait(10)
    result.update(
        backend=args.backend, seed_s=seeded, pyside_leaks=leaked, refs_left=refs_left(ballast)
    )
    if floor is not None:
        result["keyring_floor_s"] = floor["total_s"]
        result["keyring_floor_per_refresh_s"] = floor["per_refresh_s"]
    print(
        f"  storm, {args.accounts} accounts, {args.backend}: "
        f"{result['refreshed']} fresh in {result['elapsed_s']:.2f} s "
        f"(ideal {result['ideal_s']:.2f} s; CPU {result['cpu_s']:.2f} s), "
        f"worst stall {result['worst_stall_s'] * 1000:.0f} ms, "
        f"{result['failures']} failures; seeding took {seeded:.1f} s"
        + (f", keyring floor {floor['total_s']:.1f} s" if floor else ""),
        file=sys.stderr,
    )
    emit(result)
    # Skip interpreter teardown: Qt objects alive at exit can crash PySide's finaliser.
    os._exit(0)


if __name__ == "__main__":
    main()
