"""The window fits its screen and its row buttons are always readable (issue 11, item 1): at
the default size with 200 accounts and a vertical scrollbar, after another column is widened,
maximised, on a 1024x768 screen, and at scale 2. Each button is an icon button with a tooltip
and an accessible name that is never squeezed below its size hint; the table scrolls sideways
instead (measured by tests/gui/layout_probe.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.gui import layout_probe
from tests.gui.xserver import run_probe
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow


def _check(measured: dict[str, Any]) -> None:
    assert measured["fits"], f"window {measured['window']} on screen {measured['screen']}"
    assert measured["vertical_scrollbar"]
    for case in ("default", "widened", "maximised"):
        assert measured[case]["rows_with_buttons"] > 5, case
        assert measured[case]["problems"] == [], case
    assert measured["headers_cut"] == []
    assert measured["toolbar_cut"] == []
    # Widening another column never takes room from the buttons: the table scrolls.
    assert measured["widened_actions_width"] == measured["actions_width"]
    assert measured["horizontal_scrollbar_after_widening"]


def test_row_buttons_readable_at_the_default_size(qtbot: QtBot) -> None:
    window = MainWindow(None, SecretClipboard())
    qtbot.addWidget(window)
    window._accounts_loaded(layout_probe.accounts(200))
    window.show()
    qtbot.waitExposed(window)
    layout_probe.settle()
    window._ensure_row_widgets()
    layout_probe.settle()
    # The default size shows every column: no sideways scrolling before anything is widened.
    assert not window.table.horizontalScrollBar().isVisible()
    _check(layout_probe.measure(window))


def _probe(screen: str, scale: str) -> dict[str, Any]:
    return run_probe("tests.gui.layout_probe", "200", screen=screen, scale=int(scale), timeout=120)


@pytest.mark.parametrize(
    ("screen", "scale", "logical"),
    [
        ("1024x768", "1", [1024, 768]),
        ("1024x768", "2", [512, 384]),
        ("2560x1600", "2", [1280, 800]),
    ],
)
def test_row_buttons_readable_on_small_screens_and_at_scale_2(
    screen: str, scale: str, logical: list[int]
) -> None:
    measured = _probe(screen, scale)
    assert measured["screen"][0] <= logical[0] and measured["screen"][1] <= logical[1]
    assert measured["scale"] == float(scale)
    _check(measured)
