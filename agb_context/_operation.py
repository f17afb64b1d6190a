"""Operation handles: work that finishes later, in every calling style, with progress.

`Operation` is the one handle type; `SyncOperation` (what `ContextManager.sync`
returns) is its sync-flavoured name.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import Any, Generic, Literal, Protocol, Self, TypeVar

import attrs

# _background's exit handler is registered (at its import) before ours
from agb_context import _background, _loop_end
from agb_context._polling import PollClock, PollingPolicy, poll_until
from agb_context._results import ClearContextResult, ContextStatusData, ContextSyncResult

logger = logging.getLogger("agb_context")

OperationStatus = Literal["starting", "running", "succeeded", "failed", "cancelled"]
"""Where an operation stands: ``starting`` until the server accepted it."""


class _Outcome(Protocol):
    @property
    def success(self) -> bool: ...


R = TypeVar("R", bound=_Outcome)
T = TypeVar("T")
P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)
R_co = TypeVar("R_co", bound=_Outcome, covariant=True)


@attrs.frozen(kw_only=True)
class Progress:
    """What an operation's polling has seen so far (an immutable snapshot)."""

    status: OperationStatus = "starting"
    """``starting``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
    tasks: tuple[ContextStatusData, ...] = ()
    """The tasks this operation started, as last reported (a sync's upload or
    download tasks; empty until the server lists them)."""
    polls: int = 0
    """Status polls made so far."""
    last_error: str = ""
    """Why the last poll failed; ``""`` when it did not."""
    elapsed: float = 0.0
    """Seconds since the operation started."""
    state: str = ""
    """For operations on a context (a clear), the context's state as last reported."""

    @property
    def done(self) -> bool:
        """Whether the operation is over."""
        return self.status in ("succeeded", "failed", "cancelled")


class Judge(Protocol[P_contra, R_co]):
    """What "done" means for one kind of operation, poll after poll."""

    def judge(self, reading: P_contra, clock: PollClock) -> R_co | None: ...

    def give_up(self, clock: PollClock) -> R_co: ...

    def progress(self, clock: PollClock) -> Progress: ...


