"""Revoke's confirmation says exactly what happens for the account's provider (at the server
or here only, and why), what is kept and what is forgotten; Cancel is the default; a failed
revoke is reported in full with the account's name and what to do."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.gui.conftest import until
from vault_app.core.model import Account, Status
from vault_app.core.vault import Vault
from vault_app.gui.main_window import MainWindow
from vault_app.gui.revoke_dialog import RevokeDialog


@pytest.mark.parametrize(
    ("kind", "fields", "secrets", "says", "after"),
    [
        (
            "alor",
            {},
            ["refresh_token"],
            "cannot be revoked through the API",
            "The stored Refresh token is forgotten too",
        ),
        (
            "traderevolution",
            {},
            ["password"],
            "has no revoke endpoint",
            "Kept in the keyring: Password. Sign in… gets new tokens with it.",
        ),
        (
            "apirone",
            {},
            ["password"],
            "Revoke logs out at Apirone",
            "Kept in the keyring: Transfer key.",
        ),
        ("static", {}, ["token"], "forgets it locally", "The stored Token is forgotten too"),
        (
            "oauth2",
            {"revocation_url": "https://a.example.com/revoke"},
            ["client_secret"],
            "asks the server to revoke",
            "Kept in the keyring: Client secret.",
        ),
        ("oauth2", {}, ["client_secret"], "No revocation URL is set", "Kept in the keyring"),
    ],
)
def test_the_confirmation_says_what_happens_for_the_provider(
    qtbot: QtBot, kind: str, fields: dict[str, str], secrets: list[str], says: str, after: str
) -> None:
    account = Account(
        id="a",
        name=f"{kind}-main",
        provider=kind,
        fields=fields,
        status=Status.OK,
        secret_fields=secrets,
    )
    box = RevokeDialog(account)
    qtbot.addWidget(box)
    text = box.text()
    assert text.startswith(f"Revoke {kind}-main?\n\n")
    assert says in text and after in text
    assert f'Afterwards {kind}-main shows "Signed out"' in text
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert box.defaultButton() is not box.revoke_button
    assert box.escapeButton() is not box.revoke_button


def test_cancel_is_the_default_and_only_revoke_accepts(qtbot: QtBot) -> None:
    account = Account(id="a", name="<b>key</b>", provider="static", secret_fields=["token"])
    results: list[int] = []
    box = RevokeDialog(account)
    qtbot.addWidget(box)
    box.finished.connect(results.append)
    box.show()
    qtbot.waitExposed(box)
    QTest.keyClick(box, Qt.Key.Key_Return)  # the default: Cancel
    box.show()
    QTest.keyClick(box, Qt.Key.Key_Escape)
    box.show()
    box.revoke_button.click()
    assert results == [0, 0, 1]
    assert "<b>key</b>" in box.text()  # a name is text, never markup


def _visible_boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


def test_revoke_through_the_window_and_a_failure_reported_in_full(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake() as fake:
        fake.add_client("gui", "gui-secret-0001")
        for name in ("good", "bad"):
            _, failure = run(
                memory_vault.add(
                    name,
                    "oauth2",
                    {
                        "token_url": fake.token_url,
                        "client_id": "gui",
                        "revocation_url": fake.revocation_url,
                    },
                    {"client_secret": "gui-secret-0001"},
                )
            )
            assert failure is None
        window.adapter.load()
        good = memory_vault.load().find("good")
        window.confirm_revoke(good)
        box = next(b for b in _visible_boxes() if isinstance(b, RevokeDialog))
        box.revoke_button.click()
        run(until(lambda: memory_vault.load().find("good").status is Status.SIGNED_OUT))
        assert fake.revocations

        fake.inject("/revoke", Fault.unavailable(), times=None)
        window.confirm_revoke(memory_vault.load().find("bad"))
        box = next(b for b in _visible_boxes() if isinstance(b, RevokeDialog))
        box.revoke_button.click()
        run(until(lambda: any(b.windowTitle() == "Revoke bad" for b in _visible_boxes())))
        report = next(b for b in _visible_boxes() if b.windowTitle() == "Revoke bad")
        assert report.text().startswith("Could not revoke bad: ")
        assert "This may pass" in report.text()
        assert memory_vault.load().find("bad").status is Status.OK  # nothing changed
        report.close()
