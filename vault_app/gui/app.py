"""Start-up and shut-down of the window on qasync: one event loop, one HTTP client made inside
it, the window shown before any keyring read or network call, and a quit that stops the
engine, cancels tasks, closes the client and never waits on a stuck keyring call."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from vault_app.core.engine import EngineSettings, EventKind, Refresher
from vault_app.core.errors import UserFacingError
from vault_app.core.vault import Vault
from vault_app.gui.adapter import VaultAdapter
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.interactive_sign_in import is_interactive
from vault_app.gui.main_window import MainWindow
from vault_app.gui.single_instance import SingleInstance
from vault_app.gui.tray import REPEATED_FAILURES, Tray
from vault_app.system import autostart
from vault_app.system.autostart import Autostart

log = logging.getLogger(__name__)
TRAY_UPDATE_MS = 250


class App:
    """Everything one running window owns, wired together."""

    def __init__(
        self,
        vault: Vault,
        *,
        minimized: bool,
        demo_note: str | None = None,
        autostart: Autostart | None = None,
        window: MainWindow | None = None,
        request_quit: Callable[[], None] = QApplication.quit,
    ) -> None:
        self.vault = vault
        # Quitting goes through the owner: it stops the engine and closes the HTTP client
        # before the event loop ends (stopping Qt's loop first would strand those tasks).
        self.request_quit = request_quit
        self.engine = Refresher(vault)
        self.adapter = VaultAdapter(vault, self.engine, autostart)
        if window is None:
            window = MainWindow(None, SecretClipboard())
        self.window = window
        self.clipboard = window.clipboard
        window.attach(self.adapter)
        if demo_note:
            self.window.setWindowTitle("Token Vault — demo")
            self.window.statusBar().showMessage(demo_note, 20000)
        self.tray: Tray | None = None
        self._sign_in_offer: str | None = None  # the account the last notification offers
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = Tray()
            self.window.hide_to_tray = True
            self._wire_tray(self.tray)
        self.window.quit_requested.connect(self.request_quit)
        self.adapter.keyring_unusable.connect(self._no_keyring)
        self.engine.subscribe(self._notify)
        self._engine_task: asyncio.Task[None] | None = None
        self.minimized = minimized

    def show(self) -> None:
        """The window first; metadata, the keyring and the engine right after it is painted."""
        if self.tray is not None:
            self.tray.show()
        if not (self.minimized and self.tray is not None):
            self.window.show()  # launch.py has shown it already; tests come straight here
        QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        try:
            doc = self.vault.load()
        except UserFacingError as exc:
            self.window.show_error(exc.message)
            QMessageBox.critical(self.window, "Token Vault", exc.message)
            return
        self.window.apply_settings(doc.settings)
        self.engine.settings = EngineSettings.from_doc(doc)
        self.adapter.load()
        self.adapter.check_keyring()
        self.adapter.keyring_ready.connect(self._start_engine)

    def _start_engine(self, _backend: str) -> None:
        if self._engine_task is None:
            self._engine_task = asyncio.ensure_future(self.engine.run())

    def _no_keyring(self, why: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "No usable keyring",
            f"{why}\n\nToken Vault keeps secrets only in the system keyring. "
            "You can try it without one in demo mode.",
            QMessageBox.StandardButton.Close,
            self.window,
        )
        demo = box.addButton("Try the demo", QMessageBox.ButtonRole.AcceptRole)

        def done(_result: int) -> None:
            if box.clickedButton() is demo:
                from PySide6.QtCore import QProcess

                QProcess.startDetached(sys.executable, ["-m", "vault_app", "--demo"])
                self.request_quit()

        box.finished.connect(done)
        box.open()

    def _wire_tray(self, tray: Tray) -> None:
        adapter, window = self.adapter, self.window
        tray.icon.messageClicked.connect(self.offer_clicked)

        # Coalesced: the menu lists every account, and a refresh storm changes hundreds of
        # them a second; one rebuild per quarter second at most.
        pending = QTimer(tray)
        pending.setSingleShot(True)
        pending.setInterval(TRAY_UPDATE_MS)
        pending.timeout.connect(
            lambda: tray.update(window.model.accounts(), set(window.model._retry_at))
        )

        def refresh_tray(*_args: object) -> None:
            if not pending.isActive():
                pending.start()

        for signal_ in (
            adapter.accounts_loaded,
            adapter.account_changed,
            adapter.account_removed,
            adapter.refresh_failed,
        ):
            signal_.connect(refresh_tray)
        tray.copy_requested.connect(lambda account_id: window.act("copy", account_id))
        tray.refresh_all_requested.connect(adapter.refresh_all)
        tray.pause_toggled.connect(self._pause)
        tray.toggle_window.connect(self._toggle_window)
        tray.quit_requested.connect(self.request_quit)
        window.hidden_to_tray.connect(self._told_once)

    def _told_once(self) -> None:
        if self.tray is not None and not self.window.told_about_tray:
            self.window.told_about_tray = True
            self.tray.notify(
                "Token Vault is still running", "Tokens keep refreshing. Quit from the tray menu."
            )

    def _pause(self, paused: bool) -> None:
        self.engine.paused = paused
        if not paused:
            self.engine.poke()

    def _toggle_window(self) -> None:
        if self.window.isVisible():
            self.window.hide()
        else:
            self.raise_window()

    def raise_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def offer_clicked(self) -> None:
        """The person clicked a "sign-in needed" notification: open that account's sign-in."""
        account_id, self._sign_in_offer = self._sign_in_offer, None
        if account_id is not None:
            self.raise_window()
            self.window.open_sign_in(account_id)

    def _notify(self, event: Any) -> None:
        """Notifications for what needs the user: sign-in needed, repeated failures, refresh
        tokens running out (when the user wants them and there is a tray to show them)."""
        if self.tray is None or not self.window.settings.get("notifications", True):
            return
        if event.kind is EventKind.SIGN_IN_NEEDED:
            message = event.message or ""
            account = self.window.model.account(event.account_id)
            if account is not None and is_interactive(account):
                # Clicking the notification opens the sign-in dialog, whose button opens the
                # browser: never a browser without the person, however many accounts ask.
                self._sign_in_offer = event.account_id
                message += " Click here to sign in."
            self.tray.notify(f"{event.name}: sign-in needed", message, critical=True)
        elif event.kind is EventKind.REFRESH_FAILED:
            if self.tray.failure(event.account_id) == REPEATED_FAILURES:
                self.tray.notify(f"{event.name}: refresh keeps failing", event.message or "")
        elif event.kind is EventKind.REFRESH_SUCCEEDED:
            self.tray.success(event.account_id)
        elif event.kind is EventKind.REFRESH_TOKEN_EXPIRING:
            self.tray.notify("Refresh token expiring", event.message or "")

    async def shutdown(self) -> None:
        self.clipboard.wipe()
        await self.engine.stop()
        if self._engine_task is not None:
            self._engine_task.cancel()
        await self.adapter.cancel_all()
        await self.vault.aclose()
        if self.tray is not None:
            self.tray.hide()


