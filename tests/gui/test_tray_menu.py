"""The tray's Copy menu stays short with many accounts (issue 11, item 9): pinned and recently
copied accounts, at most a handful, then "More…" which opens the window's filter. Pinning is
in the window's context menu and remembered in the vault's settings. (The tray under a real
tray host: test_tray.py.)"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tests.gui.conftest import until
from vault_app.core.model import Account, Status
from vault_app.core.vault import Vault
from vault_app.gui.app import App
from vault_app.gui.tray import COPY_MENU_CAP, Tray, copy_menu_accounts


def _accounts(count: int) -> list[Account]:
    now = time.time()
    return [
        Account(
            id=f"id-{n:03d}",
            name=f"acct-{n:03d}",
            provider="static",
            status=Status.OK,
            access_expires_at=now + 600,
        )
        for n in range(count)
    ]


def _labels(tray: Tray) -> list[str]:
    return [a.text() for a in tray.copy_menu.actions() if not a.isSeparator()]


def test_copy_menu_is_capped_with_pinned_and_recent_first(qtbot: QtBot) -> None:
    tray = Tray()
    accounts = _accounts(200)
    tray.update(accounts, set(), pinned=["id-150", "id-007"], recent=["id-042", "id-150"])
    labels = _labels(tray)
    assert labels == ["acct-150", "acct-007", "acct-042", "More… (197 others)"]
    assert len(labels) <= COPY_MENU_CAP + 1
    many_recent = [f"id-{n:03d}" for n in range(20)]
    tray.update(accounts, set(), pinned=[], recent=many_recent)
    assert len(_labels(tray)) == COPY_MENU_CAP + 1 and _labels(tray)[-1].startswith("More…")
    tray.update(accounts, set(), pinned=[], recent=[])
    assert _labels(tray) == ["Pin accounts to list them here", "More… (200 others)"]
    with qtbot.waitSignal(tray.more_requested, timeout=1000):
        tray.copy_menu.actions()[-1].trigger()


def test_a_few_accounts_are_all_listed_and_say_what_is_wrong() -> None:
    accounts = _accounts(4)
    accounts[1].status = Status.SIGNED_OUT
    accounts[2].status = Status.SIGN_IN_NEEDED
    accounts[3].access_expires_at = time.time() - 5
    listed, more = copy_menu_accounts(accounts, ["id-003"], [])
    assert not more and [a.name for a in listed] == ["acct-003", "acct-000", "acct-001", "acct-002"]
    tray = Tray()
    tray.update(accounts, set(), ["id-003"], [])
    assert _labels(tray) == [
        "acct-003 (expired)",
        "acct-000",
        "acct-001 (signed out)",
        "acct-002 (sign-in needed)",
    ]
    assert not tray.copy_menu.actions()[2].isEnabled()


def test_pinning_and_copies_are_remembered(qtbot: QtBot, memory_vault: Vault, run: Any) -> None:
    key = jwt.encode({"exp": int(time.time() + 600)}, "k" * 32, "HS256")

    async def seed() -> None:
        for name in ("alpha", "beta", "gamma"):
            await memory_vault.add(name, "static", {}, {"token": key})

    run(seed())
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    app.show()
    window = app.window
    run(until(lambda: window.model.rowCount() == 3))
    beta = memory_vault.load().find("beta").id
    gamma = memory_vault.load().find("gamma").id
    window.select_account(beta)
    window.pin_action.trigger()  # Account ▸ Pin to tray menu (also in the context menu)
    assert window.pin_action.isChecked()
    window.act("copy", gamma)
    run(until(lambda: QGuiApplication.clipboard().text() == key))
    run(
        until(
            lambda: (
                memory_vault.load().settings.get("pinned_accounts") == [beta]
                and memory_vault.load().settings.get("recent_accounts") == [gamma]
            )
        )
    )
    assert window.model.index(window.model.row_of(beta) or 0, 0).data(1) is not None  # pin icon
    window.clipboard.wipe()
    run(app.shutdown())


@pytest.mark.parametrize("count", [COPY_MENU_CAP + 1, 12])
def test_a_few_more_than_the_cap_are_still_all_listed(count: int) -> None:
    """The demo's 8 accounts and one added: the Copy menu listed none of the nine ("Pin
    accounts to list them here"). A menu that fits any screen lists every account; only a
    long list is cut to the pinned and recently copied ones."""
    accounts = _accounts(count)
    listed, more = copy_menu_accounts(accounts, ["id-005"], [])
    assert not more
    assert [a.id for a in listed] == ["id-005", *(a.id for a in accounts if a.id != "id-005")]
    tray = Tray()
    tray.update(accounts, set(), [], [])
    assert len(_labels(tray)) == count and not _labels(tray)[-1].startswith("More…")
