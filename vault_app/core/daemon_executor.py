"""An executor whose threads never hold the process: the default executor of every event loop
the app runs (asyncio.to_thread, getaddrinfo), so that a call stuck in a worker (DNS that never
answers, a file on a hung mount) cannot stop the app from quitting (gui/quitting.py, the
network loop of core/http.py). ThreadPoolExecutor's workers are joined at interpreter exit."""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonExecutor(concurrent.futures.Executor):
    """Up to `max_workers` daemon threads; `shutdown` never waits for a call in progress."""

    def __init__(self, max_workers: int = 32, name: str = "worker") -> None:
        self._queue: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]]
        self._queue = queue.SimpleQueue()
        self._max = max_workers
        self._name = name
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        if self._closed:
            raise RuntimeError("executor is shut down")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((future, lambda: fn(*args, **kwargs)))
        with self._lock:
            if self._idle == 0 and len(self._threads) < self._max:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._queue.get()
            with self._lock:
                self._idle -= 1
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work. Never waits: a thread stuck in a call stays stuck, and being a
        daemon it does not hold the process."""
        self._closed = True
