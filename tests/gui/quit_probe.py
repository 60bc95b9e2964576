"""Child process for the quit tests: the real app (launch.run_gui, as `token-vault` runs it)
with something stuck, and a way for the test to press Quit or end the session.

    python -m tests.gui.quit_probe HOME dns|keyring

`dns`: an account due for a refresh whose host name never resolves (socket.getaddrinfo hangs);
`keyring`: the test sets PYTHON_KEYRING_BACKEND to tests.gui.stuck_keyring and seeds a due
account itself. A line "STUCK: ..." on stdout says a worker thread is now blocked. A line on
stdin then acts: "quit" triggers the window's File ▸ Quit, "logout" ends Qt's event loop the
way a session manager does (QApplication.quit)."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication

from tests.gui.stuck_markers import DNS
from vault_app.core.account_store import VaultDoc
from vault_app.core.model import Status
from vault_app.core.vault import Vault
from vault_app.gui.application import QuitAwareApplication


def seed_dns_account(home: Path) -> None:
    """An oauth2 account with its secret in the keyring, due for a refresh now, at a host
    whose name will never resolve."""

    async def add() -> None:
        vault = Vault(home)
        try:
            await vault.add(
                "stuck-dns",
                "oauth2",
                {
                    "token_url": "https://stuck-dns.invalid/token",
                    "grant": "client_credentials",
                    "client_id": "probe",
                },
                {"client_secret": "probe-secret-0001"},
                sign_in=False,
            )
        finally:
            await vault.aclose()

    asyncio.run(add())
    now = time.time()

    def due(doc: VaultDoc) -> None:
        account = doc.find("stuck-dns")
        account.status = Status.OK
        account.access_expires_at = now + 5
        account.last_refresh_at = now - 600

    Vault(home).store.update(due)


def hang_dns() -> None:
    blocked = threading.Event()

    def stuck(*_args: Any, **_kwargs: Any) -> Any:
        sys.stdout.write(DNS + "\n")
        sys.stdout.flush()
        blocked.wait()  # for ever
        raise OSError("unreachable")

    socket.getaddrinfo = stuck


def listen_to_stdin(app: QApplication) -> QSocketNotifier:
    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)

    def command() -> None:
        line = sys.stdin.readline().strip()
        if line == "quit":
            from vault_app.gui.main_window import MainWindow

            window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
            window.quit_action.trigger()
        elif line == "logout":
            app.quit()

    notifier.activated.connect(command)
    return notifier


def main() -> int:
    home, scenario = Path(sys.argv[1]), sys.argv[2]
    if scenario == "dns":
        seed_dns_account(home)
        hang_dns()
    app = QuitAwareApplication(sys.argv[:1])  # what run_gui makes when none exists
    keep = listen_to_stdin(app)
    from vault_app.gui.launch import run_gui

    code = run_gui()
    del keep
    return code


if __name__ == "__main__":
    sys.exit(main())
