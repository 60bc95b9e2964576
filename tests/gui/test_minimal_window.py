"""The window lists the vault's accounts (metadata only, no keyring read needed)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.model import Account, Status
from vault_app.gui.account_model import COLUMNS, AccountModel
from vault_app.gui.app import build_window


def _seed(home: Path) -> None:
    now = time.time()

    def add(doc: VaultDoc) -> None:
        doc.accounts += [
            Account(
                id="a",
                name="alor-main",
                provider="static",
                status=Status.OK,
                access_expires_at=now + 600,
                last_refresh_at=now - 30,
            ),
            Account(
                id="b",
                name="apirone",
                provider="static",
                status=Status.SIGN_IN_NEEDED,
                last_error="rejected",
            ),
            Account(
                id="c", name="old", provider="static", status=Status.OK, access_expires_at=now - 5
            ),
        ]

    AccountStore(home).update(add)


def test_window_lists_accounts(qtbot: QtBot, vault_home: Path, tmp_path: Path) -> None:
    _seed(vault_home)
    window, model, problem = build_window(AccountStore(vault_home))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert problem is None
    assert window.windowTitle() == "Token Vault"
    assert model.rowCount() == 3
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(len(COLUMNS))] == list(
        COLUMNS
    )
    cells = [[model.index(r, c).data() for c in range(len(COLUMNS))] for r in range(3)]
    assert cells[0][:3] == ["alor-main", "static", "ok"]
    assert cells[0][3].startswith("in 9m") or cells[0][3].startswith("in 10m")
    assert cells[1][2] == "sign in needed"
    assert cells[2][2] == "expired"
    window.grab().save(str(tmp_path / "window.png"))
    assert (tmp_path / "window.png").stat().st_size > 0


def test_corrupt_vault_is_reported_not_overwritten(qtbot: QtBot, vault_home: Path) -> None:
    vault_home.mkdir(parents=True)
    (vault_home / "accounts.json").write_text("{broken")
    window, model, problem = build_window(AccountStore(vault_home))
    qtbot.addWidget(window)
    assert model.rowCount() == 0
    assert problem is not None and "accounts.json" in problem
    assert (vault_home / "accounts.json").read_text() == "{broken"


def test_model_contract(qtmodeltester: ModelTester) -> None:
    model = AccountModel([Account(id="x", name="x", provider="static")])
    qtmodeltester.check(model)
