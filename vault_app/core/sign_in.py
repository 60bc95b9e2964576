"""What an interactive sign-in (a browser or device grant) asks of the person, for the CLI and
the window alike: a `SignInView` is told once what to show (a link to open, or a user code and
where to enter it); the sign-in itself is a coroutine, cancelled by cancelling its task and
never longer than `SIGN_IN_LIMIT` seconds.

The browser opens only through `open_browser`, and only when the person asked for it (the
`add` / `login` command without --no-browser, the window's "Sign in with browser" button); the
refresh engine never starts an interactive sign-in.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from vault_app.core.errors import RejectedError, UserFacingError
from vault_app.core.timefmt import span

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Mapping

    from vault_app.core.model import Account

log = logging.getLogger(__name__)
T = TypeVar("T")

# RFC 8252 leaves it to the app; five minutes is long enough to type a password and approve.
SIGN_IN_LIMIT = 300.0
LIMIT_VARIABLE = "TOKEN_VAULT_SIGN_IN_TIMEOUT"  # seconds; may only shorten the limit


def is_interactive(kind: str, fields: Mapping[str, str]) -> bool:
    """Whether an account of this provider kind with these fields signs in through the person
    (a browser or device grant). An unknown kind or grant: False (the vault says what is
    wrong when it is used)."""
    from vault_app.core.providers.base import AccountConfig, get_provider

    try:
        return get_provider(kind).interactive(AccountConfig(dict(fields), {}))
    except UserFacingError:
        return False


def sign_in_warning(account: Account, reason: str | None, remaining: float | None) -> str:
    """What `token` says, on the CLI's own path and when the running app answers, when it
    hands out the last good token of an account that needs a new sign-in: why, how long the
    token still works (seconds, None: unknown) and the command that brings the account back."""
    name = account.name
    left = "for an unknown time" if remaining is None else f"for {span(remaining)}"
    why = f" ({reason})" if reason else ""
    if is_interactive(account.provider, account.fields):
        how = f"run 'token-vault login {name}'"
    else:
        how = f"run 'token-vault edit {name}' or 'token-vault refresh {name}'"
    return f"{name} needs a new sign-in{why}; this access token still works {left}: {how}"


@dataclass(frozen=True)
class BrowserStep:
    """Authorization code grant: the person opens `url` (the authorization request; it carries
    no secret, only the PKCE challenge and `state`) and signs in there."""

    url: str


@dataclass(frozen=True)
class DeviceStep:
    """Device authorization grant (RFC 8628 section 3.3): the person visits `verification_uri`
    on any device and enters `user_code`, or opens `verification_uri_complete`, which holds
    both. `expires_in` is in seconds from when the step is shown."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float


Step = BrowserStep | DeviceStep


class SignInView(Protocol):
    """Where a sign-in tells the person what to do. `show` is called once, on the event loop,
    before the sign-in starts waiting; it must return at once (open a browser with
    `open_browser`, never with a blocking call)."""

    def show(self, step: Step) -> None: ...


def limit() -> float:
    """The overall limit of one sign-in in seconds: SIGN_IN_LIMIT, or less when
    $TOKEN_VAULT_SIGN_IN_TIMEOUT asks (a value that is not a number from 1 to 300 is ignored)."""
    raw = os.environ.get(LIMIT_VARIABLE, "")
    try:
        seconds = float(raw)
    except ValueError:
        return SIGN_IN_LIMIT
    return seconds if 1 <= seconds <= SIGN_IN_LIMIT else SIGN_IN_LIMIT


def duration_words(seconds: float) -> str:
    """A sign-in's limit in words: "5 minutes", "1 minute", "100 s"."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def browser_available() -> bool:
    """Whether opening a browser can work here: $BROWSER is set, a graphical session is
    present, or the system always has one (Windows, macOS). Over SSH without a display the
    answer is no, and the link is only printed (a text browser would take the terminal)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_browser(url: str) -> None:
    """Open `url` in the person's browser through `webbrowser` (which honours $BROWSER), on a
    daemon thread: a $BROWSER program may run until the person closes it, and neither the
    event loop nor the exit of the process may wait for it. The URL is never logged."""

    def run() -> None:
        try:
            import webbrowser

            if not webbrowser.open(url):
                log.info("no browser could be opened; the link is shown instead")
        except Exception as exc:  # a broken $BROWSER must not end the sign-in
            log.info("opening the browser failed: %s", type(exc).__name__)

    threading.Thread(target=run, name="open-browser", daemon=True).start()


class SignInCancelledError(RejectedError):
    """The person cancelled the sign-in (exit code 4, like a denial): nothing was stored."""

    def __init__(self, message: str = "the sign-in was cancelled; no tokens were stored") -> None:
        super().__init__(message)


async def cancellable(work: Awaitable[T], cancelled: asyncio.Event) -> T:
    """`work` (a sign-in), unless `cancelled` is set first: then the work is cancelled and
    waited for (its loopback listener closes, its port is free again) and
    SignInCancelledError raised. Cancelling the caller cancels the work too."""
    import asyncio  # not at the top: the CLI's `token` path runs no event loop

    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise SignInCancelledError()
    return task.result()
