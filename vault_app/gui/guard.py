"""The boundary between Qt and Python: no exception may leave a Python override of a Qt
virtual (paint, data, headerData, lessThan, events, delegates). In PySide6 one that does
aborts the whole process, and one odd stored value is enough to raise one.

`guarded(fallback)` wraps such an override: an exception is logged once per place and kind
(the log handler strips secrets), and Qt gets the fallback, so the window lives on."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("vault_app.gui")
F = TypeVar("F", bound=Callable[..., Any])

_reported: set[tuple[str, str]] = set()


def report(where: str, exc: BaseException) -> None:
    """Log `exc` raised in `where`, once per place and exception type."""
    key = (where, type(exc).__name__)
    if key in _reported:
        return
    _reported.add(key)
    log.error(
        "%s failed (%s); the window goes on without it. Logged once.",
        where,
        type(exc).__name__,
        exc_info=exc,
    )


def guarded(fallback: Any = None) -> Callable[[F], F]:
    """Decorate a Qt virtual: on an exception, report it and return `fallback` (or, when
    `fallback` is callable, what it returns for the same arguments)."""

    def wrap(method: F) -> F:
        where = method.__qualname__

        @functools.wraps(method)
        def safe(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                report(where, exc)
                if callable(fallback):
                    try:
                        return fallback(*args, **kwargs)
                    except Exception as again:
                        report(where + " (fallback)", again)
                        return None
                return fallback

        return safe  # type: ignore[return-value]

    return wrap
