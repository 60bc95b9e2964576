"""Start-up and shut-down of the window on qasync: one event loop, one HTTP client made inside
it, the window shown before any keyring read or network call, and a quit (menu, tray, SIGTERM,
logout) that saves the window's state, stops the engine, cancels tasks, closes the client and
ends the process within 5 s whatever a worker thread is blocked on (see quitting.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from vault_app.core.engine import EngineSettings, EventKind, Refresher
from vault_app.core.errors import UserFacingError
from vault_app.core.model import Status
from vault_app.core.timefmt import span
from vault_app.core.vault import Vault
from vault_app.gui import quitting
from vault_app.gui.adapter import VaultAdapter
from vault_app.gui.application import QuitAwareApplication
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.collector import GuiThreadCollector
from vault_app.gui.main_window import MainWindow
from vault_app.gui.plain_text import shown
from vault_app.gui.plain_words import is_interactive
from vault_app.gui.proxies import ProxyControls
from vault_app.gui.single_instance import SingleInstance
from vault_app.gui.tray import REPEATED_FAILURES, Tray
from vault_app.service.server import ServiceUnavailableError, supported
from vault_app.service.vault_service import VaultService
from vault_app.system import autostart
from vault_app.system.autostart import Autostart

log = logging.getLogger(__name__)
TRAY_UPDATE_MS = 250
SAVE_ON_QUIT_SECONDS = 1.0  # the window's state is saved on quit if the disk answers by then


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
            window = MainWindow(None, SecretClipboard(), demo=demo_note is not None)
        self.window = window
        self.clipboard = window.clipboard
        window.attach(self.adapter)
        if demo_note:
            self.window.setWindowTitle("Token Vault — demo")
            self.window.status.show_message(demo_note, 30)
        self.tray: Tray | None = None
        self._sign_in_offer: str | None = None  # the account the last notification offers
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = Tray()
            self.window.hide_to_tray = True
            self._wire_tray(self.tray)
        self.window.quit_requested.connect(self.request_quit)
        self.window.state_changed.connect(self._save_settings)
        self.adapter.keyring_unusable.connect(self._no_keyring)
        self.engine.subscribe(self._notify)
        # Cycles are collected on this thread only (collector.py): looked for each second
        # while the window is shown and after each engine event.
        self.collector = GuiThreadCollector(window)
        window.second.timeout.connect(self.collector.check)
        self.engine.subscribe(self.collector.check)
        # The CLI socket and the local proxies, over this window's vault and engine.
        self.service = VaultService(vault, self.engine, app="window", activity=self.collector.check)
        self.proxies = ProxyControls(
            window, self.service, self.adapter, window.selected_account, window.copy_text
        )
        window.add_actions(account=[self.proxies.serve_action], window=[self.proxies.list_action])
        self._engine_task: asyncio.Task[None] | None = None
        self.minimized = minimized

    def show(self) -> None:
        """The window first; metadata, the keyring and the engine right after it is painted."""
        self.collector.install()
        if self.tray is not None:
            self.tray.show()
        if not (self.minimized and self.tray is not None):
            self.window.show()  # launch.py has shown it already; tests come straight here
        QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        try:
            doc = self.vault.load()
        except UserFacingError as exc:
            self.window.forget_preview()
            self.window.show_error(exc.message)
            return
        self.window.apply_settings(doc.settings)
        self.engine.settings = EngineSettings.from_doc(doc)
        self.adapter.load()
        self.adapter.check_keyring()
        self.adapter.keyring_ready.connect(self._start_engine)

    def _start_engine(self, _backend: str) -> None:
        if self._engine_task is None:
            self._engine_task = asyncio.ensure_future(self.engine.run())
            self.adapter.spawn(self._serve_cli())

    async def _serve_cli(self) -> None:
        try:
            await self._start_socket()
        finally:
            # Start-up is over: what it left behind is collected now, not in the first
            # quiet minute in the tray (collector.py).
            self.collector.check()

    async def _start_socket(self) -> None:
        unsupported = supported()
        if unsupported:  # Windows, macOS: the CLI works on its own there, as before
            log.info("not serving the command line: %s", unsupported)
            return
        try:
            await self.service.start_socket()
        except ServiceUnavailableError as exc:
            # The window works without it; the CLI then works on its own, as before.
            log.warning("not serving the command line: %s", exc.message)
            self.window.statusBar().showMessage(f"Command line not served: {exc.message}", 15000)

    def _save_settings(self, values: dict[str, Any]) -> None:
        """The window's remembered state and lists, saved off the GUI thread; a failure is
        logged (the window works on, it just forgets)."""
        self.adapter.spawn(
            self.adapter.save_settings(dict(values)),
            on_error=lambda exc: log.warning("could not save the window's settings: %s", exc),
        )

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
                self.window.start_demo()
                self.request_quit()

        box.finished.connect(done)
        box.open()

    def _wire_tray(self, tray: Tray) -> None:
        adapter, window = self.adapter, self.window

        # Coalesced: a refresh storm changes hundreds of accounts a second; one menu
        # rebuild per quarter second at most.
        pending = QTimer(tray)
        pending.setSingleShot(True)
        pending.setInterval(TRAY_UPDATE_MS)
        pending.timeout.connect(
            lambda: tray.update(
                window.model.accounts(),
                window.model.retrying(),
                window._ids("pinned_accounts"),
                window._ids("recent_accounts"),
            )
        )

        def refresh_tray(*_args: object) -> None:
            if not pending.isActive():
                pending.start()

        for signal_ in (
            adapter.accounts_loaded,
            adapter.account_changed,
            adapter.account_removed,
            adapter.refresh_failed,
            window.tray_menu_changed,
        ):
            signal_.connect(refresh_tray)
        tray.copy_requested.connect(lambda account_id: window.act("copy", account_id))
        tray.more_requested.connect(self._more)
        tray.refresh_all_requested.connect(window.refresh_all)
        tray.pause_toggled.connect(self._pause)
        tray.toggle_window.connect(self._toggle_window)
        tray.quit_requested.connect(self.request_quit)
        tray.message_clicked.connect(self.notification_clicked)
        window.hidden_to_tray.connect(self._told_once)
        window.notify = self._notify_user

    def _notify_user(self, title: str, text: str, account_id: str | None, problem: bool) -> bool:
        if self.tray is None:
            return False
        return self.tray.notify(
            title, text, critical=problem, account_id=account_id, information=not problem
        )

    def _more(self) -> None:
        """The tray's "More…": the window, with its filter ready for a name."""
        self.raise_window()
        self.window.focus_filter()

    def _told_once(self) -> None:
        if self.tray is not None and not self.window.told_about_tray:
            self.window.told_about_tray = True
            self.tray.notify(
                "Token Vault is still running",
                "Tokens keep refreshing in the background. Quit from the tray menu.",
                information=True,
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

    def notification_clicked(self, account_id: str | None) -> None:
        """A notification was clicked: the window, with its account selected. One that
        offered a browser or device sign-in (and whose account still needs it) opens that
        account's sign-in form: its button, not this click, opens the browser."""
        self.window.show_account(account_id)
        offered, self._sign_in_offer = self._sign_in_offer, None
        if account_id is None or account_id != offered:
            return
        account = self.window.model.account(account_id)
        if account is not None and account.status is Status.SIGN_IN_NEEDED:
            self.window.open_sign_in(account)

    def _notify(self, event: Any) -> None:
        """Notifications for what needs the user, in plain words (the details are in the
        window): sign-in needed, repeated failures, refresh tokens running out. Clicking one
        shows the account."""
        if self.tray is None or not self.window.settings.get("notifications", True):
            return
        name = shown(event.name, 60)
        if event.kind is EventKind.SIGN_IN_NEEDED:
            account = self.window.model.account(event.account_id)
            if account is not None and is_interactive(account):
                # However many accounts ask, a browser opens only from the form's button.
                text = "Click to sign in again (your browser opens only when you say so)."
                offer: str | None = event.account_id
            else:
                text = (
                    "The server no longer accepts its tokens. Click to open it, then choose "
                    "Account ▸ Sign in… there."
                )
                offer = None
            if self.tray.notify(
                f"{name} needs a new sign-in", text, critical=True, account_id=event.account_id
            ):
                self._sign_in_offer = offer
        elif event.kind is EventKind.REFRESH_FAILED:
            if self.tray.failure(event.account_id) == REPEATED_FAILURES:
                account = self.window.model.account(event.account_id)
                expires = account.access_expires_at if account is not None else None
                left = None if expires is None else expires - time.time()
                if left is None:
                    token = ""
                elif left > 0:
                    token = f" Meanwhile its token still works for {span(left)}."
                else:
                    token = " Meanwhile its token has expired: calls with it fail."
                self.tray.notify(
                    f"{name}: refreshing keeps failing",
                    f"Token Vault keeps trying.{token} Click to see what happened.",
                    account_id=event.account_id,
                )
        elif event.kind is EventKind.REFRESH_SUCCEEDED:
            self.tray.success(event.account_id)
        elif event.kind is EventKind.REFRESH_TOKEN_EXPIRING:
            account = self.window.model.account(event.account_id)
            warning = account.refresh_warning() if account is not None else None
            self.tray.notify(
                f"{name}: refresh token {_after(warning)}",
                "Sign in again before then to keep the account working. Click to open it.",
                account_id=event.account_id,
                information=True,
            )

    async def shutdown(self) -> None:
        """Wipe the clipboard, save the window's state, stop everything: each step waited
        for only so long, so a stuck disk, keyring or network never holds up the quit."""
        self.clipboard.wipe()
        if self.tray is not None:
            self.tray.hide()
        await _within(
            self.adapter.save_settings(self.window.state_values()),
            SAVE_ON_QUIT_SECONDS,
            "saving the window's state",
        )
        await _within(self._stop(), quitting.SHUTDOWN_BUDGET, "stopping the engine")
        self.collector.uninstall()

    async def _stop(self) -> None:
        await self.service.stop()  # the CLI socket and the proxies first: no new work
        await self.engine.stop()
        if self._engine_task is not None:
            self._engine_task.cancel()
        await self.adapter.cancel_all()
        await self.vault.aclose()


def _after(warning: str | None) -> str:
    """ "expires in 9 days" from the model's warning ("the refresh token expires in 9 days")."""
    if not warning:
        return "expires soon"
    return warning.replace("the refresh token ", "").split(":")[0]


async def _within(work: Any, seconds: float, what: str) -> None:
    """Await `work` for at most `seconds`; past that it is cancelled and left behind."""
    task = asyncio.ensure_future(work)
    done, _pending = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        if not task.cancelled() and task.exception() is not None:
            log.warning("quit: %s failed: %s", what, task.exception())
        return
    task.cancel()
    log.warning("quit: gave up %s after %.1f s", what, seconds)


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
    # asyncio.to_thread and DNS lookups run here: daemon threads nobody waits for at exit.
    loop.set_default_executor(quitting.DaemonExecutor())
    closing = asyncio.Event()
    deadline = quitting.ExitDeadline()

    def request_quit() -> None:
        deadline.arm()
        closing.set()

    running = App(
        vault,
        minimized=minimized,
        demo_note=note,
        autostart=None if demo else autostart.for_this_system(),
        window=window,
        request_quit=request_quit,
    )
    if instance is not None:
        instance.show_requested.connect(running.raise_window)
    # Logout: the session asks us to save (the state is saved as it changes; the window's
    # size and place now), then asks Qt to quit. That request (QEvent.Quit) starts our quit
    # instead of ending Qt's loop under the running tasks; aboutToQuit covers any other end.
    app.commitDataRequest.connect(lambda _manager: window.state_changed.emit(window.state_values()))
    if isinstance(app, QuitAwareApplication):
        app.on_quit = request_quit
    app.aboutToQuit.connect(request_quit)

    def on_signal(_number: int) -> None:  # on the watcher thread
        deadline.arm()
        loop.call_soon_threadsafe(closing.set)

    wakeup = quitting.SignalWakeup(on_signal)
    wakeup.install()

    async def main() -> None:
        running.show()
        await closing.wait()
        await running.shutdown()

    try:
        with loop:
            task = loop.create_task(main())
            while not task.done():
                try:
                    loop.run_until_complete(task)
                except RuntimeError:
                    if task.done():
                        raise
                    # Qt's loop ended first (the session is ending): finish the quit.
                    request_quit()
    finally:
        if isinstance(app, QuitAwareApplication):
            app.on_quit = None
        wakeup.uninstall()
        if instance is not None:
            instance.close()
        if server is not None:
            server.stop()
    _exit_if_stuck(deadline)
    return 0


def _exit_if_stuck(deadline: quitting.ExitDeadline) -> None:
    """A thread that is not a daemon and still runs would hold the interpreter's exit
    (threading joins them): end the process now instead, after the exit handlers ran."""
    stuck = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if not stuck:
        return
    log.warning("exiting with threads still busy: %s", ", ".join(t.name for t in stuck))
    deadline.arm()  # in case an exit handler hangs as well
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)
