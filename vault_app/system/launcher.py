"""How this installation of Token Vault is started, for menu entries and autostart: the
bundle's executable, the `token-vault` script of a pip install, or `python -m vault_app`."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

APP_ID = "io.github.tokenvault.TokenVault"
APP_NAME = "Token Vault"


def is_bundle() -> bool:
    """True inside the PyInstaller bundle, which runs without a Python installation."""
    return bool(getattr(sys, "frozen", False))


def bundle_root() -> Path | None:
    return Path(sys.executable).resolve().parent if is_bundle() else None


def launch_command() -> list[str]:
    """Absolute argv that starts this installation, independent of PATH (a desktop session
    rarely has a virtualenv's bin folder on it)."""
    if is_bundle():
        return [str(Path(sys.executable).resolve())]
    # The console script pip made sits next to the interpreter of the same environment.
    script = Path(sys.executable).parent / (
        "token-vault.exe" if sys.platform == "win32" else "token-vault"
    )
    if script.is_file():
        return [str(script)]
    found = shutil.which("token-vault")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "vault_app"]


def desktop_exec(argv: list[str]) -> str:
    """argv as the Exec value of a desktop entry. An argument with a reserved character is
    double-quoted with `"`, `` ` ``, `$` and `\\` escaped; then the string-level escaping of
    the file doubles every backslash (the spec's "four backslashes" rule), and `%` becomes
    `%%` so it is not read as a field code."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")

    def quote(arg: str) -> str:
        if arg and not (set(arg) & reserved):
            return arg.replace("%", "%%")
        inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return ('"' + inner + '"').replace("\\", "\\\\").replace("%", "%%")

    return " ".join(quote(arg) for arg in argv)


def shell_command(argv: list[str]) -> str:
    """argv as a Windows command line (Run key) or a POSIX shell line, for display."""
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline(argv)
    return shlex.join(argv)