class Operation(Generic[R]):
    """Work that finishes later: await it, block on it, be called back, watch it.

    ``await op`` gives the final result; so does ``op.result(timeout)`` from
    plain code. API failures are results with ``success=False``, never
    exceptions; ``result()`` and ``await`` raise only if the operation was
    cancelled (`concurrent.futures.CancelledError` / `asyncio.CancelledError`)
    or ``result(timeout)`` ran out of time (`TimeoutError`; the work goes on).
    As for an asyncio task, cancelling the code that awaits it (an
    ``asyncio.wait_for`` timeout included) cancels the operation;
    ``await asyncio.shield(op)`` does not.

    Progress: `progress` is the latest snapshot, `status` where it stands,
    `add_progress_callback` calls a function after each poll that changed
    the snapshot, and ``async for p in op.watch()`` yields each change.

    Done-callbacks run exactly once, when the operation finishes or is
    cancelled, on the thread that finishes it: the event loop it runs on
    (the caller's loop when it was started inside one, otherwise the SDK's
    background thread ``agb-context-loop``), or the thread that calls
    `cancel`. Progress callbacks run on the loop, never after a
    done-callback. A callback added after the end runs at once on the adding
    thread. Keep callbacks short: a slow one delays other operations on that
    loop. A callback that raises is logged on the ``agb_context`` logger and
    changes nothing (on the SDK's background thread, ``sys.exit()`` too: it
    could only end that thread).

    An operation started inside an event loop runs on that loop, and only
    while it runs. Between two runs of an `asyncio.Runner`, ``result()``
    from another thread waits for the next run (bound it with ``timeout``);
    on the thread that runs that loop it raises `RuntimeError` at once. When
    the loop ends first (``asyncio.run`` returns, the runner closes), the
    operation ends cancelled: asyncio cancels it with the loop's other
    tasks, and one started while they were being cancelled (by a callback
    of one of them, say) is cancelled, with a WARNING saying so, as the
    loop shuts down; starting one after that raises `RuntimeError`. Waiting
    (``result()``, ``await``) for one whose loop was closed under it, never
    shut down, cancels it with a WARNING instead of waiting forever.
    """

    # A burst of operations keeps thousands of these alive at once: each holds as
    # few objects as it can (tuples for its callbacks, a lock made when needed).
    def __init__(self) -> None:
        self._future: concurrent.futures.Future[R] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[R] | None = None
        self._request_id: str | None = None
        self._lock = threading.Lock()
        # Held while callbacks of either kind run, so a progress callback never
        # runs after (or beside) a done-callback; made with the first callback.
        self._callbacks_lock: threading.RLock | None = None
        self._progress = _FIRST_PROGRESS
        self._progress_callbacks: tuple[Callable[[Progress], object], ...] = ()
        self._watchers: tuple[Callable[[Progress | None], None], ...] = ()
        self._started = time.monotonic()
        self._owner: OperationSet | None = None
        # The thread that runs its loop, when that is a loop of the caller's.
        self._loop_thread: int | None = None
        self._future.add_done_callback(functools.partial(_when_done, weakref.ref(self)))

    # -- outcome ---------------------------------------------------------------

    @property
    def request_id(self) -> str | None:
        """The id of the request the server accepted the work with; None until then."""
        return self._request_id

    def done(self) -> bool:
        """Whether the operation is over (finished, failed or cancelled)."""
        return self._future.done()

    def running(self) -> bool:
        """Whether the operation is still going on."""
        return not self._future.done()

    def cancelled(self) -> bool:
        """Whether the operation was cancelled."""
        return self._future.cancelled()

    def cancel(self) -> bool:
        """Stop waiting; returns False if the operation was already over.

        Polling stops and done-callbacks are called (a ``callback`` given when
        starting receives ``False``). Work the server accepted is not undone:
        cancelling only stops watching it.
        """
        return self._future.cancel()

    def result(self, timeout: float | None = None) -> R:
        """Block until the operation is over and return its result.

        Raises `TimeoutError` if it is not over within ``timeout`` seconds
        (the work goes on), `concurrent.futures.CancelledError` if it was
        cancelled, and `RuntimeError` when called on the event loop that runs
        it, as in a callback on the SDK's background thread, or on the thread
        of that loop while the loop is not running (between two runs of an
        `asyncio.Runner`): it would wait forever (``timeout=0`` only asks,
        and raises `TimeoutError`). ``await`` it there, or pass a callback.
        An operation whose loop was closed under it (it can never finish) is
        cancelled, with a WARNING. A ``timeout`` that is not a number of
        seconds >= 0 (or None) raises `TypeError` or `ValueError`.
        """
        timeout = _wait_bound(timeout)
        if not self._future.done():
            self._check_can_finish(timeout)
        try:
            return self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"the operation is still running after {timeout}s") from None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the operation is over or ``timeout`` seconds pass; True if it is over.

        Raises `RuntimeError` where `result` does (it would wait forever).
        """
        try:
            self.result(timeout)
        except TimeoutError:
            return False
        except concurrent.futures.CancelledError:
            pass
        return True

    def succeeded(self) -> bool:
        """True only if the operation is over and its result is a success."""
        if not self._future.done() or self._future.cancelled():
            return False
        if self._future.exception() is not None:
            return False
        return self._future.result().success

    def add_done_callback(self, fn: Callable[[Self], object]) -> None:
        """Call ``fn(operation)`` once the operation is over (the class docs name the thread)."""
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        lock = self._callback_lock()
        ref = weakref.ref(self)

        def call(_: concurrent.futures.Future[R]) -> None:
            operation = ref()
            if operation is None:  # not expected: whatever ends an operation holds it
                return
            with lock:
                _call_back(fn, operation, "done-callback")

        self._future.add_done_callback(call)

    def __await__(self) -> Generator[Any, None, R]:
        _require_asyncio("awaiting an operation")
        self._check_not_forked()
        task = self._task
        if task is not None and self._on_own_loop():
            return self._outcome_of(task).__await__()
        self._end_if_loop_closed()
        return asyncio.wrap_future(self._future).__await__()

    async def _outcome_of(self, task: asyncio.Task[R]) -> R:
        """The result, awaited on the loop the operation runs on: through its task,
        without a future made per awaiter."""
        # What the task raised (a cancel aside) the operation's own future tells
        # the meaning of: a failure, or a cancel if its owner closed meanwhile.
        with contextlib.suppress(Exception):
            await task
        if not self._future.done():  # not expected: `_settle` ran before this resumed
            return await asyncio.wrap_future(self._future)
        if self._future.cancelled():
            raise asyncio.CancelledError
        return self._future.result()

    # -- progress --------------------------------------------------------------

    @property
    def progress(self) -> Progress:
        """The latest snapshot of what polling has seen (see `Progress`)."""
        with self._lock:
            progress = self._progress
        return attrs.evolve(progress, status=self.status())

    def status(self) -> OperationStatus:
        """``starting`` (not yet accepted by the server), ``running``, ``succeeded``,
        ``failed`` or ``cancelled``."""
        if self._future.cancelled():
            return "cancelled"
        if self._future.done():
            return "succeeded" if self.succeeded() else "failed"
        return "starting" if self._request_id is None else "running"

    def add_progress_callback(self, fn: Callable[[Progress], object]) -> None:
        """Call ``fn(progress)`` after each poll that changed the snapshot.

        It runs on the loop the operation runs on, never after a done-callback;
        nothing is called once the operation is over. A callback that raises
        is logged and changes nothing.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        self._callback_lock()
        with self._lock:
            self._progress_callbacks = (*self._progress_callbacks, fn)

    async def watch(self) -> AsyncIterator[Progress]:
        """Yield the current snapshot, then each change, ending with the final one.

        For async code: ``async for progress in operation.watch(): ...``. It
        ends when the operation is over (succeeded, failed or cancelled) and
        sends no request of its own.
        """
        loop = _require_asyncio("operation.watch()")
        queue: asyncio.Queue[Progress | None] = asyncio.Queue()

        def push(item: Progress | None) -> None:
            with contextlib.suppress(RuntimeError):  # the watcher's loop has closed
                loop.call_soon_threadsafe(queue.put_nowait, item)

        with self._lock:
            self._watchers = (*self._watchers, push)
            first = self._progress
        try:
            if self._future.done():
                yield self.progress
                return
            yield attrs.evolve(first, status=self.status())
            while True:
                item = await queue.get()
                if item is None:
                    yield self.progress
                    return
                yield item
        finally:
            with self._lock:
                self._watchers = tuple(w for w in self._watchers if w is not push)

    # -- for the code that runs the operation ----------------------------------

    @classmethod
    def _finished(cls, result: R) -> Self:
        operation = cls()
        operation._future.set_result(result)
        return operation

    def _start(self, coroutine: Coroutine[Any, Any, R], loop: asyncio.AbstractEventLoop) -> None:
        """Run ``coroutine`` as this operation on ``loop`` (running here, or on another thread)."""
        self._loop = loop
        with _running_lock:
            if not self._future.done():  # else `_on_done` has run already
                _running.add(self)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            if not _background.is_background_thread():
                self._loop_thread = threading.get_ident()
                _loop_end.watch(self, loop)
                if self._future.done():  # `_on_done` may have run before the watch began
                    _loop_end.forget(self, loop)
            self._create_task(coroutine)
        else:
            # Work started from another thread runs in a context of its own: the
            # caller's context variables (an async library's own among them, as
            # trio's under anyio) mean nothing on the SDK's loop.
            loop.call_soon_threadsafe(self._create_task, coroutine, context=contextvars.Context())

    async def _follow(
        self,
        policy: PollingPolicy,
        poll: Callable[[], Awaitable[P]],
        judge: Judge[P, R],
        *,
        started: float,
    ) -> R:
        """Poll with ``policy`` until ``judge`` says the operation is over, reporting
        the judge's progress after each poll (`poll_until` is the routine)."""

        def step(reading: P, clock: PollClock) -> R | None:
            outcome = judge.judge(reading, clock)
            self._report(judge.progress(clock))
            return outcome

        return await poll_until(policy, poll, step, judge.give_up, started=started)

    def _accepted(self, request_id: str) -> None:
        self._request_id = request_id
        self._report(self._progress)

    def _report(self, progress: Progress) -> None:
        """Record a new snapshot; tell callbacks and watchers if it changed (on the loop)."""
        snapshot = Progress(
            status=self.status(),
            tasks=progress.tasks,
            polls=progress.polls,
            last_error=progress.last_error,
            elapsed=time.monotonic() - self._started,
            state=progress.state,
        )
        with self._lock:
            previous, self._progress = self._progress, snapshot
            callbacks, watchers = self._progress_callbacks, self._watchers
            lock = self._callbacks_lock
        if _same_news(previous, snapshot):
            return
        for push in watchers:
            push(snapshot)
        if not callbacks or lock is None:
            return
        with lock:
            for fn in callbacks:
                if self._future.done():
                    return
                _call_back(fn, snapshot, "progress callback")

    def _callback_lock(self) -> threading.RLock:
        with self._lock:
            if self._callbacks_lock is None:
                self._callbacks_lock = threading.RLock()
            return self._callbacks_lock

    def _check_can_finish(self, timeout: float | None) -> None:
        """Raise rather than wait for an operation that cannot finish while the caller
        waits (a ``timeout`` of 0 waits for nothing: it only asks)."""
        self._check_not_forked()
        loop = self._loop
        if loop is None or self._end_if_loop_closed() or timeout == 0:
            return
        if self._on_own_loop():
            raise RuntimeError(
                "result() would block the event loop this operation runs on, forever: "
                "`await` it in async code; in a callback (which runs on that loop) pass "
                "callback= or use add_done_callback, or call result() from another thread"
            )
        if self._loop_thread == threading.get_ident() and not loop.is_running():
            raise RuntimeError(
                "result() would wait forever: the event loop this operation runs on is "
                "not running, and this thread is the one that runs it (between two runs "
                "of an asyncio.Runner?); `await` it in the next run instead"
            )

    def _check_not_forked(self) -> None:
        if self in _forked_away:
            raise RuntimeError(
                "this operation was started before os.fork(): it runs in the parent "
                "process only, and cannot be waited for in this one"
            )

    def _end_if_loop_closed(self) -> bool:
        """Cancel the operation if its loop was closed under it (it can never finish);
        whether it did."""
        loop = self._loop
        if loop is None or not loop.is_closed() or self._future.done():
            return False
        self._abandon("the event loop it ran on was closed before it finished")
        return True

    def _abandon(self, why: str) -> None:
        """Cancel an operation its loop can no longer run, saying why."""
        if not self._future.done():
            logger.warning("cancelling %r: %s", self, why)
            self.cancel()

    def _end_with_loop(self, why: str) -> asyncio.Future[Any] | None:
        task = self._task
        self._abandon(why)
        return task if task is not None and not task.done() else None

    def _on_own_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _create_task(self, coroutine: Coroutine[Any, Any, R]) -> None:
        with self._lock:
            if self._future.done():
                coroutine.close()
                return
            assert self._loop is not None
            self._task = self._loop.create_task(coroutine)
        self._task.add_done_callback(self._settle)

    def _settle(self, task: asyncio.Task[R]) -> None:
        if task.cancelled():
            self._future.cancel()
            return
        error = task.exception()
        closed = (self._owner is not None and self._owner.closed) or _loop_end.is_ending(
            task.get_loop()
        )
        if error is not None and (self._future.cancelled() or closed):
            # Cancelled, or its owner or loop closed, while it ran: what it raised
            # then is the closing's doing, and the operation ends cancelled.
            logger.debug("operation cancelled while it failed", exc_info=error)
            self._future.cancel()
            return
        if error is not None:
            logger.error("operation failed unexpectedly", exc_info=error)
        try:
            if error is not None:
                self._future.set_exception(error)
            else:
                self._future.set_result(task.result())
        except concurrent.futures.InvalidStateError:
            pass  # cancelled from another thread in the meantime

    def _on_done(self, future: concurrent.futures.Future[R]) -> None:
        """The operation is over: its bookkeeping, before any done-callback of a user."""
        _forget_running(self)
        if self._owner is not None:
            self._owner._forget(self)
        if self._loop_thread is not None and self._loop is not None:
            _loop_end.forget(self, self._loop)
        self._end_watchers()
        if future.cancelled():
            self._stop_task()

    def _stop_task(self) -> None:
        with self._lock:
            task, loop = self._task, self._loop
        if task is None or task.done() or loop is None or self in _forked_away:
            return  # (the parent's loop, in a forked child, is not to be touched)
        if self._on_own_loop():
            task.cancel()
            return
        with contextlib.suppress(RuntimeError):  # a closed loop's tasks are gone with it
            loop.call_soon_threadsafe(task.cancel)

    def _end_watchers(self) -> None:
        with self._lock:
            watchers = self._watchers
        for push in watchers:
            push(None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status()} request_id={self._request_id!r}>"


