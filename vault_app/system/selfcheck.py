"""`token-vault --self-check`: what this installation can and cannot do here, one line each,
and a non-zero exit when something required is missing (a usable, answering keyring; a
readable vault home; a Qt platform the window can open on). The tray is optional: without one,
closing the window quits. Keyring items of this vault that no account owns (left by a failed
delete or a crash) are reported with the command that deletes them; they do not fail the
check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import IO, TYPE_CHECKING

from vault_app import __version__
from vault_app.core.errors import UserFacingError
from vault_app.core.text import printable
from vault_app.system.launcher import is_bundle, launch_command

if TYPE_CHECKING:
    from vault_app.core.account_store import VaultDoc
    from vault_app.core.secret_store import SecretStore

QT_PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class Check:
    name: str
    detail: str
    required: bool = True
    ok: bool = True

    def line(self) -> str:
        mark = "ok" if self.ok else ("FAIL" if self.required else "--")
        return f"{mark:<5}{self.name + ':':<16}{self.detail}"


def _install() -> Check:
    how = "bundle" if is_bundle() else f"Python {sys.version.split()[0]}"
    return Check("version", f"{__version__} ({how}: {' '.join(launch_command())})")


def _vault_home() -> tuple[Check, VaultDoc | None]:
    """The vault home's check, and the vault when its file exists and reads."""
    from vault_app.core.account_store import AccountStore

    store = AccountStore()
    try:
        doc = store.load()
    except UserFacingError as exc:
        return Check("vault home", f"{store.home}: {printable(exc.message)}", ok=False), None
    if store.path.exists():
        return Check("vault home", f"{store.home} ({len(doc.accounts)} accounts)"), doc
    folder = store.home
    while not folder.exists():
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return Check("vault home", f"{store.home}: {folder} is not writable", ok=False), None
    return Check("vault home", f"{store.home} (not created yet)"), None


def _keyring(doc: VaultDoc | None) -> list[Check]:
    """The backend keyring chose, then one read through it (an item that does not exist):
    a locked keyring or one stuck on a prompt shows up here, within the usual timeout. Then,
    for an existing vault, its items that no account owns."""
    from vault_app.core.secret_store import SecretStore, configured_timeout

    store = SecretStore(doc.vault_id if doc else "self-check", timeout=configured_timeout())
    try:
        backend = store.call(store.backend)
    except UserFacingError as exc:
        return [Check("keyring", exc.message, ok=False)]
    name = str(getattr(backend, "name", type(backend).__name__))
    checks = [Check("keyring", name)]
    try:
        store.call(partial(backend.get_password, store.service, "self-check"))
    except UserFacingError as exc:
        checks.append(Check("keyring read", exc.message, ok=False))
    else:
        checks.append(Check("keyring read", "answered"))
        if doc is not None:
            checks.append(_leftovers(store, doc))
    finally:
        store.close()
    return checks


def _leftovers(store: SecretStore, doc: VaultDoc) -> Check:
    """Items under this vault's keyring service that no account owns (secret_store.unowned),
    found by the attributes keyring gives its items."""
    from vault_app.core.secret_store import unowned

    try:
        names = store.call(store.usernames)
    except UserFacingError as exc:
        return Check("keyring items", f"not checked: {exc.message}", required=False, ok=False)
    orphans = unowned(names, {a.id: a.generation for a in doc.accounts})
    if not orphans:
        return Check("keyring items", f"{len(names)}, each owned by an account")
    shown = ", ".join(printable(name) for name in orphans[:3])
    more = f" and {len(orphans) - 3} more" if len(orphans) > 3 else ""
    return Check(
        "keyring items",
        f"{len(orphans)} of {len(names)} belong to no account ({shown}{more}): delete them "
        "with 'token-vault remove --leftovers'",
        required=False,
        ok=False,
    )


def _qt() -> list[Check]:
    """Qt aborts the whole process when its platform plugin cannot load, so the probe runs
    in a child: a failure there becomes a FAIL line here."""
    try:
        proc = subprocess.run(
            [*launch_command(), "--qt-probe"],
            capture_output=True,
            text=True,
            timeout=QT_PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [Check("Qt platform", f"no answer within {QT_PROBE_TIMEOUT:g} s", ok=False)]
    try:
        found = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        complaint = next(
            (line for line in proc.stderr.splitlines() if "platform plugin" in line),
            proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "",
        )
        why = complaint or f"the probe exited with {proc.returncode}"
        return [Check("Qt platform", f"cannot start: {why}", ok=False)]
    tray = (
        "available"
        if found["tray"]
        else "not available (closing the window quits instead of hiding it)"
    )
    return [
        Check("Qt platform", f"{found['platform']} (Qt {found['qt']})"),
        Check("system tray", tray, required=False, ok=bool(found["tray"])),
    ]


def qt_probe(out: IO[str]) -> int:
    """The child side of `_qt`: open the GUI application and report what Qt found."""
    from PySide6 import __version__ as qt_version
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    app = QApplication([sys.argv[0]])
    found = {
        "platform": app.platformName(),
        "tray": QSystemTrayIcon.isSystemTrayAvailable(),
        "qt": qt_version,
    }
    out.write(json.dumps(found) + "\n")
    return 0


def _autostart() -> Check:
    from vault_app.system.autostart import for_this_system

    try:
        autostart = for_this_system()
        state = "on" if autostart.is_enabled() else "off"
    except Exception as exc:  # informational only: never fail the check on it
        return Check("autostart", f"unknown ({type(exc).__name__})", required=False, ok=False)
    return Check("autostart", f"{state} ({autostart.where})", required=False)


def run(out: IO[str]) -> int:
    home, doc = _vault_home()
    steps: list[Callable[[], list[Check]]] = [
        lambda: [_install(), home],
        lambda: _keyring(doc),
        _qt,
        lambda: [_autostart()],
    ]
    failed = False
    for step in steps:
        for check in step():
            out.write(check.line() + "\n")
            out.flush()
            failed = failed or (check.required and not check.ok)
    out.write(
        "self-check failed: see the FAIL lines\n" if failed else "all required checks passed\n"
    )
    return 1 if failed else 0
