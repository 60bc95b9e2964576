"""The window's browser and device sign-in against the fake server: Add for such a grant opens
the sign-in dialog and nothing else; the browser opens only on the dialog's button; the
waiting states (link with Copy; the code large with Copy, the link and a QR code), Cancel, the
outcome; and Show decoding the id_token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.fakes.oauth_interactive import InteractiveFake
from tests.gui.conftest import until
from vault_app.core import sign_in
from vault_app.core.model import Status
from vault_app.core.vault import Vault
from vault_app.gui.account_dialog import AccountDialog
from vault_app.gui.interactive_sign_in import SignInDialog, qr_pixmap
from vault_app.gui.main_window import MainWindow
from vault_app.gui.show_dialog import ShowDialog


@pytest.fixture
def fake() -> Iterator[InteractiveFake]:
    with InteractiveFake() as made:
        made.add_interactive_client("tv-app")
        yield made


class Browser:
    """Stands in for sign_in.open_browser: records each URL; `consent` plays the person."""

    def __init__(self, fake: InteractiveFake) -> None:
        self.fake = fake
        self.opened: list[str] = []
        self.consent = True
        self.tasks: list[asyncio.Task[None]] = []

    def __call__(self, url: str) -> None:
        self.opened.append(url)
        if self.consent and "/authorize" in url:
            self.tasks.append(asyncio.ensure_future(self._redirect(url)))

    async def _redirect(self, url: str) -> None:
        redirect = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
        params = self.fake.authorize(url)
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(redirect + "?" + urlencode(params))


@pytest.fixture
def browser(fake: InteractiveFake, monkeypatch: pytest.MonkeyPatch) -> Browser:
    recorder = Browser(fake)
    monkeypatch.setattr(sign_in, "open_browser", recorder)
    return recorder


def _add_through_dialog(window: MainWindow, run: Any, fake: InteractiveFake, grant: str) -> None:
    window.open_add()
    dialog = next(d for d in window._dialogs if isinstance(d, AccountDialog))
    kinds = [dialog.kind.itemData(i) for i in range(dialog.kind.count())]
    dialog.kind.setCurrentIndex(kinds.index("oauth2"))
    dialog.name.setText("idp")
    dialog.editors["grant"].set_value(grant)
    dialog.editors["issuer"].set_value(fake.issuer)
    dialog.editors["client_id"].set_value("tv-app")
    dialog.editors["scope"].set_value("openid offline_access")
    assert dialog.validate(), dialog.problem.text()
    dialog.sign_in.click()
    run(until(lambda: any(isinstance(d, SignInDialog) for d in window._dialogs)))
    assert "Sign in to idp to finish" in dialog.outcome.text()
    dialog.close()


def _sign_in_dialog(window: MainWindow) -> SignInDialog:
    return next(d for d in window._dialogs if isinstance(d, SignInDialog))


def test_browser_sign_in_from_add_opens_the_browser_only_on_click(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    _add_through_dialog(window, run, fake, "authorization_code")
    dialog = _sign_in_dialog(window)
    assert memory_vault.load().find("idp").status is Status.SIGNED_OUT
    assert browser.opened == []  # saving the account opened nothing
    assert dialog.start_button.text() == "Sign in with browser"
    dialog.start_button.click()
    run(until(lambda: "Signed in" in dialog.outcome.text()))
    assert len(browser.opened) == 1 and browser.opened[0].startswith(fake.url + "/authorize?")
    account = memory_vault.load().find("idp")
    assert account.status is Status.OK
    # Show decodes the id_token next to the access token's claims.
    _, tokens = run(memory_vault.token("idp"))
    show = ShowDialog(account, tokens, window.copy_text, window)
    text = show.claims.toPlainText()
    assert "// id_token claims (not verified)" in text and '"aud": "tv-app"' in text
    show.close()
    dialog.close()


def test_browser_waiting_state_copy_and_cancel(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    browser.consent = False  # the person never finishes in the browser
    _add_through_dialog(window, run, fake, "authorization_code")
    dialog = _sign_in_dialog(window)
    dialog.start_button.click()
    run(until(lambda: dialog.link.text().startswith(fake.url + "/authorize?")))
    assert dialog.waiting.isVisible() and not dialog.code_box.isVisible()
    assert not dialog.start_button.isVisible()
    dialog.copy_link.click()
    assert window.clipboard._clipboard.text() == dialog.link.text()
    dialog.cancel_button.click()
    run(until(lambda: "Cancelled" in dialog.outcome.text()))
    assert not dialog.waiting.isVisible() and dialog.start_button.isVisible()
    assert memory_vault.load().find("idp").status is Status.SIGNED_OUT
    dialog.close()


def test_device_waiting_state_shows_code_link_and_qr(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    fake.device_outcomes = ["authorization_pending"] * 1000  # the person takes their time
    fake.device_interval = 60
    _add_through_dialog(window, run, fake, "device_code")
    dialog = _sign_in_dialog(window)
    assert dialog.start_button.text() == "Get a sign-in code"
    dialog.start_button.click()
    run(until(lambda: dialog.code.text() == "WDJB-MJHT"))
    assert dialog.code_box.isVisible() and dialog.qr.isVisible()
    assert dialog.code.font().pointSize() > dialog.status.font().pointSize()
    pixmap = dialog.qr.pixmap()
    assert not pixmap.isNull() and pixmap.width() >= 100
    assert dialog.link.text() == fake.url + "/device"
    assert browser.opened == []  # the device grant opens a browser only on request
    dialog.open_link.click()
    assert browser.opened == [fake.url + "/device?user_code=WDJB-MJHT"]
    dialog.copy_code.click()
    assert window.clipboard._clipboard.text() == "WDJB-MJHT"
    dialog.close()  # closing cancels the sign-in
    run(until(lambda: dialog.task is not None and dialog.task.done()))


def test_qr_code_is_drawn_for_long_links() -> None:
    pixmap = qr_pixmap("https://login.example.com/device?user_code=" + "A" * 200)
    assert not pixmap.isNull() and pixmap.width() == pixmap.height()
