"""The window and the desktop: `gui` (the default command), the top-level installation options
(--self-check, --install-desktop-entry, --uninstall-desktop-entry, --autostart)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from vault_app.cli.common import Streams
from vault_app.core.errors import UsageError

DEMO_HELP = "try it with a built-in demo server, in memory; touches nothing"

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands


def register_options(parser: argparse.ArgumentParser) -> None:
    """The options that stand before any command."""
    desktop = parser.add_argument_group("installation")
    desktop.add_argument(
        "--self-check",
        action="store_true",
        help="check the keyring, vault home, Qt platform and tray; non-zero if one is missing",
    )
    desktop.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add Token Vault to this user's application menu (entry and icons)",
    )
    desktop.add_argument(
        "--uninstall-desktop-entry",
        action="store_true",
        help="remove the menu entry, icons and autostart entry that install added",
    )
    desktop.add_argument(
        "--autostart",
        action="store_true",
        help="with --install-desktop-entry: also start in the tray at login",
    )
    parser.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--minimized", action="store_true", help="start the window hidden")
    parser.add_argument("--demo", action="store_true", help=DEMO_HELP)


def register(sub: Subcommands) -> None:
    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--minimized", action="store_true", help="start the window hidden")
    gui.add_argument("--demo", action="store_true", help=DEMO_HELP)
    gui.set_defaults(run=cmd_gui)


def cmd_gui(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.gui.launch import run_gui

    return run_gui(minimized=bool(args.minimized), demo=bool(args.demo))


def cmd_install(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.system import desktop_entry
    from vault_app.system.launcher import launch_command

    if sys.platform in ("win32", "darwin"):
        raise UsageError(
            "the desktop entry is for Linux desktops (freedesktop.org); on Windows and macOS "
            "install the bundle as packaging/README.md describes"
        )
    if args.uninstall_desktop_entry:
        removed = desktop_entry.uninstall()
        for path in removed:
            io.out.write(f"removed {path}\n")
        if not removed:
            io.out.write("nothing to remove: no desktop entry of Token Vault was installed\n")
        return 0
    for path in desktop_entry.install(launch_command(), autostart=bool(args.autostart)):
        io.out.write(f"wrote {path}\n")
    return 0


def cmd_self_check(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.system import selfcheck

    return selfcheck.run(io.out)


def cmd_qt_probe(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.system.selfcheck import qt_probe

    return qt_probe(io.out)
