"""What `add` and `login` tell the person on stderr for a browser or device sign-in
(cli/login.py's TerminalView): the wait's limit in plain words, and no claim that a browser
opened (opening runs on its own thread and may fail)."""

from __future__ import annotations

import io

import pytest

from tests.cli.support import add_static, assert_ok
from tests.conftest import Cli
from vault_app.cli.login import TerminalView
from vault_app.core import sign_in
from vault_app.core.sign_in import BrowserStep, DeviceStep


@pytest.mark.parametrize(
    ("limit", "said"), [("", "5 minutes"), ("100", "100 s"), ("60", "1 minute"), ("90.5", "90.5 s")]
)
def test_the_limit_in_plain_words(monkeypatch: pytest.MonkeyPatch, limit: str, said: str) -> None:
    monkeypatch.setenv(sign_in.LIMIT_VARIABLE, limit)
    err = io.StringIO()
    TerminalView(err, browser=False).show(BrowserStep("https://sso.example/auth?x=1"))
    assert f"(at most {said}; Ctrl+C cancels)" in err.getvalue()


def test_a_device_link_is_not_said_to_be_open(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setenv("BROWSER", "true")
    monkeypatch.setattr(sign_in, "open_browser", opened.append)
    err = io.StringIO()
    step = DeviceStep("WDJB-MJHT", "https://x.example/d", "https://x.example/d?c=WDJB-MJHT", 600)
    TerminalView(err, browser=True).show(step)
    assert opened == ["https://x.example/d?c=WDJB-MJHT"]
    assert "opened" not in err.getvalue()
    assert "(opening it in the browser: https://x.example/d?c=WDJB-MJHT)" in err.getvalue()


def test_show_says_when_no_refresh_token_is_held(cli: Cli) -> None:
    assert_ok(add_static(cli, "key", "abc123"))
    shown = assert_ok(cli("show", "key")).out
    assert "refresh token:  none" in shown


def test_a_device_code_that_lives_shorter_than_the_limit_says_so() -> None:
    err = io.StringIO()
    step = DeviceStep("WDJB-MJHT", "https://x.example/d", None, 120)
    TerminalView(err, browser=False).show(step)
    assert "(at most 2 minutes; Ctrl+C cancels)" in err.getvalue()
