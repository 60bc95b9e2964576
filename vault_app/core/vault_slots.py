"""How the refresh engine's "at most 8 in flight" reaches the vault without widening its
interface: the engine puts two callbacks in context variables for the task running one
refresh. The vault awaits the first (`request_slot`) just before it asks the provider, and
calls the second (`request_done`) as soon as the provider has answered (or failed).

So a slot covers the request to the server and nothing else: taking the account's lock and
reading its secrets happen before it (for the next few refreshes while the slots are busy),
and storing the result after it, neither of which costs the provider anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar

REQUEST_SLOT: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "request_slot", default=None
)
REQUEST_DONE: ContextVar[Callable[[], None] | None] = ContextVar("request_done", default=None)


async def request_slot() -> None:
    """Awaited by the vault right before it asks the provider: one of the engine's slots."""
    take = REQUEST_SLOT.get()
    if take is not None:
        await take()


def request_done() -> None:
    """Called by the vault once the provider's part of a refresh is over."""
    free = REQUEST_DONE.get()
    if free is not None:
        free()
