"""`token-vault token NAME [--format F] [--min-valid S] [--force-refresh] [--env VAR]` answered
by the running app before the CLI package (argparse, logging, every command module) is even
imported: a served token is then about the cost of starting Python.

Only plain invocations are taken here; anything else (help, an abbreviated or unknown option,
a value the CLI would refuse, `--format json`, or no app serving the vault) returns None and
the CLI proper runs as always, asking the app again where it should, and reporting why not."""

from __future__ import annotations

import os
import sys

from vault_app.core import bounds, token_formats
from vault_app.core.errors import UserFacingError
from vault_app.service import client

PROG = "token-vault"


class Plain:
    """The arguments of a plain `token` command line."""

    __slots__ = ("fmt", "force", "min_valid", "name", "variable")

    def __init__(self) -> None:
        self.name: str | None = None
        self.fmt = "raw"
        self.min_valid = 60.0
        self.force = False
        self.variable: str | None = None


def parse(words: list[str]) -> Plain | None:
    """The arguments after `token`, or None when they are anything but plain (the CLI's own
    parser then reads them, and says what is wrong)."""
    args = Plain()
    given = iter(words)
    for word in given:
        option, eq, inline = word.partition("=")
        if word == "--force-refresh":
            args.force = True
        elif option in ("--format", "--min-valid", "--env"):
            value = inline if eq else next(given, None)
            if value is None:
                return None
            if option == "--format":
                args.fmt = value
            elif option == "--env":
                args.variable = value
            else:
                try:
                    seconds = bounds.number(float(value))
                except ValueError:
                    return None
                if seconds is None or not 0 <= seconds <= bounds.HORIZON:
                    return None
                args.min_valid = seconds
        elif word.startswith("-") or args.name is not None:
            return None
        else:
            args.name = word
    if args.name is None or args.fmt not in token_formats.FORMATS:
        return None
    if args.variable is not None and (args.fmt != "env" or not args.variable.isidentifier()):
        return None
    return args


def run(words: list[str]) -> int | None:
    """The exit code of `token` served by the running app, or None: let the CLI do it."""
    args = parse(words)
    if args is None or args.name is None:
        return None
    try:
        served = client.token(args.name, args.min_valid, args.force, quiet=True)
        if served is None:
            return None
        text = token_formats.render(
            served.access_token,
            served.token_type,
            served.header_name,
            args.fmt,
            args.variable or "ACCESS_TOKEN",
        )
    except UserFacingError as exc:
        sys.stderr.write(f"{PROG}: error: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    if served.warning:
        sys.stderr.write(f"{PROG}: warning: {served.warning}\n")
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head -c0`): nothing more to say, and nothing at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
