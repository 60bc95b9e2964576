"""GUI tests run on the real X server (Xvfb) that scripts/test starts, with a qasync loop:
pytest-qt knows nothing of qasync, so coroutines run inside `loop.run_until_complete`."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.fakes.oauth2 import OAuth2Fake
from vault_app.core.engine import Refresher
from vault_app.core.model import Account
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.gui.adapter import VaultAdapter
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.collector import GuiThreadCollector
from vault_app.gui.main_window import MainWindow

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("DISPLAY"):
        return
    if os.environ.get("TOKEN_VAULT_TEST_SESSION"):
        raise pytest.UsageError("scripts/test started no X server: see its xvfb.log")
    skip = pytest.mark.skip(reason="needs an X server: run scripts/test")
    for item in items:
        if "tests/gui/" in str(item.fspath):
            item.add_marker(skip)


Run = Callable[[Awaitable[T]], T]


@pytest.fixture(autouse=True)
def collect_qt_garbage(qapp: QApplication) -> Iterator[None]:
    """Qt objects left in reference cycles are destroyed here, at a quiet moment, not by a
    later garbage collection that happens to run inside Qt's event dispatch (which crashes
    whatever test is running then). During the test, as in the app (serve), cycles are
    collected on the GUI thread only, never on the keyring or network thread."""
    collector = GuiThreadCollector()
    collector.install()
    try:
        yield
    finally:
        collector.uninstall()
        gc.collect()
        qapp.processEvents()


@pytest.fixture
def run(qapp: QApplication) -> Iterator[Callable[[Awaitable[Any]], Any]]:
    """Runs a coroutine on a qasync loop bound to the test's QApplication, with a timeout."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)

    def runner(work: Awaitable[Any], timeout: float = 20) -> Any:
        return loop.run_until_complete(asyncio.wait_for(work, timeout))

    yield runner
    # Nothing may outlive the loop: a task left pending keeps Qt timers that would fire into
    # a closed loop later, inside some other test (seen as a segfault in pytest-qt).
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Let the loop (and Qt) run until `condition` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def memory_vault(vault_home: Path) -> Vault:
    return Vault(vault_home, backend=MemoryBackend())


@pytest.fixture
def window(
    qtbot: Any, memory_vault: Vault, run: Callable[[Awaitable[Any]], Any]
) -> Iterator[MainWindow]:
    engine = Refresher(memory_vault)
    adapter = VaultAdapter(memory_vault, engine)
    main = MainWindow(adapter, SecretClipboard())
    qtbot.addWidget(main)
    yield main
    main.clipboard.wipe()
    run(adapter.cancel_all())
    run(memory_vault.aclose())


def message_box() -> QMessageBox | None:
    """The message box on screen, if any."""
    return next(
        (w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()),
        None,
    )


def jwt_for(lifetime: float) -> str:
    """A JWT issued now that expires in `lifetime` seconds."""
    now = time.time()
    return jwt.encode(
        {"sub": "gui", "iat": int(now), "exp": int(now + lifetime)}, "k" * 32, "HS256"
    )


def add_client_account(run: Any, vault: Vault, fake: OAuth2Fake, name: str = "svc") -> Account:
    """An oauth2 client-credentials account on `fake`, signed in."""
    fake.add_client("gui", "gui-secret-0001")
    account, failure = run(
        vault.add(
            name,
            "oauth2",
            {"token_url": fake.token_url, "client_id": "gui"},
            {"client_secret": "gui-secret-0001"},
        )
    )
    assert failure is None
    return account  # type: ignore[no-any-return]
