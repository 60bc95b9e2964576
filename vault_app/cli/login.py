"""`login NAME`: the interactive sign-in again (browser or device grant), and what `add`, `edit`
and `token --id-token` share with it.

Everything the person must see goes to stderr, so stdout stays clean for scripts: the
authorization URL on a line of its own (opened in the browser unless --no-browser), or the
device grant's user code and verification URI. Ctrl+C cancels; the wait ends after 5 minutes.
Exit codes: 0 signed in, 4 denied or not completed in time, 5 network or server trouble.
"""

from __future__ import annotations

import argparse
from typing import IO, TYPE_CHECKING

from vault_app.cli.common import PROG, Streams, run_vault
from vault_app.core import sign_in
from vault_app.core.errors import UserFacingError
from vault_app.core.sign_in import BrowserStep, DeviceStep, Step
from vault_app.core.text import printable

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands
    from vault_app.core.model import Account
    from vault_app.core.vault import Vault


def register(sub: Subcommands) -> None:
    login = sub.add_parser(
        "login", help="sign in again through the browser or a device code (interactive grants)"
    )
    login.add_argument("name")
    no_browser_option(login)
    login.set_defaults(run=cmd_login)


def no_browser_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--no-browser",
        action="store_true",
        help="print the sign-in link instead of opening a browser (browser and device grants)",
    )


class TerminalView:
    """Tells the person on stderr what to do; opens the browser when they did not refuse it
    and one can open here (core.sign_in.browser_available). The link and the code come from
    the server: written escaped, so they cannot carry a terminal escape sequence."""

    def __init__(self, err: IO[str], *, browser: bool) -> None:
        self.err = err
        self.browser = browser and sign_in.browser_available()

    def show(self, step: Step) -> None:
        if isinstance(step, BrowserStep):
            if self.browser:
                self.err.write("Opening the browser to sign in. If it does not open, visit:\n")
                sign_in.open_browser(step.url)
            else:
                self.err.write("Open this address in a browser to sign in:\n")
            self.err.write(printable(step.url) + "\n")
        elif isinstance(step, DeviceStep):
            self.err.write(
                f"To sign in, visit {printable(step.verification_uri)}\n"
                f"and enter the code: {printable(step.user_code)}\n"
            )
            if step.verification_uri_complete:
                if self.browser:
                    sign_in.open_browser(step.verification_uri_complete)
                    self.err.write("(opening it in the browser: ")
                else:
                    self.err.write("(or open: ")
                self.err.write(f"{printable(step.verification_uri_complete)})\n")
        seconds = sign_in.limit()
        if isinstance(step, DeviceStep):
            seconds = min(seconds, step.expires_in)  # the code's own life may be shorter
        limit = sign_in.duration_words(seconds)
        self.err.write(f"Waiting for the sign-in (at most {limit}; Ctrl+C cancels)...\n")
        self.err.flush()


async def login(vault: Vault, name: str, err: IO[str], *, browser: bool) -> Account:
    account, _ = await vault.login(name, TerminalView(err, browser=browser))
    return account


def cmd_login(args: argparse.Namespace, io: Streams) -> int:
    account = run_vault(lambda v: login(v, args.name, io.err, browser=not args.no_browser), io)
    io.out.write(f"{printable(account.name)}: signed in\n")
    return 0


async def then_login(
    vault: Vault,
    outcome: tuple[Account, UserFacingError | None],
    err: IO[str],
    *,
    browser: bool,
) -> tuple[Account, UserFacingError | None]:
    """After `add` or `edit` of an interactive account: its sign-in, at once. A failure keeps
    the account as it is and is returned, like a failed first sign-in of any other kind."""
    account, failure = outcome
    if failure is not None:
        return outcome
    try:
        return await login(vault, account.name, err, browser=browser), None
    except UserFacingError as exc:
        return vault.load().by_id(account.id), exc


def not_completed(account: Account) -> str:
    name = printable(account.name)
    return f"the sign-in did not complete (run '{PROG} login {name}' to try again)"
