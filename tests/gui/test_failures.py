"""Failures say which account, what happened and what to do, in full (issue 11, item 5):
a message box while the window is up, a notification while it is hidden in the tray; a
failed copy never leaves an earlier token to be pasted; a signed-out account is never signed
back in without asking; a fixed key says it cannot be refreshed. Against real servers on
127.0.0.1 and a real vault (in-memory keyring)."""

from __future__ import annotations

import time
from typing import Any

import jwt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.fakes.cached import issued_ago
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.gui.conftest import until
from vault_app.core.model import Status
from vault_app.core.vault import Vault
from vault_app.gui.main_window import MainWindow


def _box() -> QMessageBox | None:
    return next(
        (w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()),
        None,
    )


def _shown(window: MainWindow, qtbot: QtBot) -> None:
    window.adapter.load()
    window.show()
    qtbot.waitExposed(window)


def _add_oauth(run: Any, vault: Vault, fake: OAuth2Fake, name: str = "svc") -> str:
    fake.add_client("gui", "gui-secret-0001")
    _, failure = run(
        vault.add(
            name,
            "oauth2",
            {"token_url": fake.token_url, "client_id": "gui"},
            {"client_secret": "gui-secret-0001"},
        )
    )
    assert failure is None
    return vault.load().find(name).id


def test_a_failed_copy_says_which_account_what_happened_and_what_to_do(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    with OAuth2Fake(access_lifetime=90) as fake:
        # 20 s left of 90 (issued 70 s before it was sent): the copy must refresh first.
        fake.inject("/token", issued_ago(fake, 70))
        account_id = _add_oauth(run, memory_vault, fake)
        _shown(window, qtbot)
        # An earlier copy is still on the clipboard: it must not be pasted in place of this.
        window.clipboard.copy("an-earlier-token-of-another-account", 60)
        fake.inject("/token", Fault.unavailable(), times=None)
        window.act("copy", account_id)
        run(until(lambda: _box() is not None))
    box = _box()
    assert box is not None
    assert box.text() == "Could not copy the token of svc."
    details = box.informativeText()
    assert "503" in details  # what happened, in full
    assert "tries again on its own" in details  # what to do
    assert QGuiApplication.clipboard().text() == ""
    box.close()


def test_a_refused_account_offers_sign_in(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    with OAuth2Fake(access_lifetime=20) as fake:
        account_id = _add_oauth(run, memory_vault, fake)
        _shown(window, qtbot)
        del fake.clients["gui"]  # the server no longer knows this client
        window.act("refresh", account_id)
        run(until(lambda: _box() is not None))
    box = _box()
    assert box is not None and box.text() == "Could not refresh svc."
    assert "Sign in" in box.informativeText()
    assert "Sign in…" in [b.text() for b in box.buttons()]
    box.close()
    assert window.model.account(account_id).status is Status.SIGN_IN_NEEDED  # type: ignore[union-attr]


def test_hidden_window_reports_through_a_notification(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    notes: list[tuple[str, str, str | None, bool]] = []

    def notify(title: str, text: str, about: str | None, problem: bool) -> bool:
        notes.append((title, text, about, problem))
        return True

    window.notify = notify
    with OAuth2Fake(access_lifetime=90) as fake:
        # 20 s left of 90 (issued 70 s before it was sent): the copy must refresh first.
        fake.inject("/token", issued_ago(fake, 70))
        account_id = _add_oauth(run, memory_vault, fake)
        window.adapter.load()
        assert not window.isVisible()  # in the tray
        fake.inject("/token", Fault.unavailable(), times=None)
        window.act("copy", account_id)  # what the tray's Copy menu does
        run(until(lambda: bool(notes)))
    title, text, about, problem = notes[0]
    assert title == "Could not copy the token of svc" and about == account_id and problem
    assert "503" in text
    assert _box() is None


def test_copy_on_a_signed_out_account_asks_first(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    with OAuth2Fake(access_lifetime=600) as fake:
        account_id = _add_oauth(run, memory_vault, fake)
        run(memory_vault.revoke("svc"))
        _shown(window, qtbot)
        requests = len(fake.requests_to("/token"))
        window.act("copy", account_id)
        box = _box()
        assert box is not None and box.windowTitle() == "svc is signed out"
        assert "Sign in…" in [b.text() for b in box.buttons()]
        box.reject()
        assert len(fake.requests_to("/token")) == requests  # nothing was sent
    assert memory_vault.load().find("svc").status is Status.SIGNED_OUT


def test_refresh_on_a_fixed_key_says_it_cannot(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    now = time.time()
    key = jwt.encode({"exp": int(now + 600)}, "k" * 32, "HS256")
    run(memory_vault.add("key", "static", {}, {"token": key}))
    _shown(window, qtbot)
    account = memory_vault.load().find("key")
    before = account.last_refresh_at
    window.act("refresh", account.id)
    assert "fixed key: there is nothing to refresh" in window.status.message_text()
    assert memory_vault.load().find("key").last_refresh_at == before
    window._ensure_row_widgets()
    row = window._row_widgets[account.id]
    assert not row.buttons["refresh"].isEnabled()
    assert "nothing to refresh" in row.buttons["refresh"].toolTip()


def test_a_row_button_selects_its_row(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    key = jwt.encode({"exp": int(time.time() + 600)}, "k" * 32, "HS256")
    for name in ("a", "b", "c"):
        run(memory_vault.add(name, "static", {}, {"token": key}))
    _shown(window, qtbot)
    window.table.selectRow(0)
    run(until(lambda: len(window._row_widgets) == 3))
    target = memory_vault.load().find("c").id
    window._row_widgets[target].buttons["copy"].click()
    assert window.selected_id() == target
    run(until(lambda: QGuiApplication.clipboard().text() == key))
    window.clipboard.wipe()
