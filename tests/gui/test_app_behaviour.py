"""Copy refreshes an expiring token first; no usable keyring gets a dialog that offers the
demo; notifications go out for what needs the user."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.fakes.cached import issued_ago
from tests.fakes.oauth2 import OAuth2Fake
from tests.gui.conftest import until
from vault_app.core.engine import Event, EventKind
from vault_app.core.model import Account, Status
from vault_app.core.vault import Vault
from vault_app.gui.app import App
from vault_app.gui.main_window import MainWindow


def test_copy_refreshes_an_expiring_token_first(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake(access_lifetime=90) as fake:
        fake.add_client("gui", "gui-secret-0001")
        # The first token arrives with 20 s left of its 90 (issued 70 s before it was sent):
        # past the first half of its life, so a copy (30 s) refreshes it first.
        fake.inject("/token", issued_ago(fake, 70))
        run(
            memory_vault.add(
                "svc",
                "oauth2",
                {"token_url": fake.token_url, "client_id": "gui"},
                {"client_secret": "gui-secret-0001"},
            )
        )
        first = memory_vault.read_current_sync(memory_vault.load().find("svc"))
        assert first is not None and first.tokens is not None
        left = first.tokens.remaining()
        assert left is not None and 0 < left <= 20
        window.adapter.load()
        window.table.selectRow(0)
        window.copy_action.trigger()
        clipboard = QGuiApplication.clipboard()
        run(until(lambda: clipboard.text().count(".") == 2 and clipboard.text() != ""))
        assert clipboard.text() != first.tokens.access_token  # 20 s left < 30 s: refreshed
        assert fake.is_active(clipboard.text())
        assert len(fake.requests_to("/token")) == 2


def test_no_usable_keyring_offers_the_demo(
    qtbot: QtBot, vault_home: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    app = App(Vault(vault_home), minimized=False)
    qtbot.addWidget(app.window)
    app.show()

    def dialog() -> QMessageBox | None:
        return next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QMessageBox) and w.isVisible()
            ),
            None,
        )

    run(until(lambda: dialog() is not None))
    box = dialog()
    assert box is not None
    assert "no usable keyring" in box.text() and "gnome-keyring" in box.text()
    assert [b.text() for b in box.buttons() if b.text() == "Try the demo"] == ["Try the demo"]
    assert app.window.keyring_label.full == "No usable keyring"
    box.reject()
    run(app.shutdown())


class _Tray:
    """Records notifications (the real one needs a tray host: see test_tray.py)."""

    def __init__(self) -> None:
        self.notes: list[tuple[str, str, str, str | None]] = []
        self.failures: dict[str, int] = {}

    def notify(
        self,
        title: str,
        message: str,
        critical: bool = False,
        account_id: str | None = None,
        information: bool = False,
    ) -> bool:
        icon = "critical" if critical else "information" if information else "warning"
        self.notes.append((title, message, icon, account_id))
        return True

    def failure(self, account_id: str) -> int:
        self.failures[account_id] = self.failures.get(account_id, 0) + 1
        return self.failures[account_id]

    def success(self, account_id: str) -> None:
        self.failures.pop(account_id, None)

    def hide(self) -> None:
        return


def test_notifications_for_what_needs_the_user(qtbot: QtBot, memory_vault: Vault, run: Any) -> None:
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    tray = _Tray()
    app.tray = tray  # type: ignore[assignment]
    protocol = "refresh: rejected by auth.example (HTTP 400: invalid_grant)"
    app._notify(Event(EventKind.SIGN_IN_NEEDED, "a", "alor", protocol))
    for _ in range(3):
        app._notify(Event(EventKind.REFRESH_FAILED, "b", "te", "te.example answered HTTP 503"))
    app._notify(Event(EventKind.REFRESH_TOKEN_EXPIRING, "c", "rt", "rt: expires in 9 days"))
    titles = [(title, icon, about) for title, _text, icon, about in tray.notes]
    assert titles == [
        ("alor needs a new sign-in", "critical", "a"),
        ("te: refreshing keeps failing", "warning", "b"),  # once, at the third failure
        ("rt: refresh token expires soon", "information", "c"),
    ]
    # Plain words, no protocol text: the window has the details.
    texts = [text for _title, text, _icon, _about in tray.notes]
    assert all("HTTP" not in text and "invalid_grant" not in text for text in texts)
    assert "Sign in" in tray.notes[0][1]
    app.window.settings["notifications"] = False
    app._notify(Event(EventKind.SIGN_IN_NEEDED, "a", "alor", "again"))
    assert len(tray.notes) == 3
    run(app.shutdown())


@pytest.mark.parametrize(
    ("left", "says"),
    [(600.0, "its token still works for 9m"), (-30.0, "its token has expired")],
)
def test_a_failing_refresh_notification_says_whether_the_token_still_works(
    qtbot: QtBot, memory_vault: Vault, run: Any, left: float, says: str
) -> None:
    """ "Its token stays usable until it expires" was said of a token that had expired a
    minute before (the demo's flaky gateway): the notification says which it is."""
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    tray = _Tray()
    app.tray = tray  # type: ignore[assignment]
    app.window.model.upsert(
        Account(
            id="b",
            name="te",
            provider="traderevolution",
            status=Status.ERROR,
            access_expires_at=time.time() + left,
        )
    )
    for _ in range(3):
        app._notify(Event(EventKind.REFRESH_FAILED, "b", "te", "te.example answered HTTP 503"))
    [(_title, text, _icon, _about)] = tray.notes
    assert says in text
    if left < 0:
        assert "usable until it expires" not in text and "still works" not in text
    run(app.shutdown())


def test_notifications_do_not_end_on_an_ellipsis_and_a_full_stop(
    qtbot: QtBot, memory_vault: Vault, run: Any
) -> None:
    """ "…then choose Sign in…." read as a typo."""
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    tray = _Tray()
    app.tray = tray  # type: ignore[assignment]
    app._notify(Event(EventKind.SIGN_IN_NEEDED, "a", "alor", "rejected"))
    assert all("…." not in text for _title, text, _icon, _about in tray.notes)
    run(app.shutdown())
