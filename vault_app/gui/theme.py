"""Every colour the window uses, and the colour scheme it follows.

The scheme follows the system (Qt's style hints, `colorScheme`, Qt >= 6.5) unless the user picks
Light or Dark in Settings. When the platform's palette already matches the scheme it is kept
(a desktop theme stays the user's), otherwise the app installs one of its own palettes below.
Either way every text colour is checked against its background with the WCAG 2 contrast ratio
and made darker or lighter until it reaches AA (4.5:1): a desktop theme with a faint
placeholder, or an amber that reads on white but not on grey, is repaired, never shown as is.

Icons for actions are stroked SVGs in resources/icons, drawn in the palette's button text
colour, so they follow the scheme too. Status icons and the tray's dot are filled shapes with
a white mark and need no change between schemes."""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

from vault_app.resource_files import resource_path

log = logging.getLogger(__name__)

AA = 4.5  # WCAG 2.x level AA for normal text
PREFERENCES = ("system", "light", "dark")  # the `colour_scheme` setting's values


class Scheme(str, enum.Enum):
    LIGHT = "light"
    DARK = "dark"


Role = QPalette.ColorRole
Group = QPalette.ColorGroup

# The app's own palettes (used when the platform's does not match the scheme asked for).
PALETTES: dict[Scheme, dict[QPalette.ColorRole, str]] = {
    Scheme.LIGHT: {
        Role.Window: "#eff0f1",
        Role.WindowText: "#1b1d21",
        Role.Base: "#ffffff",
        Role.AlternateBase: "#f3f4f6",
        Role.Text: "#1b1d21",
        Role.Button: "#e8e9eb",
        Role.ButtonText: "#1b1d21",
        Role.BrightText: "#ffffff",
        Role.Light: "#ffffff",
        Role.Midlight: "#f5f6f7",
        Role.Mid: "#b8bcc2",
        Role.Dark: "#9da1a8",
        Role.Shadow: "#767a80",
        Role.Highlight: "#2a64a8",
        Role.HighlightedText: "#ffffff",
        Role.ToolTipBase: "#ffffe1",
        Role.ToolTipText: "#1b1d21",
        Role.PlaceholderText: "#5f646b",
        Role.Link: "#1a5fb4",
        Role.LinkVisited: "#6a3d9a",
    },
    Scheme.DARK: {
        Role.Window: "#2a2d33",
        Role.WindowText: "#e8e9eb",
        Role.Base: "#1e2024",
        Role.AlternateBase: "#262930",
        Role.Text: "#e8e9eb",
        Role.Button: "#363a41",
        Role.ButtonText: "#e8e9eb",
        Role.BrightText: "#ffffff",
        Role.Light: "#4a4f57",
        Role.Midlight: "#40444b",
        Role.Mid: "#2f3238",
        Role.Dark: "#1a1c20",
        Role.Shadow: "#101114",
        Role.Highlight: "#2f6db3",
        Role.HighlightedText: "#ffffff",
        Role.ToolTipBase: "#363a41",
        Role.ToolTipText: "#e8e9eb",
        Role.PlaceholderText: "#a3a8b0",
        Role.Link: "#8ab4f8",
        Role.LinkVisited: "#c5a3f5",
    },
}
# Disabled controls are exempt from WCAG's contrast rule; they are still kept legible.
DISABLED_TEXT = {Scheme.LIGHT: "#7d828a", Scheme.DARK: "#8a8f98"}

# The colours of the window's own text: the countdown inside the refresh window (due),
# expired or failed (bad), and quiet text (muted). Starting points per scheme; `apply` makes
# each readable on the palette actually in use.
STATUS_TEXT = {
    Scheme.LIGHT: {"due": "#8a5300", "bad": "#b3261e", "good": "#1d7336", "muted": "#5f646b"},
    Scheme.DARK: {"due": "#f0b450", "bad": "#ff8f85", "good": "#6fd48e", "muted": "#a3a8b0"},
}
RESTING_SELECTION = {Scheme.LIGHT: "#d3dae3", Scheme.DARK: "#3b4350"}

# Fills of the tray icon's status dot (a shape with a white outline, not text).
TRAY_DOTS = {"ok": "#2e9d57", "warning": "#d08a18", "error": "#c2372f", "idle": "#8a8f98"}

# Every text role and the backgrounds it is drawn on.
TEXT_ON: tuple[tuple[QPalette.ColorRole, tuple[QPalette.ColorRole, ...]], ...] = (
    (Role.WindowText, (Role.Window,)),
    (Role.Text, (Role.Base, Role.AlternateBase)),
    (Role.ButtonText, (Role.Button,)),
    (Role.HighlightedText, (Role.Highlight,)),
    (Role.PlaceholderText, (Role.Base,)),
    (Role.ToolTipText, (Role.ToolTipBase,)),
    (Role.Link, (Role.Base, Role.Window)),
    (Role.LinkVisited, (Role.Base, Role.Window)),
)
GROUPS = (Group.Active, Group.Inactive)


