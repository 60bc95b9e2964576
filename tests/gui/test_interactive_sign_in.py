"""The window's browser and device sign-in against the fake server, through the Add / Edit /
Sign in form's own sign-in action: the form's button is the person's click (nothing opens a
browser before it), the waiting states in the form (link with Copy, Open again and Cancel;
the code large with Copy, the link and a QR code), Cancel, closing the form, the outcome
(dialog.added / edited / failed); the window's Sign in… and a sign-in-needed notification
lead there; Show decodes the id_token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import shiboken6
from pytestqt.qtbot import QtBot

from tests.fakes.oauth_interactive import InteractiveFake
from tests.gui.conftest import until
from vault_app.core import sign_in
from vault_app.core.account_store import VaultDoc
from vault_app.core.engine import Event, EventKind
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import get_provider
from vault_app.core.sign_in import BrowserStep, DeviceStep, Step
from vault_app.core.vault import Vault
from vault_app.gui.account_dialog import AccountDialog, SignInAction, sign_in_action_for
from vault_app.gui.app import App
from vault_app.gui.failures import what_to_do
from vault_app.gui.interactive_sign_in import InteractiveSignIn, WaitingPanel, qr_pixmap
from vault_app.gui.main_window import MainWindow
from vault_app.gui.plain_words import field_to_replace
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


@pytest.fixture
def copied(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What reaches the window's copy (the X clipboard is shared with the other worker)."""
    texts: list[str] = []
    monkeypatch.setattr(window, "copy_text", texts.append)
    return texts


