"""`token-vault serve`: the refresh engine and the CLI socket without Qt (no window, no tray),
for SSH sessions, WSL and servers. Runs until SIGTERM, SIGINT or SIGHUP, then stops within
STOP_WITHIN seconds whatever a refresh or a keyring call is blocked on (the keyring thread
is a daemon thread, never waited for)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from vault_app.core.engine import EngineSettings, Refresher
from vault_app.core.vault import Vault
from vault_app.service.vault_service import VaultService

log = logging.getLogger(__name__)

STOP_WITHIN = 4.0  # seconds for the orderly part of a stop; exit follows at once after it


async def serve(home: Path | None, ready: Callable[[VaultService], None]) -> None:
    """Serve the vault at `home` until a stop signal. `ready` is called once the socket
    listens. UserFacingError when the vault file, the keyring or the socket cannot be used."""
    vault = Vault(home)
    try:
        doc = vault.load()
        store = vault.secrets(doc)
        await store.acall(store.backend)  # no usable keyring: say so now, not per refresh
        engine = Refresher(vault, EngineSettings.from_doc(doc))
        service = VaultService(vault, engine, app="headless")
        await service.start_socket()
    except BaseException:
        await vault.aclose()
        raise
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stopping.set)
    running = asyncio.ensure_future(engine.run())
    try:
        ready(service)
        await stopping.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        try:
            await asyncio.wait_for(_stop(service, engine, running, vault), STOP_WITHIN)
        except asyncio.TimeoutError:
            log.warning("stopping took longer than %g s; exiting anyway", STOP_WITHIN)


async def _stop(
    service: VaultService, engine: Refresher, running: asyncio.Task[None], vault: Vault
) -> None:
    await service.stop()
    await engine.stop()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await vault.aclose()