def _require_asyncio(what: str) -> asyncio.AbstractEventLoop:
    """The running asyncio loop; a `RuntimeError` that says what to do without one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{what} needs a running asyncio event loop; under another "
            "async library (trio), wait in a worker thread, as with "
            "`await trio.to_thread.run_sync(operation.result)`, or pass callback= "
            "(the operation goes on meanwhile)"
        ) from None


def _wait_bound(timeout: object) -> float | None:
    """A ``timeout`` checked, as a thread can wait for it: None past the longest wait
    the platform allows (``math.inf`` among them), which means the same."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}"
        )
    if not timeout >= 0:  # NaN too
        raise ValueError(f"timeout must be >= 0 seconds, not {timeout!r}")
    return None if timeout > threading.TIMEOUT_MAX else timeout


def _call_back(fn: Callable[[T], object], argument: T, kind: str) -> None:
    """Call a user's callback; what it raises is logged and changes nothing."""
    try:
        fn(argument)
    except Exception:
        logger.exception("a %s (%r) raised", kind, fn)
    except (SystemExit, KeyboardInterrupt):
        # Raised on the SDK's own thread (`sys.exit()` in a callback), they would end
        # that thread alone, silently, and strand every operation running on it.
        if not _background.is_background_thread():
            raise
        logger.exception("a %s (%r) raised on the SDK's background thread", kind, fn)