@dataclass(frozen=True)
class Colours:
    """The window's own text colours for the palette in use (see STATUS_TEXT)."""

    scheme: Scheme
    due: QColor
    bad: QColor
    good: QColor
    muted: QColor
    icon: QColor  # action icons (the button text colour)
    # A selected row while the table does not have the keyboard focus: quieter than the
    # highlight, so where the focus is stays visible.
    resting_selection: QColor
    resting_selection_text: QColor


# -- contrast -------------------------------------------------------------------------------


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance, 0 (black) to 1 (white)."""
    return (
        0.2126 * _linear(colour.redF())
        + 0.7152 * _linear(colour.greenF())
        + 0.0722 * _linear(colour.blueF())
    )


def over(colour: QColor, background: QColor) -> QColor:
    """`colour` composited on an opaque `background` (placeholders are often translucent)."""
    alpha = colour.alphaF()
    if alpha >= 1:
        return colour
    mixed = QColor()
    mixed.setRgbF(
        colour.redF() * alpha + background.redF() * (1 - alpha),
        colour.greenF() * alpha + background.greenF() * (1 - alpha),
        colour.blueF() * alpha + background.blueF() * (1 - alpha),
    )
    return mixed


def contrast(foreground: QColor, background: QColor) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    lighter, darker = sorted(
        (luminance(over(foreground, background)), luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def readable(colour: QColor, backgrounds: list[QColor], minimum: float = AA) -> QColor:
    """`colour`, made darker (on light backgrounds) or lighter (on dark ones) in small steps
    until it reaches `minimum` against every background; black or white at the end."""
    opaque = over(colour, backgrounds[0]) if backgrounds else colour
    if all(contrast(opaque, bg) >= minimum for bg in backgrounds):
        return opaque
    dark_backgrounds = sum(luminance(bg) < 0.18 for bg in backgrounds) * 2 > len(backgrounds)
    hue, saturation, lightness = opaque.hslHueF(), opaque.hslSaturationF(), opaque.lightnessF()
    step = 0.02 if dark_backgrounds else -0.02
    while 0 < lightness < 1:
        lightness = min(max(lightness + step, 0.0), 1.0)
        candidate = QColor.fromHslF(max(hue, 0.0), saturation, lightness)
        if all(contrast(candidate, bg) >= minimum for bg in backgrounds):
            return candidate
    return QColor("#ffffff" if dark_backgrounds else "#000000")


# -- palettes -------------------------------------------------------------------------------


def app_palette(scheme: Scheme) -> QPalette:
    """The app's own palette for `scheme`."""
    palette = QPalette()
    for role, value in PALETTES[scheme].items():
        palette.setColor(role, QColor(value))
    for role in (Role.WindowText, Role.Text, Role.ButtonText, Role.PlaceholderText):
        palette.setColor(Group.Disabled, role, QColor(DISABLED_TEXT[scheme]))
    palette.setColor(Group.Disabled, Role.Highlight, QColor(PALETTES[scheme][Role.Mid]))
    return palette


def repaired(palette: QPalette) -> QPalette:
    """A copy of `palette` whose every text role reaches AA on its backgrounds."""
    fixed = QPalette(palette)
    for group in GROUPS:
        for text, backgrounds in TEXT_ON:
            grounds = [fixed.color(group, bg) for bg in backgrounds]
            colour = fixed.color(group, text)
            if any(contrast(colour, bg) < AA for bg in grounds):
                fixed.setColor(group, text, readable(colour, grounds))
    return fixed


def scheme_of(palette: QPalette) -> Scheme:
    """Light or dark, from how light the palette's window background is."""
    return Scheme.DARK if luminance(palette.color(Role.Window)) < 0.18 else Scheme.LIGHT


def system_scheme(app: QGuiApplication, platform: QPalette) -> Scheme:
    """What the desktop asks for: Qt's colour scheme when it knows one, else the platform
    palette's own lightness."""
    hint = getattr(app.styleHints(), "colorScheme", None)  # Qt >= 6.5
    known = hint() if hint is not None else None
    if known == Qt.ColorScheme.Dark:
        return Scheme.DARK
    if known == Qt.ColorScheme.Light:
        return Scheme.LIGHT
    return scheme_of(platform)


def colours_for(palette: QPalette, scheme: Scheme) -> Colours:
    """The window's text colours, each readable on the rows (base and alternate base) and on
    the window background (status bar) of `palette`."""
    grounds = [palette.color(Role.Base), palette.color(Role.AlternateBase)]
    grounds.append(palette.color(Role.Window))
    start = STATUS_TEXT[scheme]
    resting = QColor(RESTING_SELECTION[scheme])
    return Colours(
        scheme=scheme,
        due=readable(QColor(start["due"]), grounds),
        bad=readable(QColor(start["bad"]), grounds),
        good=readable(QColor(start["good"]), grounds),
        muted=readable(QColor(start["muted"]), grounds),
        icon=palette.color(Role.ButtonText),
        resting_selection=resting,
        resting_selection_text=readable(palette.color(Role.Text), [resting]),
    )


