"""Dark mode is the app's (issue 11, item 12): the window follows the system's colour scheme,
Settings and View offer System / Light / Dark, and every text colour reaches WCAG AA (4.5:1) on
its background in both schemes, computed from the palette actually installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from vault_app.core.vault import Vault
from vault_app.gui import theme
from vault_app.gui.settings_dialog import SettingsDialog

Role = QPalette.ColorRole


@pytest.fixture
def scheme_back(qapp: QApplication) -> Iterator[None]:
    yield
    theme.theme().apply(qapp, "light")


def _pairs(palette: QPalette) -> list[tuple[str, QColor, QColor]]:
    """Every (what, text colour, background) the window draws, from the installed palette
    and the theme's own colours."""
    out = []
    for group in theme.GROUPS:
        for text, backgrounds in theme.TEXT_ON:
            for background in backgrounds:
                out.append(
                    (
                        f"{group.name} {text.name} on {background.name}",
                        palette.color(group, text),
                        palette.color(group, background),
                    )
                )
    colours = theme.current()
    for name in ("due", "bad", "good", "muted"):
        for background in (Role.Base, Role.AlternateBase, Role.Window):
            out.append(
                (f"{name} on {background.name}", getattr(colours, name), palette.color(background))
            )
    out.append(("resting selection", colours.resting_selection_text, colours.resting_selection))
    return out


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_colour_reaches_aa_in_both_schemes(
    qapp: QApplication, scheme_back: None, scheme: str
) -> None:
    shown = theme.theme().apply(qapp, scheme)
    assert shown.value == scheme
    palette = qapp.palette()
    assert theme.scheme_of(palette).value == scheme
    low = [
        (what, round(theme.contrast(fg, bg), 2))
        for what, fg, bg in _pairs(palette)
        if theme.contrast(fg, bg) < theme.AA
    ]
    assert low == []


def test_the_colours_the_issue_measured_are_repaired() -> None:
    white, dark_grey = QColor("#ffffff"), QColor("#202328")
    amber, red = QColor("#b7791f"), QColor("#c2372f")
    assert theme.contrast(amber, white) == pytest.approx(3.64, abs=0.05)
    assert theme.contrast(red, dark_grey) < 3.0
    assert theme.contrast(theme.readable(amber, [white]), white) >= theme.AA
    assert theme.contrast(theme.readable(red, [dark_grey]), dark_grey) >= theme.AA


def test_a_platform_palette_with_faint_text_is_repaired() -> None:
    faint = QPalette()
    for role, value in theme.PALETTES[theme.Scheme.LIGHT].items():
        faint.setColor(role, QColor(value))
    placeholder = QColor(0, 0, 0, 128)  # Fusion's default: about 3.9:1 on white
    faint.setColor(Role.PlaceholderText, placeholder)
    faint.setColor(Role.Link, QColor("#7fa7e0"))
    assert theme.contrast(placeholder, QColor("#ffffff")) < theme.AA
    fixed = theme.repaired(faint)
    for group in theme.GROUPS:
        for text, backgrounds in theme.TEXT_ON:
            for background in backgrounds:
                ratio = theme.contrast(fixed.color(group, text), fixed.color(group, background))
                assert ratio >= theme.AA, (text, background)


def test_system_scheme_is_followed(
    qapp: QApplication, scheme_back: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = [Qt.ColorScheme.Dark]
    hints = qapp.styleHints()
    monkeypatch.setattr(type(hints), "colorScheme", lambda _self: asked[0])
    assert theme.theme().apply(qapp, "system") is theme.Scheme.DARK
    assert theme.scheme_of(qapp.palette()) is theme.Scheme.DARK
    asked[0] = Qt.ColorScheme.Light
    theme.theme()._system_changed(Qt.ColorScheme.Light)  # what colorSchemeChanged calls
    assert theme.scheme_of(qapp.palette()) is theme.Scheme.LIGHT
    theme.theme().apply(qapp, "dark")  # the user's choice beats the system's
    theme.theme()._system_changed(Qt.ColorScheme.Light)
    assert theme.scheme_of(qapp.palette()) is theme.Scheme.DARK


def test_settings_offer_system_light_and_dark(
    qtbot: QtBot, qapp: QApplication, scheme_back: None, window: Any, memory_vault: Vault, run: Any
) -> None:
    dialog = SettingsDialog({"colour_scheme": "dark"}, None)
    qtbot.addWidget(dialog)
    choices = [dialog.colour_scheme.itemData(i) for i in range(dialog.colour_scheme.count())]
    assert choices == ["system", "light", "dark"]
    assert dialog.values()["colour_scheme"] == "dark"
    # View ▸ Colour scheme applies at once and is saved.
    window.scheme_actions["dark"].trigger()
    assert theme.scheme_of(qapp.palette()) is theme.Scheme.DARK
    assert window.settings["colour_scheme"] == "dark"
