"""The window serves the command line over its socket, and runs local proxies from the
account's context menu, listing them with their address, key and Stop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu, QPushButton
from pytestqt.qtbot import QtBot

from tests.conftest import REPO
from tests.fakes.echo import EchoUpstream
from tests.gui.conftest import until
from tests.service.support import FAIL_KEYRING
from vault_app.core.vault import Vault
from vault_app.gui.app import App
from vault_app.service import client, paths
from vault_app.service.proxy import KEY_HEADER

TOKEN = "window-served-token-0001"


@pytest.fixture
def app(qtbot: QtBot, memory_vault: Vault, run: Any) -> Iterator[App]:
    _account, failure = run(memory_vault.add("api", "static", {}, {"token": TOKEN}))
    assert failure is None
    running = App(memory_vault, minimized=True)
    qtbot.addWidget(running.window)
    running.show()
    run(until(lambda: running.service.server is not None and running.window.model.rowCount() > 0))
    yield running
    # Each test quits the app itself while its window exists (pytest-qt closes widgets before
    # fixtures end); this only makes sure no socket or proxy outlives a failed test.
    run(running.service.stop())


def test_the_window_serves_the_command_line(app: App, run: Any) -> None:
    """The window's vault keeps its secrets in memory here: a CLI whose own keyring cannot
    be used gets the token all the same, from the window."""
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": FAIL_KEYRING}
    done = run(
        asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "vault_app", "token", "api"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        ),
        60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == TOKEN + "\n"
    hello = run(asyncio.to_thread(client.hello, app.vault.store.home))
    assert hello is not None and hello["app"] == "window"
    socket_file = paths.socket_path(app.vault.store.home)
    assert socket_file.exists()
    run(app.shutdown())
    assert not socket_file.exists()


def test_serve_an_account_through_a_local_proxy(app: App, run: Any) -> None:
    window = app.window
    # In the Account menu and each account's context menu; the list in the View menu.
    assert app.proxies.serve_action in window.account_menu.actions()
    assert app.proxies.list_action in window.view_menu.actions()
    menu = QMenu()
    window._fill_account_menu(menu)
    assert app.proxies.serve_action in menu.actions()
    window.table.clearSelection()
    window.table.setCurrentIndex(window.table.model().index(-1, -1))
    window._update_actions()
    assert not app.proxies.serve_action.isEnabled()  # no account chosen
    window.table.selectRow(0)
    window._update_actions()
    assert app.proxies.serve_action.isEnabled()
    dialog = app.proxies.serve_selected()
    assert dialog is not None
    with EchoUpstream() as upstream:
        # A wrong upstream is said in the dialog, and nothing starts.
        dialog.upstream.setText("http://api.example.com")
        dialog.start()
        run(until(lambda: "plain http is only allowed to loopback" in dialog.message.text()))
        assert app.service.proxies == [] and dialog.start_button.isEnabled()

        dialog.upstream.setText(upstream.url)
        dialog.start()
        run(until(lambda: dialog.proxy is not None))
        proxy = dialog.proxy
        assert proxy is not None and app.service.proxies == [proxy]
        assert dialog.address.value == proxy.address
        assert dialog.key.value == proxy.config.key
        assert dialog.key.field.echoMode() is QLineEdit.EchoMode.Password  # masked until shown
        dialog.key.copy_button.click()
        assert QApplication.clipboard().text() == proxy.config.key

        response = run(
            asyncio.to_thread(
                httpx.get,
                proxy.address + "/hello",
                headers={KEY_HEADER: proxy.config.key},
                trust_env=False,
                timeout=30,
            )
        )
        assert response.status_code == 200
        assert upstream.seen[-1].all("Authorization") == [f"Bearer {TOKEN}"]

        listing = app.proxies.open_list()
        assert listing.table.rowCount() == 1
        cells = [listing.table.item(0, c).text() for c in range(4)]  # type: ignore[union-attr]
        assert cells == ["api", proxy.address, upstream.url, "1"]
        stop = [
            b
            for b in listing.table.cellWidget(0, 4).findChildren(QPushButton)
            if b.text() == "Stop"
        ]
        stop[0].click()
        run(until(lambda: app.service.proxies == []))
        assert listing.table.rowCount() == 0 and not listing.empty.isHidden()
        with pytest.raises(httpx.ConnectError):
            run(asyncio.to_thread(httpx.get, proxy.address, trust_env=False, timeout=30))
        listing.close()
        dialog.close()
    run(app.shutdown())
