"""Failures say which account, what happened and what to do, in full (issue 11, item 5):
a message box while the window is up, a notification while it is hidden in the tray; a
failed copy never leaves an earlier token to be pasted; a signed-out account is never signed
back in without asking; a fixed key says it cannot be refreshed. Against real servers on
127.0.0.1 and a real vault (in-memory keyring). Advice by kind of failure, the same words in
the window and the dialogs."""

from __future__ import annotations

import time
from typing import Any

import jwt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tests.fakes.cached import issued_ago
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.gui.conftest import add_client_account, message_box, until
from vault_app.core.errors import (
    KeyringUnavailableError,
    MisconfiguredError,
    NoSuchAccountError,
    RejectedError,
    TransientError,
    UsageError,
    UserFacingError,
    VaultFileError,
)
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import get_provider
from vault_app.core.sign_in import SignInCancelledError
from vault_app.core.vault import Vault
from vault_app.gui.failures import failure, failure_text, what_to_do
from vault_app.gui.main_window import MainWindow

OAUTH2 = get_provider("oauth2")


def _shown(window: MainWindow, qtbot: QtBot) -> None:
    window.adapter.load()
    window.show()
    qtbot.waitExposed(window)


def test_a_failed_copy_says_which_account_what_happened_and_what_to_do(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    with OAuth2Fake(access_lifetime=90) as fake:
        # 20 s left of 90 (issued 70 s before it was sent): the copy must refresh first.
        fake.inject("/token", issued_ago(fake, 70))
        account_id = add_client_account(run, memory_vault, fake).id
        _shown(window, qtbot)
        # An earlier copy is still on the clipboard: it must not be pasted in place of this.
        window.clipboard.copy("an-earlier-token-of-another-account", 60)
        fake.inject("/token", Fault.unavailable(), times=None)
        window.act("copy", account_id)
        run(until(lambda: message_box() is not None))
    box = message_box()
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
        account_id = add_client_account(run, memory_vault, fake).id
        _shown(window, qtbot)
        del fake.clients["gui"]  # the server no longer knows this client
        window.act("refresh", account_id)
        run(until(lambda: message_box() is not None))
    box = message_box()
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
        account_id = add_client_account(run, memory_vault, fake).id
        window.adapter.load()
        assert not window.isVisible()  # in the tray
        fake.inject("/token", Fault.unavailable(), times=None)
        window.act("copy", account_id)  # what the tray's Copy menu does
        run(until(lambda: bool(notes)))
    title, text, about, problem = notes[0]
    assert title == "Could not copy the token of svc" and about == account_id and problem
    assert "503" in text
    assert message_box() is None


def test_copy_on_a_signed_out_account_asks_first(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot
) -> None:
    with OAuth2Fake(access_lifetime=600) as fake:
        account_id = add_client_account(run, memory_vault, fake).id
        run(memory_vault.revoke("svc"))
        _shown(window, qtbot)
        requests = len(fake.requests_to("/token"))
        window.act("copy", account_id)
        box = message_box()
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


def test_advice_by_kind_of_failure() -> None:
    fields = {"grant": "client_credentials"}
    rejected = what_to_do(RejectedError("x"), OAUTH2, fields)
    assert rejected.startswith("Use Sign in…, then enter a new Client secret")
    in_form = what_to_do(RejectedError("x"), OAUTH2, fields, in_form=True)
    assert in_form.startswith("Enter a new Client secret") and in_form.endswith("Sign in.")
    assert what_to_do(None, OAUTH2, fields, Status.SIGN_IN_NEEDED) == rejected
    pem = what_to_do(RejectedError("x"), OAUTH2, {"grant": "jwt_bearer"}, in_form=True)
    assert pem.startswith("Paste or load a new Private key (the RSA private key")
    cancelled = what_to_do(SignInCancelledError(), OAUTH2, fields)
    assert cancelled == "Use Sign in… to start a new sign-in."
    # A kind this version does not know: no field to name, still the way out.
    unknown = what_to_do(RejectedError("x"), None, {})
    assert "Sign in again" in unknown and "Account ▸ Sign in…" in unknown
    assert what_to_do(RejectedError("x"), None, {}, in_form=True) == "Enter new credentials."

    assert "may pass" in what_to_do(TransientError("x"), OAUTH2, fields)
    assert "on its own" not in what_to_do(TransientError("x"), OAUTH2, fields, in_form=True)
    retried = what_to_do(TransientError("x"), OAUTH2, fields, retried=True)
    assert "stored tokens are kept" in retried and "tries again on its own" in retried
    assert what_to_do(None, OAUTH2, fields, Status.ERROR, retried=True) == retried

    misconfigured = what_to_do(MisconfiguredError("x"), OAUTH2, fields)
    assert "will not help" in misconfigured and "URLs" in misconfigured
    assert "Account ▸ Edit…" in misconfigured
    assert "Edit" not in what_to_do(MisconfiguredError("x"), OAUTH2, fields, in_form=True)
    assert "Unlock the system keyring" in what_to_do(KeyringUnavailableError("x"), None, {})
    assert "Nothing was changed" in what_to_do(VaultFileError("x"), None, {})
    assert "removed meanwhile" in what_to_do(NoSuchAccountError("x"), None, {})
    assert "Correct the form" in what_to_do(UsageError("x"), OAUTH2, fields, in_form=True)
    assert what_to_do(UsageError("x"), None, {}) == ""  # the message says what is wrong
    assert "log" in what_to_do(UserFacingError("x"), OAUTH2, fields)
    # A bug: the report already points to the log; nothing more to advise.
    assert what_to_do(RuntimeError("x"), OAUTH2, fields) == ""


def _svc(provider: str = "oauth2") -> Account:
    return Account(id="a" * 32, name="svc", provider=provider, status=Status.ERROR)


def test_failure_text_names_the_account_what_happened_and_what_to_do() -> None:
    error = TransientError("oauth2: refresh: cannot connect to auth.example.com (refused)")
    assert failure_text("revoke", _svc(), error) == (
        "Could not revoke svc: Refresh: cannot connect to auth.example.com "
        "(refused). This may pass: check the network connection and try again in a moment."
    )
    assert failure_text("copy the token of", _svc(), error, retried=True).endswith(
        "Token Vault tries again on its own; you can also retry in a moment."
    )
    # Nothing to advise: no dangling space.
    usage = failure_text("revoke", _svc("futureprov"), UsageError("bad"))
    assert usage == "Could not revoke svc: Bad."


def test_the_window_report_has_the_same_advice_as_the_dialogs() -> None:
    account = _svc()
    account.fields = {"grant": "client_credentials"}
    refused = failure("refresh", account, RejectedError("invalid_client"), retried=True)
    assert refused.title == "Could not refresh svc" and refused.account_id == account.id
    assert refused.offer_sign_in
    assert refused.advice == what_to_do(
        RejectedError("invalid_client"), OAUTH2, account.fields, retried=True
    )
    no_one = failure("refresh the accounts", None, RejectedError("x"))
    assert no_one.account_id is None and not no_one.offer_sign_in
    assert "Account ▸ Sign in…" in no_one.advice
    bug = failure("export to /tmp/x", None, RuntimeError("boom"))
    assert "Unexpected error (RuntimeError)" in bug.happened and bug.advice == ""
    assert bug.text() == bug.happened
