"""How the refresh engine's "at most 8 in flight" reaches the vault without widening its
interface: the engine puts a callback in this context variable for the task running one
refresh, and the vault calls it as soon as the provider has answered (or failed). From then
on the refresh only stores its result, which costs the provider nothing, so the slot goes to
the next request."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

REQUEST_DONE: ContextVar[Callable[[], None] | None] = ContextVar("request_done", default=None)


def request_done() -> None:
    """Called by the vault once the provider's part of a refresh is over."""
    free = REQUEST_DONE.get()
    if free is not None:
        free()
