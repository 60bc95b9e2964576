"""Show follows the account: a live countdown, a token re-read when the vault refreshes,
copy buttons that take the current token; it opens for a failing account and says what is
wrong; claims are plain monospace text with times in local time; masked until revealed."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import jwt
import pytest
import shiboken6
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from tests.fakes.cached import issued_ago
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.gui.conftest import add_client_account, until
from vault_app.core.model import Account, Status, TokenSet
from vault_app.core.vault import Vault
from vault_app.gui.account_dialog import AccountDialog
from vault_app.gui.main_window import MainWindow
from vault_app.gui.show_dialog import ShowDialog, claims_text, local_time


def _copies(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the dialogs hand to the window's (secret-marked) copy, in order. The X clipboard
    itself is shared with the tests another worker runs on the same display."""
    copied: list[str] = []
    monkeypatch.setattr(window, "copy_text", copied.append)
    return copied


def _show(window: MainWindow, account: Account) -> ShowDialog:
    window._open_show(account)
    dialog = [d for d in window._dialogs if isinstance(d, ShowDialog)][-1]
    assert dialog.isVisible()
    return dialog


def test_show_follows_a_refresh(
    window: MainWindow, run: Any, memory_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = _copies(window, monkeypatch)
    with OAuth2Fake(access_lifetime=600) as fake:
        account = add_client_account(run, memory_vault, fake)
        window.adapter.load()
        dialog = _show(window, account)
        run(until(lambda: dialog.tokens is not None))
        first = dialog.tokens
        assert first is not None
        before = dialog.expires_label.text()
        assert "(in 9m" in before or "(in 10m" in before

        fake.access_lifetime = 1200  # the next token lives 20 minutes
        window.adapter.spawn(window.adapter.refresh_now([account.id]))  # as the engine would
        run(until(lambda: dialog.tokens is not None and dialog.tokens is not first))
        assert dialog.tokens is not None
        assert dialog.tokens.access_token != first.access_token
        assert dialog.token_edit.text() == dialog.tokens.access_token
        assert "(in 19m" in dialog.expires_label.text() or "(in 20m" in dialog.expires_label.text()

        dialog.copy_buttons["raw"].click()
        run(until(lambda: len(copied) == 1))
        assert copied[0] == dialog.tokens.access_token
        assert fake.is_active(copied[0])
        assert copied[0] != first.access_token
        assert dialog.message.text() == "Copied the token of svc."
        dialog.copy_buttons["header"].click()
        run(until(lambda: len(copied) == 2))
        assert copied[1] == f"Authorization: Bearer {copied[0]}"
        dialog.close()


def test_copy_takes_the_current_token_when_the_shown_one_is_about_to_expire(
    window: MainWindow, run: Any, memory_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = _copies(window, monkeypatch)
    with OAuth2Fake(access_lifetime=90) as fake:
        # 20 s left of 90 (issued 70 s before it was sent) is below the 30 s a copy needs,
        # and past the first half of its life (when a caller is served whatever it asks).
        fake.inject("/token", issued_ago(fake, 70))
        account = add_client_account(run, memory_vault, fake)
        stored = memory_vault.read_current_sync(account)
        assert stored is not None and stored.tokens is not None
        left = stored.tokens.remaining()
        assert left is not None and 0 < left <= 20
        dialog = ShowDialog(
            account, stored.tokens, window.copy_text, window, adapter=window.adapter
        )
        window._keep(dialog)
        dialog.copy_buttons["raw"].click()
        run(until(lambda: len(copied) == 1))
        assert copied[0] != stored.tokens.access_token
        assert fake.is_active(copied[0])
        dialog.close()


def test_the_countdown_is_live_and_says_expired(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    account = Account(id="a", name="alpha", provider="static", status=Status.OK)
    dialog = ShowDialog(account, TokenSet("opaque-token-1", "Bearer", clock[0] + 100))
    qtbot.addWidget(dialog)
    assert dialog.expires_label.text().endswith("(in 1m 40s)")
    assert dialog.status_label.text() == "Signed in"
    clock[0] += 45
    dialog._timer.timeout.emit()  # the one-second timer
    assert dialog.expires_label.text().endswith("(in 55s)")
    clock[0] += 60
    dialog._timer.timeout.emit()
    assert dialog.expires_label.text().endswith("(expired 5s ago)")
    assert dialog.status_label.text() == "Expired"
    assert dialog.expires_label.text().startswith(local_time(1_800_000_100.0))


def test_show_on_a_failing_account_opens_and_says_what_is_wrong(
    window: MainWindow, run: Any, memory_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = _copies(window, monkeypatch)
    with OAuth2Fake(access_lifetime=90) as fake:
        # 20 s left of 90 (issued 70 s before it was sent): Show and Copy refresh first.
        fake.inject("/token", issued_ago(fake, 70))
        account = add_client_account(run, memory_vault, fake)
        fake.add_client("gui", "rotated-secret-0002")  # the stored secret is refused now
        window.adapter.load()
        dialog = _show(window, account)
        run(until(lambda: not dialog.message.isHidden() and dialog.tokens is not None))
        text = dialog.message.text()
        assert text.startswith("Could not get a token for svc: ")
        assert "invalid_client" in text
        assert "Use Sign in…, then enter a new Client secret" in text
        assert dialog.sign_in_button.isVisible()
        # The new button did not take the focus off Close (a button box re-lays out).
        assert dialog.focusWidget() is dialog.close_button
        # The stored token (still valid for a few seconds) stays on show.
        assert dialog.token_edit.text().count(".") == 2

        dialog.copy_buttons["raw"].click()
        run(until(lambda: "Nothing was copied" in dialog.message.text()))
        assert dialog.message.text().startswith("Could not copy the token of svc: ")
        assert copied == []  # the clipboard keeps what it had

        opened: list[Account] = []
        dialog.sign_in_requested.connect(opened.append)
        dialog.sign_in_button.click()
        assert [a.id for a in opened] == [account.id]
        form = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
        assert form.isVisible() and form.windowTitle() == "Sign in to svc"
        assert form.focusWidget() is form.editors["client_secret"].line
        form.close()
        dialog.close()


def test_show_when_the_server_is_down_says_it_may_pass(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake(access_lifetime=90) as fake:
        # 20 s left of 90 (issued 70 s before it was sent): Show refreshes first.
        fake.inject("/token", issued_ago(fake, 70))
        account = add_client_account(run, memory_vault, fake)
        # The server is down: the refresh a token with 20 s left needs gets a 503 every time.
        fake.inject("/token", Fault.unavailable(), times=None)
        dialog = _show(window, account)
        run(until(lambda: not dialog.message.isHidden()))
        assert dialog.message.text().startswith("Could not get a token for svc: ")
        assert "trouble that passes" in dialog.message.text()
        assert "tries again on its own" in dialog.message.text()
        dialog.close()


def test_a_signed_out_account_is_not_signed_in_behind_the_users_back(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake() as fake:
        account = add_client_account(run, memory_vault, fake)
        run(memory_vault.revoke("svc"))
        account = memory_vault.load().find("svc")
        assert account.status is Status.SIGNED_OUT
        requests = len(fake.requests_to("/token"))
        dialog = _show(window, account)
        run(until(lambda: "signed out" in dialog.message.text()))
        assert not any(b.isEnabled() for b in dialog.copy_buttons.values())
        dialog.copy_form("raw")
        assert dialog.message.text().startswith("Nothing was copied: svc is signed out.")
        assert len(fake.requests_to("/token")) == requests
        assert dialog.sign_in_button.isVisible()
        dialog.close()


def test_show_follows_a_revoke_and_a_removal(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    with OAuth2Fake() as fake:
        account = add_client_account(run, memory_vault, fake)
        dialog = _show(window, account)
        run(until(lambda: dialog.tokens is not None))
        window.adapter.spawn(window.adapter.revoke(account.id))
        run(until(lambda: dialog.tokens is None))
        assert dialog.status_label.text() == "Signed out"
        window.adapter.spawn(window.adapter.remove(account.id))
        run(until(lambda: "was removed" in dialog.message.text()))
        assert not any(b.isEnabled() for b in dialog.copy_buttons.values())
        dialog.close()
        assert not shiboken6.isValid(dialog) or not dialog.isVisible()


def test_claims_are_plain_monospace_text_with_local_times(qtbot: QtBot) -> None:
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": "<b>bold</b> \u202eevil",
            "exp": now + 600,
            "iat": now,
            "name": "<img src=x>",
        },
        "k" * 32,
    )
    account = Account(id="a", name="<i>tricky</i>", provider="oauth2", status=Status.OK)
    dialog = ShowDialog(account, TokenSet(token, "Bearer", now + 600, scope="<u>s</u>"))
    qtbot.addWidget(dialog)
    text = dialog.claims.toPlainText()
    assert '"sub": "<b>bold</b> \\u202eevil"' in text  # escaped, never rendered or reordered
    assert "\u202e" not in text
    assert f"exp       {local_time(now + 600)}" in text
    assert QFontInfo(dialog.claims.font()).fixedPitch()
    assert QFontInfo(dialog.token_edit.font()).fixedPitch()
    outside = [
        dialog.heading,
        dialog.status_label,
        dialog.type_label,
        dialog.issued_label,
        dialog.expires_label,
        dialog.scope_label,
        dialog.message.label,
        *dialog.copy_labels.values(),
    ]
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in outside)
    assert dialog.heading.text() == "<i>tricky</i> (OAuth 2.0 token endpoint)"
    assert dialog.scope_label.text() == "<u>s</u>"


def test_masked_until_revealed_and_every_form_offered(qtbot: QtBot) -> None:
    token = jwt.encode({"sub": "gui", "exp": int(time.time()) + 600}, "k" * 32)
    copied: list[str] = []
    account = Account(id="a", name="alpha", provider="static", fields={"header_name": "X-Key"})
    dialog = ShowDialog(account, TokenSet(token, "Bearer", time.time() + 600), copied.append)
    qtbot.addWidget(dialog)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password
    assert all(token not in p.text() for p in dialog.previews.values())
    assert dialog.previews["header"].text() == "X-Key: Bearer ••••••••"
    dialog.reveal.click()
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.previews["header"].text() == f"X-Key: Bearer {token}"
    labels = {k: dialog.copy_labels[k].text() for k in dialog.copy_labels}
    assert labels == {
        "raw": "Token",
        "bearer": "Bearer token",
        "header": "Header line",
        "curl": "curl",
    }
    assert not any(text.endswith("…") for text in labels.values())  # nothing reads cut off
    for key in ("raw", "bearer", "header", "curl"):
        dialog.copy_buttons[key].click()
    assert copied == [
        token,
        f"Bearer {token}",
        f"X-Key: Bearer {token}",
        f"curl -H 'X-Key: Bearer {token}' https://",
    ]


@given(
    st.dictionaries(
        st.text(max_size=12),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=6,
    )
)
def test_claims_text_never_raises_and_never_shows_raw_control_characters(
    claims: dict[str, Any],
) -> None:
    token = jwt.encode(claims, "k" * 32)
    text = claims_text(token)
    assert all(ch == "\n" or ch.isprintable() for ch in text)
    assert text.startswith("// header")
    json.loads(text.split("// claims (not verified)\n", 1)[1].split("\n// times", 1)[0])


@given(st.one_of(st.none(), st.floats(), st.integers(min_value=-(10**30), max_value=10**30)))
def test_local_time_never_raises(value: float | None) -> None:
    text = local_time(value)
    assert text == "unknown" or (value is not None and math.isfinite(value))


def test_keyboard_tab_follows_the_layout_return_and_escape(qtbot: QtBot) -> None:
    copied: list[str] = []
    token = jwt.encode({"sub": "gui", "exp": int(time.time()) + 600}, "k" * 32)
    account = Account(id="a", name="alpha", provider="static", status=Status.OK)
    dialog = ShowDialog(account, TokenSet(token, "Bearer", time.time() + 600), copied.append)
    qtbot.addWidget(dialog)
    dialog.resize(700, 1400)  # all on screen: the order is read from positions
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.focusWidget() is dialog.close_button  # Return or Escape: done
    seen: list[QWidget] = [dialog.token_edit]
    dialog.token_edit.setFocus()
    for _ in range(8):
        QTest.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        seen.append(dialog.focusWidget())
    expected = [
        dialog.token_edit,
        dialog.reveal,
        *(dialog.copy_buttons[k] for k in ("raw", "bearer", "header", "curl")),
        dialog.claims,
        dialog.close_button,
        dialog.token_edit,  # round again
    ]
    assert seen == expected
    # Return on a focused copy button copies (and keeps the dialog open)...
    dialog.copy_buttons["header"].setFocus()
    QTest.keyClick(dialog.copy_buttons["header"], Qt.Key.Key_Return)
    assert copied == [f"Authorization: Bearer {token}"]
    assert dialog.isVisible()
    # ...Tab in the claims moves on instead of typing, and Escape closes.
    dialog.claims.setFocus()
    QTest.keyClick(dialog.claims, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.close_button
    QTest.keyClick(dialog.close_button, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    # Return anywhere else is the default button: Close.
    dialog.show()
    dialog.token_edit.setFocus()
    QTest.keyClick(dialog.token_edit, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    assert len(copied) == 1


def test_the_dialog_grows_to_show_the_claims_once_the_token_arrives(
    window: MainWindow, run: Any, memory_vault: Vault
) -> None:
    """Opened from the window, Show has no token yet (it fetches one): when the token comes,
    the dialog grows to its contents, so the decoded claims are on screen without scrolling
    while the screen has room (seen: a 390 px dialog on an 800 px screen, the claims below
    its fold)."""
    with OAuth2Fake(access_lifetime=600) as fake:
        account = add_client_account(run, memory_vault, fake)
        window.adapter.load()
        dialog = _show(window, account)
        run(until(lambda: dialog.tokens is not None))
        run(until(lambda: dialog.scroll_area.verticalScrollBar().maximum() == 0, timeout=5))
        assert dialog.claims.isVisible()
        free = dialog.screen().availableGeometry()
        assert dialog.frameGeometry().height() <= free.height()
        dialog.close()
