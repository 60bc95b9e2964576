"""Autostart writers for the three platforms. Linux writes a real XDG autostart entry (and
desktop-file-validate checks it); the Windows Run key and the macOS LaunchAgent run here with
a fake registry and a temporary home, since those systems are not available."""

from __future__ import annotations

import plistlib
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.system.support import validate_desktop_file
from vault_app.system.autostart import MacLaunchAgent, WindowsRunKey
from vault_app.system.desktop_entry import XdgAutostartWriter
from vault_app.system.launcher import APP_ID

ARGV = ["/opt/Token Vault/token-vault"]


def test_xdg_autostart_entry_starts_minimized_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "autostart" / f"{APP_ID}.desktop"
    writer = XdgAutostartWriter(path)
    assert not writer.is_enabled()
    writer.enable(ARGV)
    assert writer.is_enabled()
    text = path.read_text()
    assert 'Exec="/opt/Token Vault/token-vault" --minimized\n' in text
    assert "X-GNOME-Autostart-enabled=true\n" in text
    validate_desktop_file(path)
    writer.enable(ARGV)  # again: same file, no duplicate lines
    assert path.read_text() == text
    writer.disable()
    assert not path.exists() and not writer.is_enabled()
    writer.disable()  # already off: no error


class FakeKey:
    def __init__(self, values: dict[str, tuple[int, str]]) -> None:
        self.values = values

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class FakeWinreg:
    """The part of `winreg` the Run key writer uses, over a dict of key paths."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 0x0002
    KEY_QUERY_VALUE = 0x0001
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[int, str]]] = {}

    def CreateKeyEx(self, root: str, sub: str, reserved: int, access: int) -> FakeKey:
        assert root == self.HKEY_CURRENT_USER and reserved == 0
        assert access & self.KEY_SET_VALUE
        return FakeKey(self.keys.setdefault(sub, {}))

    def OpenKey(self, root: str, sub: str, reserved: int, access: int) -> FakeKey:
        if sub not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return FakeKey(self.keys[sub])

    def SetValueEx(self, key: FakeKey, name: str, reserved: int, kind: int, value: str) -> None:
        key.values[name] = (kind, value)

    def QueryValueEx(self, key: FakeKey, name: str) -> tuple[str, int]:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        kind, value = key.values[name]
        return value, kind

    def DeleteValue(self, key: FakeKey, name: str) -> None:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name]


def test_windows_run_key_holds_a_quoted_command_line() -> None:
    registry = FakeWinreg()
    run_key = WindowsRunKey(registry)
    assert not run_key.is_enabled()
    run_key.disable()  # no Run key yet: nothing to do, no error
    run_key.enable([r"C:\Program Files\Token Vault\token-vault.exe"])
    assert run_key.is_enabled()
    values = registry.keys[r"Software\Microsoft\Windows\CurrentVersion\Run"]
    assert values == {
        "Token Vault": (
            FakeWinreg.REG_SZ,
            r'"C:\Program Files\Token Vault\token-vault.exe" --minimized',
        )
    }
    assert run_key.where.endswith(r"CurrentVersion\Run\Token Vault")
    values["Other App"] = (FakeWinreg.REG_SZ, "other.exe")
    run_key.disable()
    assert not run_key.is_enabled()
    assert values == {"Other App": (FakeWinreg.REG_SZ, "other.exe")}  # only ours removed


def test_macos_launch_agent_runs_at_load_with_the_argv(tmp_path: Path) -> None:
    agent = MacLaunchAgent(tmp_path)
    assert not agent.is_enabled()
    agent.enable(["/Applications/Token Vault.app/Contents/MacOS/token-vault"])
    path = tmp_path / "Library" / "LaunchAgents" / f"{APP_ID}.plist"
    assert agent.is_enabled() and agent.where == str(path)
    loaded: dict[str, Any] = plistlib.loads(path.read_bytes())
    assert loaded == {
        "Label": APP_ID,
        "ProgramArguments": [
            "/Applications/Token Vault.app/Contents/MacOS/token-vault",
            "--minimized",
        ],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    if Path("/usr/bin/plutil").exists():  # only on a Mac
        subprocess.run(["plutil", "-lint", str(path)], check=True)
    agent.disable()
    assert not path.exists()


@pytest.mark.parametrize(
    ("platform", "kind"),
    [("linux", XdgAutostartWriter), ("darwin", MacLaunchAgent), ("win32", WindowsRunKey)],
)
def test_each_platform_gets_its_writer(
    platform: str, kind: type, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    from vault_app.system import autostart

    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setitem(sys.modules, "winreg", FakeWinreg())
    writer = autostart.for_this_system()
    assert isinstance(writer, kind)
    if platform == "linux":
        assert writer.where == str(tmp_path / "cfg" / "autostart" / f"{APP_ID}.desktop")
