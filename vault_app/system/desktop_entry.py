"""The freedesktop menu entry, icons and autostart entry for the current user, from the
bundle or a pip install alike.

Where things go (XDG Base Directory, Desktop Entry and Icon Theme specs):
  $XDG_DATA_HOME/applications/<id>.desktop
  $XDG_DATA_HOME/icons/hicolor/scalable/apps/<id>.svg
  $XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps/<id>.png     for each size in icons.SIZES
  $XDG_CONFIG_HOME/autostart/<id>.desktop                 only with autostart
Uninstall removes exactly these files and nothing else (folders stay: they are shared)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vault_app.resource_files import resource_path
from vault_app.system.launcher import APP_ID, bundle_root, desktop_exec

ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def entry_text(argv: list[str], *, autostart: bool = False) -> str:
    """The desktop entry of resources/, launching `argv` (absolute, so it works off PATH)."""
    lines = resource_path(f"{APP_ID}.desktop").read_text(encoding="utf-8").splitlines()
    out = [f"Exec={desktop_exec(argv)}" if line.startswith("Exec=") else line for line in lines]
    if autostart:
        out.append("X-GNOME-Autostart-enabled=true")
    return "\n".join(out) + "\n"


def write_atomically(path: Path, data: bytes) -> None:
    """A desktop file or icon (mode 0644, as the desktop expects), replaced all at once
    (files.write_atomically), its folder made first. Errors: OSError."""
    from vault_app.core import files

    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomically(path, data, mode=0o644)


@dataclass(frozen=True)
class DesktopFiles:
    """The files the user install owns, under the given XDG homes."""

    data: Path
    config: Path

    @property
    def entry(self) -> Path:
        return self.data / "applications" / f"{APP_ID}.desktop"

    @property
    def svg_icon(self) -> Path:
        return self.data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"

    def png_icon(self, size: int) -> Path:
        return self.data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"

    @property
    def autostart(self) -> Path:
        return self.config / "autostart" / f"{APP_ID}.desktop"

    def all(self) -> list[Path]:
        return [
            self.entry,
            self.svg_icon,
            *(self.png_icon(size) for size in ICON_SIZES),
            self.autostart,
        ]


def default_files() -> DesktopFiles:
    return DesktopFiles(data_home(), config_home())


def _prebuilt_png(size: int) -> bytes | None:
    """The bundle carries the PNGs rendered when it was built (packaging/build)."""
    root = bundle_root()
    if root is None:
        return None
    path = root / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    return path.read_bytes() if path.is_file() else None


def install(
    argv: list[str],
    *,
    autostart: bool = False,
    files: DesktopFiles | None = None,
    render: Callable[[Path, int], bytes] | None = None,
) -> list[Path]:
    """Writes the menu entry and icons (and the autostart entry when asked); returns them."""
    files = files or default_files()
    if render is None:
        from vault_app.system.icons import render_png

        render = render_png
    svg = resource_path("token-vault.svg")
    written = [files.entry, files.svg_icon]
    write_atomically(files.entry, entry_text(argv).encode())
    write_atomically(files.svg_icon, svg.read_bytes())
    for size in ICON_SIZES:
        png = _prebuilt_png(size) or render(svg, size)
        write_atomically(files.png_icon(size), png)
        written.append(files.png_icon(size))
    if autostart:
        XdgAutostartWriter(files.autostart).enable(argv)
        written.append(files.autostart)
    return written


def uninstall(files: DesktopFiles | None = None) -> list[Path]:
    """Removes what `install` wrote (autostart included); returns what was there."""
    files = files or default_files()
    removed = []
    for path in files.all():
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


class XdgAutostartWriter:
    """The XDG autostart entry: a desktop entry in $XDG_CONFIG_HOME/autostart that starts the
    app in the tray at login."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def where(self) -> str:
        return str(self.path)

    def enable(self, argv: list[str]) -> None:
        text = entry_text([*argv, "--minimized"], autostart=True)
        write_atomically(self.path, text.encode())

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        return self.path.is_file()
