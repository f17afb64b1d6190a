"""`SyncOperation`: the handle `ContextManager.sync` returns."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from agb_context._results import ContextSyncResult

logger = logging.getLogger("agb_context")

SyncCoroutine = Coroutine[Any, Any, ContextSyncResult]


class SyncOperation:
    """A sync that finishes later: await it, block on it, or be called back.

    ``await op`` gives the final `ContextSyncResult`; so does ``op.result(timeout)``
    from plain code. API failures are results with ``success=False``, never
    exceptions; ``result()`` and ``await`` raise only if the operation was
    cancelled (`concurrent.futures.CancelledError` / `asyncio.CancelledError`) or
    ``result(timeout)`` ran out of time (`TimeoutError`; the sync goes on).

    Done-callbacks run exactly once, when the operation finishes or is
    cancelled, on the thread that finishes it: the event loop the sync runs
    on (the caller's loop when ``sync()`` was called inside one, otherwise the
    SDK's background thread ``agb-context-loop``), or the thread that calls
    `cancel`. A callback added after the end runs at once on the adding
    thread. Keep callbacks short: a slow one delays other syncs on that loop.
    A callback that raises is logged on the ``agb_context`` logger.
    """

    def __init__(self) -> None:
        self._future: concurrent.futures.Future[ContextSyncResult] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[ContextSyncResult] | None = None
        self._request_id: str | None = None
        self._lock = threading.Lock()
        self._future.add_done_callback(self._stop_task_if_cancelled)

    @classmethod
    def finished(cls, result: ContextSyncResult) -> SyncOperation:
        """An operation that is already over (e.g. its arguments were invalid)."""
        operation = cls()
        operation._future.set_result(result)
        return operation

    def start(self, coroutine: SyncCoroutine, loop: asyncio.AbstractEventLoop) -> None:
        """Run ``coroutine`` as this operation on ``loop`` (running here, or on another thread)."""
        self._loop = loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._create_task(coroutine)
        else:
            loop.call_soon_threadsafe(self._create_task, coroutine)

    @property
    def request_id(self) -> str | None:
        """The id of the accepted ``SyncContext`` request; None until the server accepts it."""
        return self._request_id

    def done(self) -> bool:
        """Whether the sync is over (finished, failed or cancelled)."""
        return self._future.done()

    def running(self) -> bool:
        """Whether the sync is still going on."""
        return not self._future.done()

    def cancelled(self) -> bool:
        """Whether the operation was cancelled."""
        return self._future.cancelled()

    def cancel(self) -> bool:
        """Stop waiting for the sync; returns False if it was already over.

        Polling stops and callbacks are called (a ``callback`` given to
        ``sync()`` receives ``False``). The sync the server accepted is not
        undone: cancelling only stops watching it.
        """
        return self._future.cancel()

    def result(self, timeout: float | None = None) -> ContextSyncResult:
        """Block until the sync is over and return its result.

        Raises `TimeoutError` if it is not over within ``timeout`` seconds (the
        sync goes on), `concurrent.futures.CancelledError` if it was cancelled,
        and `RuntimeError` when called on the event loop that runs the sync
        (it would wait forever): use ``await`` there.
        """
        if not self._future.done() and self._on_own_loop():
            raise RuntimeError(
                "result() would block the event loop this sync runs on: use `await operation`"
            )
        try:
            return self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"the sync is still running after {timeout}s") from None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sync is over or ``timeout`` seconds pass; True if it is over."""
        try:
            self.result(timeout)
        except TimeoutError:
            return False
        except concurrent.futures.CancelledError:
            pass
        return True

    def add_done_callback(self, fn: Callable[[SyncOperation], object]) -> None:
        """Call ``fn(operation)`` once the operation is over (the class docs name the thread)."""

        def call(_: concurrent.futures.Future[ContextSyncResult]) -> None:
            try:
                fn(self)
            except Exception:
                logger.exception("a sync done-callback (%r) raised", fn)

        self._future.add_done_callback(call)

    def succeeded(self) -> bool:
        """True only if the operation is over and its result is a success."""
        if not self._future.done() or self._future.cancelled():
            return False
        if self._future.exception() is not None:
            return False
        return self._future.result().success

    def __await__(self) -> Generator[Any, None, ContextSyncResult]:
        return asyncio.wrap_future(self._future).__await__()

    def __repr__(self) -> str:
        if self._future.cancelled():
            state = "cancelled"
        elif self._future.done():
            state = "succeeded" if self.succeeded() else "failed"
        else:
            state = "running"
        return f"<SyncOperation {state} request_id={self._request_id!r}>"

    def _set_request_id(self, request_id: str) -> None:
        self._request_id = request_id

    def _on_own_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _create_task(self, coroutine: SyncCoroutine) -> None:
        with self._lock:
            if self._future.done():
                coroutine.close()
                return
            assert self._loop is not None
            self._task = self._loop.create_task(coroutine)
        self._task.add_done_callback(self._settle)

    def _settle(self, task: asyncio.Task[ContextSyncResult]) -> None:
        if task.cancelled():
            self._future.cancel()
            return
        error = task.exception()
        if error is not None:
            logger.error("sync operation failed unexpectedly", exc_info=error)
        try:
            if error is not None:
                self._future.set_exception(error)
            else:
                self._future.set_result(task.result())
        except concurrent.futures.InvalidStateError:
            pass  # cancelled from another thread in the meantime

    def _stop_task_if_cancelled(
        self, future: concurrent.futures.Future[ContextSyncResult]
    ) -> None:
        if not future.cancelled():
            return
        with self._lock:
            task, loop = self._task, self._loop
        if task is None or task.done() or loop is None:
            return
        if self._on_own_loop():
            task.cancel()
            return
        with contextlib.suppress(RuntimeError):  # a closed loop's tasks are gone with it
            loop.call_soon_threadsafe(task.cancel)