def _when_done(ref: weakref.ref[Operation[Any]], future: concurrent.futures.Future[Any]) -> None:
    # The future's callbacks hold their operation weakly (the future keeps its
    # callbacks for good): strong, they would make each operation a reference
    # cycle, left to the garbage collector, whose full collections then stall
    # the event loop in a burst of syncs.
    operation = ref()
    if operation is not None:
        operation._on_done(future)


_running: set[Operation[Any]] = set()
_running_lock = threading.Lock()
_forked_away: weakref.WeakSet[Operation[Any]] = weakref.WeakSet()
"""In a forked child: the operations that were running in the parent."""
_exiting = False


def _loop_to_run_on() -> asyncio.AbstractEventLoop:
    """The running loop, else the SDK's; `RuntimeError` if no work may start now."""
    if _exiting:
        raise RuntimeError(
            "cannot start an operation after the interpreter's exit began: it could not finish"
        )
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _background.background_loop()
    _loop_end.check_usable(loop)
    return loop


def _forget_running(operation: Operation[Any]) -> None:
    with _running_lock:
        _running.discard(operation)


def cancel_running_at_exit() -> None:
    """Cancel the operations still running when the interpreter exits, with one WARNING.

    Their done-callbacks run (a ``callback`` given to ``sync()`` gets ``False``);
    the work the server accepted goes on. Operations started from then on (by
    such a callback, say) are refused with `RuntimeError`: the background
    loop stops next, and their callbacks would never be called.
    """
    global _exiting
    _exiting = True
    with _running_lock:
        left = [op for op in _running if not op.done()]
    if not left:
        return
    logger.warning(
        "cancelling %d operation(s) still running at interpreter exit (the server's work "
        "goes on): %s",
        len(left),
        ", ".join(repr(op) for op in left),
    )
    for operation in left:
        operation.cancel()


