"""Every dialog fits its screen: Add for every provider and grant (also with a long failure
message), the browser and device sign-in waiting in Add and Sign in, Edit, Sign in, Show and
Revoke, at 1280x800 and 1024x768, at scale 1 and 2. The
fields scroll, the messages and the buttons stay on screen, the dialog takes its contents'
size and shrinks back after switching to a shorter form. Each screen is a private Xvfb; the
dialogs run in a child process (QT_SCALE_FACTOR must be set before Qt starts)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from tests.gui.xserver import run_probe
from vault_app.gui.dialog_fit import FittingScrollArea


def probe(size: str, scale: int) -> dict[str, Any]:
    return run_probe("tests.gui.dialog_fit_probe", screen=size, scale=scale, timeout=240)


@pytest.mark.parametrize(
    ("size", "scale"),
    [("1280x800", 1), ("1024x768", 1), ("1280x800", 2), ("1024x768", 2)],
    ids=["1280x800", "1024x768", "1280x800-scale2", "1024x768-scale2"],
)
def test_every_dialog_fits_the_screen(size: str, scale: int) -> None:
    results = probe(size, scale)
    width, height = (int(n) // scale for n in size.split("x"))
    shrink = results.pop("shrink")
    add = [name for name in results if name.startswith("add-")]
    assert len(add) == 2 * (4 + 6)  # 4 providers + the oauth2 grants, each also failed
    waiting = [name for name in results if name.startswith("waiting-")]
    assert len(waiting) == 4  # browser and device, in Add and in Sign in
    for name, seen in results.items():
        assert seen["screen"][2:] == [width, height], name
        assert seen["on_screen"], (name, seen)
        assert seen["hidden"] == [], (name, seen)
        if "focus_visible" in seen:
            assert seen["focus_visible"], name
        if "scrolls" in seen and not seen["scrolls"]:
            # Room for everything: the dialog is its contents' size, no empty band.
            assert seen["height"] <= seen["needed_height"] + 4, (name, seen)
            assert seen["content_slack"] <= 4, (name, seen)
        if seen.get("scrolls"):
            assert seen["scrollbar"], name
    tall = results["add-oauth2-jwt_bearer"]
    short = results["add-oauth2-client_credentials"]
    # Back to a shorter form, the dialog is that form's size again.
    assert abs(shrink["grant"] - short["height"]) <= 2
    assert abs(shrink["provider"] - results["add-static"]["height"]) <= 2
    assert shrink["provider"] < shrink["tall"]
    if scale == 1:
        assert shrink["grant"] < shrink["tall"]
        # At scale 1 even the longest form shows whole: sized to it, not scrolled.
        assert not tall["scrolls"]
    else:
        # At scale 2 the jwt_bearer form is taller than the screen: its fields scroll.
        assert tall["scrolls"] and tall["frame"][3] <= height


def test_size_hints_never_raise_into_qt(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Qt calls these from layouts; an exception there would abort the process."""
    dialog = QDialog()
    qtbot.addWidget(dialog)
    area = FittingScrollArea(QLabel("content"))
    QVBoxLayout(dialog).addWidget(area)

    def broken() -> QWidget:
        raise RuntimeError("a bug")

    monkeypatch.setattr(area, "widget", broken)
    dialog.show()  # Qt asks the area for its hints while laying the dialog out
    dialog.adjustSize()
    assert area.sizeHint().isValid() and area.minimumSizeHint().isValid()
    assert area.hasHeightForWidth() is False
    assert area.heightForWidth(200) == -1
    assert "scroll area" in caplog.text