class _View:
    """A SignInView for setting accounts up: lets `browser` play the person."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def show(self, step: Step) -> None:
        assert isinstance(step, BrowserStep)
        self.browser(step.url)


def _fill_add(window: MainWindow, fake: InteractiveFake, grant: str) -> AccountDialog:
    window.open_add()
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    dialog.kind.setCurrentIndex(dialog.kind.findData("oauth2"))
    dialog.name.setText("idp")
    dialog.editors["grant"].set_value(grant)
    dialog.editors["issuer"].set_value(fake.issuer)
    dialog.editors["client_id"].set_value("tv-app")
    dialog.editors["scope"].set_value("openid offline_access")
    assert dialog.validate(), dialog.problem.text()
    return dialog


def _panel(dialog: AccountDialog) -> WaitingPanel | None:
    panels = dialog.action_area.findChildren(WaitingPanel)
    shown = [p for p in panels if shiboken6.isValid(p) and p.isVisible()]
    return shown[0] if shown else None


def _closed(dialog: AccountDialog) -> bool:
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def _signed_in(run: Any, vault: Vault, fake: InteractiveFake, browser: Browser) -> Account:
    fields = {
        "issuer": fake.issuer,
        "grant": "authorization_code",
        "client_id": "tv-app",
        "scope": "openid offline_access",
    }
    run(vault.add("idp", "oauth2", fields, {}))
    account: Account = run(vault.login("idp", _View(browser)))[0]
    browser.opened.clear()
    return account


def _needing_sign_in(vault: Vault, account: Account) -> Account:
    def mark(doc: VaultDoc) -> Account:
        stored = doc.by_id(account.id)
        stored.status = Status.SIGN_IN_NEEDED
        stored.last_error = "oauth2: refresh: rejected by the server (invalid_grant)"
        return stored

    stored: Account = vault.store.update(mark)
    return stored


def test_the_browser_and_device_grants_bring_their_own_sign_in() -> None:
    for grant, words in (
        ("authorization_code", "Sign in with browser"),
        ("device_code", "Get a sign-in code"),
    ):
        action = sign_in_action_for("oauth2", {"grant": grant})
        assert isinstance(action, InteractiveSignIn) and action.button_text == words
    assert type(sign_in_action_for("oauth2", {"grant": "password"})) is SignInAction


def test_add_through_the_browser_opens_it_only_on_the_forms_button(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    dialog = _fill_add(window, fake, "authorization_code")
    assert dialog.sign_in.text() == "Sign in with browser"
    assert browser.opened == []  # filling the form opened nothing
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)))  # signed in: the form closes by itself
    assert len(browser.opened) == 1 and browser.opened[0].startswith(fake.url + "/authorize?")
    account = memory_vault.load().find("idp")
    assert account.status is Status.OK
    assert window.model.account(account.id) is not None
    assert "idp: signed in" in window.statusBar().currentMessage()
    # Show decodes the id_token next to the access token's claims.
    _, tokens = run(memory_vault.token("idp"))
    assert tokens.id_token
    show = ShowDialog(account, tokens, window.copy_text, window)
    text = show.claims.toPlainText()
    assert "// id_token claims (OpenID Connect, not verified)" in text
    assert '"aud": "tv-app"' in text and show.claims.isVisible() is show.isVisible()
    show.close()


def test_browser_waiting_state_copy_and_cancel(
    window: MainWindow,
    run: Any,
    memory_vault: Vault,
    fake: InteractiveFake,
    browser: Browser,
    copied: list[str],
) -> None:
    browser.consent = False  # the person never finishes in the browser
    dialog = _fill_add(window, fake, "authorization_code")
    dialog.sign_in.click()
    run(until(lambda: _panel(dialog) is not None))
    panel = _panel(dialog)
    assert panel is not None
    assert panel.link.text() == browser.opened[0]
    assert panel.link.text().startswith(fake.url + "/authorize?")
    assert not panel.code.isVisible() and not panel.qr.isVisible()
    assert "left" in panel.time_left.text()
    assert not dialog.sign_in.isEnabled() and not dialog.fields_box.isEnabled()
    assert dialog.focusWidget() is panel.copy_link
    panel.copy_link.click()
    assert copied == [panel.link.text()]
    panel.open_link.click()  # the wrong browser opened: open it again
    assert browser.opened == [panel.link.text()] * 2
    panel.cancel_button.click()
    run(until(lambda: dialog.sign_in.isEnabled()))
    assert not dialog.action_area.isVisible()
    assert "cancelled" in dialog.outcome.text() and "not added" in dialog.outcome.text()
    assert "Client secret" not in dialog.outcome.text()  # nothing to type: press again
    assert dialog.save_anyway.isVisible()
    assert [a.name for a in memory_vault.load().accounts] == []  # Add kept nothing
    # Save anyway keeps it, waiting for a sign-in.
    dialog.save_anyway.click()
    run(until(lambda: _closed(dialog)))
    assert memory_vault.load().find("idp").status is Status.SIGN_IN_NEEDED


def test_device_waiting_state_shows_code_link_and_qr(
    window: MainWindow,
    run: Any,
    memory_vault: Vault,
    fake: InteractiveFake,
    browser: Browser,
    copied: list[str],
) -> None:
    fake.device_outcomes = ["authorization_pending"] * 1000  # the person takes their time
    fake.device_interval = 60
    errors: list[str] = []
    window.adapter.error.connect(errors.append)
    dialog = _fill_add(window, fake, "device_code")
    assert dialog.sign_in.text() == "Get a sign-in code"
    dialog.sign_in.click()
    run(until(lambda: _panel(dialog) is not None))
    panel = _panel(dialog)
    assert panel is not None
    assert panel.code.text() == "WDJB-MJHT" and panel.code.isVisible() and panel.qr.isVisible()
    assert panel.code.font().pointSizeF() > 2 * panel.words.font().pointSizeF()
    pixmap = panel.qr.pixmap()
    assert not pixmap.isNull() and pixmap.width() >= 100
    assert panel.link.text() == fake.url + "/device"
    assert browser.opened == []  # the device grant opens a browser only on request
    panel.open_link.click()
    assert browser.opened == [fake.url + "/device?user_code=WDJB-MJHT"]
    panel.copy_code.click()
    panel.copy_link.click()
    assert copied == ["WDJB-MJHT", fake.url + "/device"]
    dialog.close()  # closing cancels the sign-in; Add keeps nothing and reports nothing
    run(until(lambda: not memory_vault.load().accounts))
    run(asyncio.sleep(0.1))
    assert errors == []


def test_device_sign_in_completes_in_the_form(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    fake.device_outcomes = ["authorization_pending"]
    fake.device_interval = 1
    dialog = _fill_add(window, fake, "device_code")
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)), 30)
    assert memory_vault.load().find("idp").status is Status.OK
    assert browser.opened == []


def test_a_denied_sign_in_says_so_in_the_form(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    fake.device_outcomes = ["access_denied"]
    fake.device_interval = 1
    dialog = _fill_add(window, fake, "device_code")
    dialog.sign_in.click()
    run(until(lambda: dialog.sign_in.isEnabled() and dialog.outcome.text() != ""), 30)
    text = dialog.outcome.text()
    assert "not added" in text and "denied" in text.lower(), text
    assert "Get a sign-in code" in text  # what to do: press the button again
    assert not dialog.action_area.isVisible()
    assert memory_vault.load().accounts == []


def test_a_discovery_failure_stores_nothing(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    fake.issuer_in_document = "https://evil.example.com"
    dialog = _fill_add(window, fake, "authorization_code")
    dialog.sign_in.click()
    run(until(lambda: dialog.sign_in.isEnabled() and dialog.outcome.text() != ""))
    assert "Could not add idp" in dialog.outcome.text()
    assert "evil.example.com" in dialog.outcome.text()
    assert browser.opened == [] and memory_vault.load().accounts == []


def test_window_sign_in_leads_to_the_browser_sign_in(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    account = _needing_sign_in(memory_vault, _signed_in(run, memory_vault, fake, browser))
    before = account.generation
    window.adapter.load()
    run(until(lambda: window.model.account(account.id) is not None))
    assert window.select_account(account.id)
    assert window.sign_in_action.isEnabled()
    window.sign_in_action.trigger()
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    run(until(dialog.isVisible))
    assert dialog.sign_in_mode and dialog.sign_in.text() == "Sign in with browser"
    assert "needs you to sign in again" in dialog.reason.text()
    assert "Client secret" not in dialog.reason.text()
    assert "Sign in with browser" in dialog.reason.text()
    assert dialog.field_to_focus() is dialog.sign_in
    assert browser.opened == []  # opening the form opened no browser
    dialog.sign_in.click()
    run(until(lambda: _closed(dialog)))
    assert len(browser.opened) == 1
    stored = memory_vault.load().find("idp")
    assert stored.status is Status.OK and stored.generation > before


def test_edit_then_cancel_keeps_the_change_and_the_tokens(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    account = _signed_in(run, memory_vault, fake, browser)
    _, tokens = run(memory_vault.token("idp"))
    browser.consent = False
    window.adapter.load()
    run(until(lambda: window.model.account(account.id) is not None))
    window.open_edit(account)
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    dialog.editors["scope"].set_value("openid")
    dialog.sign_in.click()
    run(until(lambda: _panel(dialog) is not None))
    panel = _panel(dialog)
    assert panel is not None
    panel.cancel_button.click()
    run(until(lambda: dialog.sign_in.isEnabled()))
    assert "were saved, but signing in failed" in dialog.outcome.text()
    stored = memory_vault.load().find("idp")
    assert stored.fields["scope"] == "openid" and stored.status is Status.OK
    _, still = run(memory_vault.token("idp"))
    assert still.access_token == tokens.access_token
    dialog.close()


def test_a_signed_in_browser_account_may_sign_in_again(
    window: MainWindow, run: Any, memory_vault: Vault, fake: InteractiveFake, browser: Browser
) -> None:
    account = _signed_in(run, memory_vault, fake, browser)
    window.adapter.load()
    run(until(lambda: window.model.account(account.id) is not None))
    window.select_account(account.id)
    assert window.sign_in_action.isEnabled()
    window.open_sign_in(account)
    dialog = [d for d in window._dialogs if isinstance(d, AccountDialog)][-1]
    assert "is signed in" in dialog.reason.text()
    dialog.close()


def test_sign_in_needed_notification_opens_the_sign_in_form(
    qtbot: QtBot, memory_vault: Vault, run: Any, fake: InteractiveFake, browser: Browser
) -> None:
    account = _needing_sign_in(memory_vault, _signed_in(run, memory_vault, fake, browser))
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    notes: list[tuple[str, str, str | None]] = []

    class Tray:
        def notify(
            self, title: str, message: str, critical: bool = False, account_id: str | None = None
        ) -> bool:
            notes.append((title, message, account_id))
            return True

        def hide(self) -> None:
            return

    app.tray = Tray()  # type: ignore[assignment]
    app.adapter.load()
    run(until(lambda: app.window.model.account(account.id) is not None))
    app._notify(Event(EventKind.SIGN_IN_NEEDED, account.id, "idp", "rejected"))
    assert notes and notes[0][2] == account.id and "sign in again" in notes[0][1]
    app.notification_clicked(account.id)
    dialogs = [d for d in app.window._dialogs if isinstance(d, AccountDialog)]
    assert len(dialogs) == 1 and dialogs[0].sign_in_mode
    assert dialogs[0].sign_in.text() == "Sign in with browser"
    assert browser.opened == []  # the click opened the form, not a browser
    app.notification_clicked(account.id)  # a second click: the offer was taken
    assert len([d for d in app.window._dialogs if isinstance(d, AccountDialog)]) == 1
    dialogs[0].close()
    run(app.shutdown())


def test_advice_for_browser_accounts_never_asks_for_a_secret() -> None:
    oauth2 = get_provider("oauth2")
    for grant in ("authorization_code", "device_code"):
        fields = {"grant": grant, "issuer": "https://sso.example.com"}
        assert field_to_replace(oauth2, fields, "invalid_grant") is None
        assert field_to_replace(oauth2, fields, "invalid_client") == "client_secret"
        advice = what_to_do(None, oauth2, fields, Status.SIGN_IN_NEEDED, in_form=True)
        assert "Client secret" not in advice and "Press " in advice
    assert "Client secret" in what_to_do(
        None, oauth2, {"grant": "client_credentials"}, Status.SIGN_IN_NEEDED, in_form=True
    )


def test_qr_code_is_drawn_for_long_links_and_sharp_at_scale_two() -> None:
    pixmap = qr_pixmap("https://login.example.com/device?user_code=" + "A" * 200)
    assert not pixmap.isNull() and pixmap.width() == pixmap.height()
    sharp = qr_pixmap("https://www.google.com/device?user_code=GQVQ-JKEC", 168, 2.0)
    assert sharp.devicePixelRatio() == 2.0 and sharp.width() >= 2 * 150


def test_waiting_panel_for_each_step(qtbot: QtBot) -> None:
    cancels: list[int] = []
    device = DeviceStep("GQVQ-JKEC", "https://www.google.com/device", None, 1800)
    panel = WaitingPanel(device, lambda _t: None, lambda: cancels.append(1))
    qtbot.addWidget(panel)
    panel.show()
    assert panel.target == "https://www.google.com/device"  # no complete URI: the plain one
    assert panel.first_button() is panel.copy_code
    panel.cancel_button.click()
    assert cancels == [1] and not panel.cancel_button.isEnabled()
    browser_panel = WaitingPanel(BrowserStep("https://sso.example.com/auth?x=1"), print, print)
    qtbot.addWidget(browser_panel)
    assert browser_panel.first_button() is browser_panel.copy_link
    assert browser_panel.open_link.text() == "Open again"


@pytest.mark.parametrize(
    "code",
    ["W" * 64, "字" * 64, "ABCD-" * 12 + "WXYZ", "WDJB-MJHT"],
    ids=["64-latin", "64-cjk", "hyphenated", "usual"],
)
def test_a_long_user_code_fits_a_small_screen(qtbot: QtBot, code: str) -> None:
    """A server may send a user code of up to 64 characters: the panel still fits a
    1024-pixel-wide screen beside the form (the code shrinks, then wraps), and Copy gives
    the code exactly as the server sent it."""
    copies: list[str] = []
    step = DeviceStep(code, "https://x.example/device", "https://x.example/d?c=1", 600)
    panel = WaitingPanel(step, copies.append, lambda: None)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.minimumSizeHint().width() <= 700
    panel.copy_code.click()
    assert copies == [code]
    if code == "WDJB-MJHT":  # a usual code keeps its large type
        assert panel.code.font().pointSizeF() >= 2 * panel.font().pointSizeF()