def _forget_after_fork() -> None:
    """In a forked child: the operations running in the parent are the parent's (their
    threads and loops are not here); the child's closing and exit leave them alone."""
    global _running_lock
    _running_lock = threading.Lock()
    _forked_away.update(_running)
    _running.clear()
    for operations in list(_sets):
        operations._forget_after_fork()


# The background loop's module registered its exit handler at import (above);
# atexit runs the last registered first, so operations are cancelled, and
# their callbacks called, while that loop still runs.
atexit.register(cancel_running_at_exit)
os.register_at_fork(after_in_child=_forget_after_fork)


_FIRST_PROGRESS = Progress()


def _same_news(before: Progress, after: Progress) -> bool:
    """Whether two snapshots tell the same (poll counts and times aside)."""
    return (before.status, before.tasks, before.last_error, before.state) == (
        after.status,
        after.tasks,
        after.last_error,
        after.state,
    )


class OperationSet:
    """The operations one client started: each run on the right loop, all cancelled
    when the client closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Operation[Any]] = set()
        self._closed = False
        _sets.add(self)

    def launch(
        self,
        operation: Operation[R],
        coroutine: Coroutine[Any, Any, R],
        callback: Callable[[bool], object] | None = None,
    ) -> None:
        """Run ``coroutine`` as ``operation``: on the running loop when there is
        one, else on the SDK's background loop; ``callback(success)`` once at the end.

        Once `cancel_all` was called (from any thread, even while this runs),
        the operation ends cancelled: whatever its work raised after that is
        the closing's doing, not a failure to report. Raises `RuntimeError`
        (nothing started, no callback) on a loop that is shutting down, or
        once the interpreter's exit began.
        """
        try:
            loop = _loop_to_run_on()
        except RuntimeError:
            coroutine.close()
            raise
        if callback is not None:
            operation.add_done_callback(lambda op: callback(op.succeeded()))
        operation._owner = self
        with self._lock:
            closed = self._closed
            if not closed and not operation.done():  # else it was forgotten already
                self._running.add(operation)
        if closed:
            coroutine.close()
            operation.cancel()
            return
        operation._start(coroutine, loop)

    @property
    def closed(self) -> bool:
        """Whether `cancel_all` was called."""
        return self._closed

    def cancel_all(self) -> None:
        """Cancel every operation still running (their callbacks get ``False``), and any
        launched from now on."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for operation in running:
            operation.cancel()

    def _forget(self, operation: Operation[Any]) -> None:
        with self._lock:
            self._running.discard(operation)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._running = set()


_sets: weakref.WeakSet[OperationSet] = weakref.WeakSet()


class ClearOperation(Operation[ClearContextResult]):
    """The clearing of a context's data, finishing later (what `ContextService.clear`
    returns): ``await op`` or ``op.result(timeout)`` gives the final
    `ClearContextResult`; ``progress.state`` is the context's state as last seen."""


class SyncOperation(Operation[ContextSyncResult]):
    """A sync that finishes later (what `ContextManager.sync` returns).

    ``await op`` or ``op.result(timeout)`` gives the final `ContextSyncResult`;
    `progress`, `status`, `add_progress_callback` and `watch` show the tasks
    the sync started while it runs. See `Operation` for the threads callbacks
    run on.
    """
