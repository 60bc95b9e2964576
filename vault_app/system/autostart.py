"""Start at login, in the tray (`--minimized`): an XDG autostart entry on Linux, a value under
the current user's Run key on Windows, a LaunchAgent on macOS. Each writer takes the place it
writes to as an argument, so the tests run all three here with their writes faked."""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from vault_app.system.desktop_entry import XdgAutostartWriter, config_home, write_atomically
from vault_app.system.launcher import APP_ID, APP_NAME


class Autostart(Protocol):
    @property
    def where(self) -> str: ...
    def enable(self, argv: list[str]) -> None: ...
    def disable(self) -> None: ...
    def is_enabled(self) -> bool: ...


class WindowsRunKey:
    """HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run, value "Token Vault":
    Windows runs that command line at every login of this user. `registry` is the `winreg`
    module (a fake in tests)."""

    KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"

    def __init__(self, registry: Any = None) -> None:
        if registry is None:
            import winreg as registry  # type: ignore[import-not-found,no-redef,unused-ignore]
        self.reg = registry

    @property
    def where(self) -> str:
        return f"HKEY_CURRENT_USER\\{self.KEY}\\{APP_NAME}"

    def enable(self, argv: list[str]) -> None:
        command = subprocess.list2cmdline([*argv, "--minimized"])
        with self.reg.CreateKeyEx(
            self.reg.HKEY_CURRENT_USER, self.KEY, 0, self.reg.KEY_SET_VALUE
        ) as key:
            self.reg.SetValueEx(key, APP_NAME, 0, self.reg.REG_SZ, command)

    def disable(self) -> None:
        try:
            with self.reg.OpenKey(
                self.reg.HKEY_CURRENT_USER, self.KEY, 0, self.reg.KEY_SET_VALUE
            ) as key:
                self.reg.DeleteValue(key, APP_NAME)
        except FileNotFoundError:
            pass  # no Run key, or no value of ours in it: already off

    def is_enabled(self) -> bool:
        try:
            with self.reg.OpenKey(
                self.reg.HKEY_CURRENT_USER, self.KEY, 0, self.reg.KEY_QUERY_VALUE
            ) as key:
                self.reg.QueryValueEx(key, APP_NAME)
            return True
        except FileNotFoundError:
            return False


class MacLaunchAgent:
    """~/Library/LaunchAgents/<id>.plist with RunAtLoad: launchd starts it at the next login
    (no `launchctl load` needed, and none wanted: that would start a second copy now)."""

    def __init__(self, home: Path) -> None:
        self.path = home / "Library" / "LaunchAgents" / f"{APP_ID}.plist"

    @property
    def where(self) -> str:
        return str(self.path)

    def enable(self, argv: list[str]) -> None:
        agent = {
            "Label": APP_ID,
            "ProgramArguments": [*argv, "--minimized"],
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
        write_atomically(self.path, plistlib.dumps(agent))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        return self.path.is_file()


def for_this_system() -> Autostart:
    if sys.platform == "win32":
        return WindowsRunKey()
    if sys.platform == "darwin":
        return MacLaunchAgent(Path.home())
    return XdgAutostartWriter(config_home() / "autostart" / f"{APP_ID}.desktop")
