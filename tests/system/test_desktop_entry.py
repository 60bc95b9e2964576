"""The user install of the menu entry and icons, through the real CLI: files land where the
freedesktop specs say, validate, and the uninstall removes exactly those files."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.system.support import validate_desktop_file
from vault_app.system.desktop_entry import ICON_SIZES
from vault_app.system.launcher import APP_ID, desktop_exec

ENTRY = f"applications/{APP_ID}.desktop"
ICONS = [f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in ICON_SIZES]
SVG = f"icons/hicolor/scalable/apps/{APP_ID}.svg"
AUTOSTART = f"autostart/{APP_ID}.desktop"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def xdg(tmp_path: Path, cli: Cli) -> tuple[Path, Path]:
    data, config = tmp_path / "data", tmp_path / "config"
    cli.env.update(XDG_DATA_HOME=str(data), XDG_CONFIG_HOME=str(config))
    # Someone else's files in the same folders must survive the uninstall.
    for other in (data / "applications" / "other.desktop", config / "autostart" / "other.desktop"):
        other.parent.mkdir(parents=True)
        other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other\n")
    (data / "icons" / "hicolor" / "48x48" / "apps").mkdir(parents=True)
    (data / "icons" / "hicolor" / "48x48" / "apps" / "other.png").write_bytes(b"png")
    return data, config


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_install_and_uninstall_touch_exactly_our_files(cli: Cli, xdg: tuple[Path, Path]) -> None:
    data, config = xdg
    before = (_files(data), _files(config))
    result = cli("--install-desktop-entry")
    assert result.code == 0, result.err
    assert _files(data) - before[0] == {ENTRY, SVG, *ICONS}
    assert _files(config) == before[1]  # no autostart unless asked
    assert result.out.count("wrote ") == len(ICONS) + 2

    entry = data / ENTRY
    validate_desktop_file(entry)
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    # A pip install: the console script of this environment, by absolute path (off PATH).
    assert exec_line == "Exec=" + desktop_exec([str(Path(sys.executable).parent / "token-vault")])
    for size, icon in zip(ICON_SIZES, ICONS, strict=True):
        assert _png_size(data / icon) == (size, size)
    assert (data / SVG).read_bytes().lstrip().startswith(b"<")

    result = cli("--uninstall-desktop-entry")
    assert result.code == 0, result.err
    assert (_files(data), _files(config)) == before
    assert result.out.count("removed ") == len(ICONS) + 2

    result = cli("--uninstall-desktop-entry")
    assert result.code == 0 and "nothing to remove" in result.out


def test_install_with_autostart_and_uninstall_removes_it(cli: Cli, xdg: tuple[Path, Path]) -> None:
    _, config = xdg
    before = _files(config)
    assert cli("--install-desktop-entry", "--autostart").code == 0
    assert _files(config) - before == {AUTOSTART}
    validate_desktop_file(config / AUTOSTART)
    assert "--minimized" in (config / AUTOSTART).read_text()
    assert cli("--uninstall-desktop-entry").code == 0
    assert _files(config) == before


def test_autostart_alone_is_a_usage_error(cli: Cli) -> None:
    result = cli("--autostart")
    assert result.code == 2
    assert result.err.strip().endswith(
        "--autostart goes with --install-desktop-entry (see 'token-vault --help')"
    )


def test_desktop_exec_quotes_what_the_spec_reserves(tmp_path: Path) -> None:
    argv = ['/opt/My "Apps"/token vault', "--flag=50%", "$HOME", "back\\slash", "--minimized"]
    line = desktop_exec(argv)
    assert line == (
        '"/opt/My \\\\"Apps\\\\"/token vault" --flag=50%% "\\\\$HOME" "back\\\\\\\\slash" '
        "--minimized"
    )
    entry = tmp_path / "x.desktop"
    entry.write_text(f"[Desktop Entry]\nType=Application\nName=X\nExec={line}\n")
    validate_desktop_file(entry)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_install_is_refused_off_linux(
    platform: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vault_app.cli import main

    monkeypatch.setattr(sys, "platform", platform)
    assert main(["--install-desktop-entry"]) == 2
    assert "desktop entry is for Linux desktops" in capsys.readouterr().err
