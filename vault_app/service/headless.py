"""`token-vault serve`: the refresh engine and the CLI socket without Qt (no window, no tray),
for SSH sessions, WSL and servers (where the socket is not implemented, Windows and macOS, the
engine alone). Runs until SIGTERM, SIGINT or SIGHUP, then stops within
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
from vault_app.service.server import supported
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
        if supported() is None:  # elsewhere: the engine alone; the CLI works on its own
            await service.start_socket()
    except BaseException:
        await vault.aclose()
        raise
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = [s for s in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, s)]
    for name in signals:
        try:
            loop.add_signal_handler(getattr(signal, name), stopping.set)
        except NotImplementedError:  # Windows: no loop signal handlers
            signal.signal(getattr(signal, name), lambda *_: loop.call_soon_threadsafe(stopping.set))
    running = asyncio.ensure_future(engine.run())
    try:
        ready(service)
        await stopping.wait()
        log.info("stopping")
    finally:
        for name in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(getattr(signal, name))
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
