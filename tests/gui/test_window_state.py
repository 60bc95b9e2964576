"""What the window remembers and offers around the table: its size, place, column widths, sort
order and toolbar (saved in the vault's settings, restored on the next start, checked when
read); export and import of account definitions from the File menu; a first-run page instead
of an empty grid; a minimum size."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.gui.conftest import message_box, until
from vault_app.core.vault import Vault
from vault_app.gui.account_model import NAME, PROVIDER, STATUS
from vault_app.gui.app import App
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow

SECRET = "client-secret-never-exported-0042"


def _key() -> str:
    return jwt.encode({"exp": int(time.time() + 600)}, "k" * 32, "HS256")


def test_size_columns_and_sort_order_are_remembered(
    qtbot: QtBot, memory_vault: Vault, run: Any
) -> None:
    run(memory_vault.add("alpha", "static", {}, {"token": _key()}))
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    app.show()
    window = app.window
    run(until(lambda: window.model.rowCount() == 1 and window._restored))
    window.resize(700, 420)
    window.move(40, 30)
    header = window.table.horizontalHeader()
    header.resizeSection(PROVIDER, 222)  # as a drag of the column's edge does
    window.table.sortByColumn(STATUS, Qt.SortOrder.DescendingOrder)
    window.toolbar_action.trigger()  # hide the toolbar
    run(app.shutdown())  # quitting saves the rest
    saved = memory_vault.load().settings
    assert saved["column_widths"]["Provider"] == 222
    assert (saved["sort_column"], saved["sort_order"]) == ("Status", "descending")
    assert saved["toolbar_visible"] is False
    assert saved["window_geometry"]

    again = MainWindow(None, SecretClipboard())
    qtbot.addWidget(again)
    again.restore_state(saved)
    assert again.size().toTuple() == (700, 420)
    assert again.table.columnWidth(PROVIDER) == 222
    assert again.table.horizontalHeader().sortIndicatorSection() == STATUS
    assert again.table.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert again.toolbar.isHidden()


def test_damaged_remembered_state_is_ignored(qtbot: QtBot) -> None:
    window = MainWindow(None, SecretClipboard())
    qtbot.addWidget(window)
    default = window.size()
    widths = {c: window.table.columnWidth(c) for c in (NAME, PROVIDER)}
    window.restore_state(
        {
            "window_geometry": "not base64 at all ✗",
            "column_widths": {"Provider": "wide", "Name": -40, "Nope": 10},
            "sort_column": "Actions",
            "sort_order": "sideways",
            "toolbar_visible": "no",
        }
    )
    assert window.size() == default
    assert window.table.columnWidth(PROVIDER) == widths[PROVIDER]
    assert window.table.columnWidth(NAME) >= 48  # clamped to the minimum, not negative
    assert window.table.horizontalHeader().sortIndicatorSection() == NAME
    assert window.toolbar.isVisible() or not window.isVisible()


def test_minimum_size_fits_the_screen(qtbot: QtBot) -> None:
    window = MainWindow(None, SecretClipboard())
    qtbot.addWidget(window)
    screen = window.screen().availableGeometry()
    minimum = window.minimumSize()
    assert 0 < minimum.width() <= screen.width() and 0 < minimum.height() <= screen.height()
    assert window.width() <= screen.width() and window.height() <= screen.height()


def _add_svc(run: Any, vault: Vault) -> None:
    run(
        vault.add(
            "svc",
            "oauth2",
            {"token_url": "https://auth.example.com/token", "client_id": "c"},
            {"client_secret": SECRET},
            sign_in=False,
        )
    )


def test_export_and_import_from_the_window(
    window: MainWindow, run: Any, memory_vault: Vault, qtbot: QtBot, tmp_path: Path
) -> None:
    _add_svc(run, memory_vault)
    window.adapter.load()
    export = tmp_path / "accounts.json"
    window.export_to(export)
    run(until(lambda: export.exists() and "Exported 1 account" in window.status.message_text()))
    text = export.read_text(encoding="utf-8")
    assert SECRET not in text
    document = json.loads(text)
    assert [a["name"] for a in document["accounts"]] == ["svc"]

    document["accounts"][0]["name"] = "svc-copy"
    export.write_text(json.dumps(document), encoding="utf-8")
    window.import_from(export)
    run(until(lambda: message_box() is not None))
    box = message_box()
    assert box is not None and "Added 1: svc-copy" in box.informativeText()
    assert "Sign in" in box.informativeText()
    box.close()
    assert {a.name for a in window.model.accounts()} == {"svc", "svc-copy"}

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "something else"}', encoding="utf-8")
    window.import_from(broken)
    run(until(lambda: message_box() is not None))
    box = message_box()
    assert box is not None and box.text() == f"Could not import {broken}."
    assert "not a Token Vault export" in box.informativeText()
    box.close()
    assert len(window.model.accounts()) == 2  # nothing changed


def test_the_window_exports_atomically_and_privately(
    window: MainWindow, run: Any, memory_vault: Vault, tmp_path: Path
) -> None:
    """The window writes through the CLI's writer: an earlier file readable by others is
    replaced by one readable by its owner only, and nothing is left beside it."""
    _add_svc(run, memory_vault)
    window.adapter.load()
    out = tmp_path / "out"  # tmp_path holds the vault too
    out.mkdir()
    export = out / "accounts.json"
    export.write_text("an earlier export\n", encoding="utf-8")
    export.chmod(0o644)
    old = os.umask(0)  # a permissive umask must not widen the export
    try:
        window.export_to(export)
        run(until(lambda: "Exported 1 account" in window.status.message_text()))
    finally:
        os.umask(old)
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    assert [a["name"] for a in json.loads(export.read_text(encoding="utf-8"))["accounts"]] == [
        "svc"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["accounts.json"]


def test_a_failed_export_from_the_window_leaves_the_earlier_file(
    window: MainWindow,
    run: Any,
    memory_vault: Vault,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk fills while the export is synced: the earlier file stays as it was, no
    temporary file is left and the window says why. (The fault is injected at fsync of files
    in this test's folder: the suite runs as root, which no folder's mode would stop.)"""
    _add_svc(run, memory_vault)
    window.adapter.load()
    out = tmp_path / "out"  # tmp_path holds the vault too
    out.mkdir()
    export = out / "accounts.json"
    export.write_bytes(b"the earlier export\n")
    export.chmod(0o600)
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(out)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    window.export_to(export)
    run(until(lambda: "Could not export" in window.status.message_text()))
    monkeypatch.undo()
    assert export.read_bytes() == b"the earlier export\n"
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == ["accounts.json"]
    box = message_box()
    assert box is not None and box.text() == f"Could not export to {export}."
    assert "No space left on device" in box.informativeText()
    box.close()

    # A real refusal without injection: a folder in the file's place is left alone.
    folder = out / "taken.json"
    (folder / "inside").mkdir(parents=True)
    window.export_to(folder)
    run(until(lambda: message_box() is not None))
    box = message_box()
    assert box is not None and box.text() == f"Could not export to {folder}."
    box.close()
    assert [p.name for p in folder.iterdir()] == ["inside"]
    assert sorted(p.name for p in out.iterdir()) == ["accounts.json", "taken.json"]


def test_first_run_shows_what_token_vault_does(qtbot: QtBot, memory_vault: Vault, run: Any) -> None:
    app = App(memory_vault, minimized=False)
    qtbot.addWidget(app.window)
    app.show()
    window = app.window
    run(until(lambda: window.empty is not None and window.stack.currentWidget() is window.empty))
    empty = window.empty
    assert empty is not None
    assert empty.add_button.isVisible() and empty.import_button.isVisible()
    assert empty.demo_button.isVisible()
    assert not window.filter.isVisible()  # nothing to filter yet
    run(memory_vault.add("alpha", "static", {}, {"token": _key()}))
    window.adapter.load()
    assert window.stack.currentWidget() is window.table and window.filter.isVisible()
    run(app.shutdown())
    demo = MainWindow(None, SecretClipboard(), demo=True)
    qtbot.addWidget(demo)
    demo._accounts_loaded([])
    assert demo.empty is not None and demo.empty.demo_button.isHidden()  # not itself again
