"""A systemd user unit that runs `token-vault serve` at login (`serve --install-systemd-unit`).

The unit goes to `$XDG_CONFIG_HOME/systemd/user/` (default `~/.config/systemd/user/`):
`token-vault.service` for the default vault, `token-vault-<key>.service` with
`Environment=TOKEN_VAULT_HOME=...` for a vault chosen through $TOKEN_VAULT_HOME, so several
vaults each get their own. ExecStart is this installation's launcher (system/launcher.py).
Quoting follows systemd.service(5), "Command lines", and systemd.unit(5), "Specifiers"."""

from __future__ import annotations

import os
from pathlib import Path

from vault_app.core import files
from vault_app.service.paths import vault_key

UNIT = "token-vault.service"


def unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "systemd" / "user"


def unit_name(custom_home: Path | None) -> str:
    """The unit's file name: one per vault chosen with $TOKEN_VAULT_HOME."""
    if custom_home is None:
        return UNIT
    return f"token-vault-{vault_key(custom_home)}.service"


def quote(text: str, *, dollars: bool) -> str:
    """One word of a unit file line, double-quoted when it holds anything but plain
    characters, with `\\` and `"` escaped inside the quotes and `%` doubled (a specifier
    otherwise). `dollars`: double `$` too, for ExecStart= arguments, where `$NAME` is
    expanded (not in its program path, nor in Environment=). ValueError for a control
    character, which no unit file line can hold."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("a control character cannot go into a unit file")
    escaped = text.replace("%", "%%")
    if dollars:
        escaped = escaped.replace("$", "$$")
    if escaped and set(escaped) <= _PLAIN:
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%$")


def exec_start(argv: list[str]) -> str:
    """The value of ExecStart= for `argv`. systemd refuses a program path holding a quote or
    a backslash ("Executable name contains special characters"): ValueError for those."""
    program, *args = argv
    if any(c in program for c in "\"'\\"):
        raise ValueError(
            f"systemd cannot start a program whose path holds quotes or backslashes: {program}"
        )
    return " ".join([quote(program, dollars=False), *(quote(a, dollars=True) for a in args)])


def unit_text(argv: list[str], custom_home: Path | None) -> str:
    """The unit file for `argv serve` (argv: the launcher, system/launcher.py)."""
    lines = [
        "# Written by `token-vault serve --install-systemd-unit`; remove it with",
        "# `token-vault serve --uninstall-systemd-unit`.",
        "[Unit]",
        "Description=Token Vault: keeps API access tokens fresh and serves the token-vault CLI",
        "",
        "[Service]",
        "Type=exec",
        f"ExecStart={exec_start([*argv, 'serve'])}",
    ]
    if custom_home is not None:
        lines.append(f"Environment={quote(f'TOKEN_VAULT_HOME={custom_home}', dollars=False)}")
    lines += [
        # A keyring that is not unlocked yet at login exits with 6: try again a little later;
        # and after a crash. Not after exit 1 (another app already serves the vault, or the
        # vault file is unusable) or 2: neither passes by itself, and restarting every 15 s
        # forever would only fill the journal.
        "Restart=on-abnormal",
        "RestartForceExitStatus=6",
        "RestartSec=15",
        "TimeoutStopSec=10",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def install(argv: list[str], custom_home: Path | None) -> Path:
    """Write the unit (mode 0644) and return its path; OSError when it cannot be written."""
    folder = unit_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / unit_name(custom_home)
    files.write_atomically(path, unit_text(argv, custom_home).encode("utf-8"), mode=0o644)
    return path


def uninstall(custom_home: Path | None) -> Path | None:
    """Remove the unit; its path, or None when there was none."""
    path = unit_dir() / unit_name(custom_home)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path