# -- applying -------------------------------------------------------------------------------


class Theme(QObject):
    """The scheme in force; `changed` fires after the palette changed (icons are redrawn)."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.preference: str | None = None  # None: nothing applied yet
        self.colours = colours_for(app_palette(Scheme.LIGHT), Scheme.LIGHT)
        self._platform_style: str | None = None
        self._following = False

    def selection_palette(self, palette: QPalette, focused: bool) -> QPalette:
        """`palette` with the selection colours for a table that has (or has not) the
        keyboard focus."""
        app = QGuiApplication.instance()
        source = app.palette() if isinstance(app, QGuiApplication) else palette
        changed = QPalette(palette)
        for group in GROUPS:
            if focused:
                highlight = source.color(group, Role.Highlight)
                text = source.color(group, Role.HighlightedText)
            else:
                highlight = self.colours.resting_selection
                text = self.colours.resting_selection_text
            changed.setColor(group, Role.Highlight, highlight)
            changed.setColor(group, Role.HighlightedText, text)
        return changed

    def apply(self, app: QGuiApplication, preference: str) -> Scheme:
        """Install the palette for `preference` (system, light or dark) and follow the
        system's changes while it is "system". Returns the scheme now shown."""
        self.preference = preference if preference in PREFERENCES else "system"
        if not self._following:
            self._following = True
            changed = getattr(app.styleHints(), "colorSchemeChanged", None)
            if changed is not None:
                changed.connect(self._system_changed)
        # Back to the platform's palette first: it is what the system offers right now.
        app.setPalette(QPalette())
        platform = app.palette()
        wanted = (
            system_scheme(app, platform) if self.preference == "system" else Scheme(self.preference)
        )
        own = scheme_of(platform) != wanted
        self._use_fusion(app, own)
        palette = repaired(app_palette(wanted) if own else app.palette())
        app.setPalette(palette)
        self.colours = colours_for(palette, wanted)
        icon_pixmaps.cache_clear()
        self.changed.emit()
        return wanted

    def _use_fusion(self, app: QGuiApplication, own_palette: bool) -> None:
        """Native styles (Windows' in particular) ignore much of a custom palette: with one
        of ours, draw with Fusion; back on the platform's palette, with the platform's style."""
        from PySide6.QtWidgets import QApplication

        if not isinstance(app, QApplication):
            return
        current = app.style().name().lower()
        if self._platform_style is None:
            self._platform_style = current
        if own_palette and current != "fusion":
            app.setStyle("Fusion")
        elif not own_palette and current != self._platform_style:
            app.setStyle(self._platform_style)

    def _system_changed(self, _scheme: object = None) -> None:
        if self.preference != "system":
            return
        try:
            app = QGuiApplication.instance()
            if isinstance(app, QGuiApplication):
                self.apply(app, "system")
        except Exception:  # a slot from Qt: never let it escape
            log.exception("following the system colour scheme failed")


_theme: Theme | None = None


def theme() -> Theme:
    """The process's one Theme (made on first use, after the QApplication)."""
    global _theme
    if _theme is None:
        _theme = Theme()
    return _theme


def current() -> Colours:
    return theme().colours


# -- icons ----------------------------------------------------------------------------------

# The sizes icons are drawn at (menus and row buttons, the toolbar), in logical pixels; each is
# drawn for every device pixel ratio of the screens, and QIcon picks the nearest.
ICON_SIZES = (16, 24)


def _pixel_sizes() -> tuple[int, ...]:
    ratios = {max(1, math.ceil(s.devicePixelRatio())) for s in QGuiApplication.screens()}
    return tuple(sorted({size * ratio for size in ICON_SIZES for ratio in ratios or {1}}))


@lru_cache(maxsize=128)
def icon_pixmaps(name: str, colour: str, sizes: tuple[int, ...]) -> tuple[QPixmap, ...]:
    """resources/icons/action-NAME.svg drawn in `colour`, `sizes` pixels square."""
    from PySide6.QtSvg import QSvgRenderer

    svg = resource_path(f"icons/action-{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(svg.replace("currentColor", colour).encode("utf-8"))
    pixmaps = []
    for size in sizes:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        pixmaps.append(pixmap)
    return tuple(pixmaps)


def icon(name: str) -> QIcon:
    """An action icon (resources/icons/action-NAME.svg) in the current button text colour."""
    result = QIcon()
    for pixmap in icon_pixmaps(name, current().icon.name(), _pixel_sizes()):
        result.addPixmap(pixmap)
    return result