def serve(
    app: QApplication,
    window: MainWindow,
    instance: SingleInstance | None,
    *,
    minimized: bool,
    demo: bool,
) -> int:
    """Everything after the first paint (see launch.py): the vault, the event loop, the
    engine, the tray; runs until quit."""
    import qasync

    from vault_app import logs

    logs.setup()

    server: Any = None
    note = None
    if demo:
        from vault_app.demo import start_demo

        vault, server, note = start_demo()
    else:
        vault = Vault(instance.home if instance else None)
    if instance is not None and not instance.listen():
        log.warning("cannot listen on %s: a second launch will not find this one", instance.name)

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closing = asyncio.Event()
    running = App(
        vault,
        minimized=minimized,
        demo_note=note,
        autostart=None if demo else autostart.for_this_system(),
        window=window,
        request_quit=closing.set,
    )
    if instance is not None:
        instance.show_requested.connect(running.raise_window)
    app.aboutToQuit.connect(closing.set)  # the session ends: clean up as far as time allows
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, closing.set)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(closing.set))

    async def main() -> None:
        running.show()
        await closing.wait()
        await running.shutdown()

    try:
        with loop:
            loop.run_until_complete(main())
    finally:
        if instance is not None:
            instance.close()
        if server is not None:
            server.stop()
    return 0
