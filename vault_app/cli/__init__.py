"""`token-vault`: the command line over the same core as the window (DESIGN.md section 6).

One module per command group, each with its part of the parser beside its commands:
`accounts` (providers, add, edit, list, show, remove), `tokens` (token, exec, refresh, revoke),
`transfer` (export, import), `login` (the browser and device sign-in), `desktop` (gui and the
installation options) and `service` (serve, proxy). While the window or `serve` runs, token,
exec, list and refresh ask it first over its socket (`served`), so the app stays the one
refresher; without one they work on their own.

Secret values never come from argv: `--secret FIELD` prompts with hidden input on a terminal and
otherwise reads one line per `--secret` from standard input; `--secret-file` reads a whole file.
Exit codes: 0 ok, 2 usage, 3 no such account, 4 sign-in needed or rejected, 5 network or server
trouble (also a stored token that could not be printed safely), 6 keyring unavailable or locked,
1 the vault's files cannot be used (damaged, newer, unreadable, not writable, open to other
users: the message names the file and the reason) or anything else. Every error is one line.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence

from vault_app import __version__
from vault_app.cli import accounts, desktop, login, service, tokens, transfer
from vault_app.cli.common import PROG, Parser, Streams, log
from vault_app.core import redact
from vault_app.core.errors import UserFacingError
from vault_app.core.text import printable

__all__ = ["PROG", "build_parser", "main"]

Command = Callable[[argparse.Namespace, Streams], int]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Keeps API access tokens fresh; every secret stays in the OS keyring.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    desktop.register_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    desktop.register(sub)
    accounts.register(sub)
    tokens.register(sub)
    login.register(sub)
    transfer.register(sub)
    service.register(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    split = words.index("--") if "--" in words else len(words)
    args = parser.parse_args(words[:split])
    if args.command == "exec":
        # Everything after the first `--` is the child's command line, untouched.
        args.argv = words[split + 1 :]
    elif split < len(words):
        args = parser.parse_args(words)
    return args


def _command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Command:
    if args.autostart and not args.install_desktop_entry:
        parser.error("--autostart goes with --install-desktop-entry")
    installing = args.self_check or args.install_desktop_entry or args.uninstall_desktop_entry
    if args.command and installing:
        parser.error(f"--self-check and the desktop entry options take no command ({args.command})")
    if args.qt_probe:
        return desktop.cmd_qt_probe
    if args.self_check:
        return desktop.cmd_self_check
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        return desktop.cmd_install
    run: Command = getattr(args, "run", desktop.cmd_gui)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    from vault_app import logs

    logs.setup()
    _escape_what_the_terminal_cannot_show(sys.stdout)
    parser = build_parser()
    args = _parse(parser, list(sys.argv[1:] if argv is None else argv))
    io = Streams(sys.stdout, sys.stderr, sys.stdin)
    command = _command(parser, args)
    try:
        return command(args, io)
    except UserFacingError as exc:
        _error(io, exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        io.err.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        # `token-vault list | head -1`: the reader is gone, as after SIGPIPE. Nothing more
        # is written (Python's exit flush would only fail again).
        _silence_stdout()
        return 141
    except OSError as exc:
        log.debug("operating-system error", exc_info=True)
        where = f"{exc.filename}: " if exc.filename else ""
        _error(io, f"{where}{exc.strerror or type(exc).__name__}")
        return 1
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        detail = redact.redact(str(exc))[:200]
        io.out.flush()
        io.err.write(
            f"{PROG}: internal error: {type(exc).__name__}: {printable(detail)} "
            "(run with TOKEN_VAULT_LOG=debug for details)\n"
        )
        return 1


def _escape_what_the_terminal_cannot_show(stream: object) -> None:
    """A name or a server's message in a script the output's encoding lacks (a Latin-1 or
    C locale, a Windows console's code page) is written as an escape (\\u0422), as stderr
    does, instead of ending the command half-way with UnicodeEncodeError. Tokens and JSON
    are ASCII anyway."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):  # a stream already in another state
            reconfigure(errors="backslashreplace")


def _error(io: Streams, message: str) -> None:
    """The one error line: secrets masked, unprintable characters escaped."""
    try:
        io.out.flush()
    except BrokenPipeError:
        _silence_stdout()
    io.err.write(f"{PROG}: error: {printable(redact.redact(message))}\n")


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
