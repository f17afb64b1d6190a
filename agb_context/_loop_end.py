"""Operations on a caller's event loop that would outlive it: cancelled as the loop shuts down.

``asyncio.run`` (and `asyncio.Runner.close`) cancels the tasks it knows of,
then shuts the loop's async generators down, then closes the loop. An
operation started between the first two steps (by a done-callback of a task
being cancelled, say) would stay pending for good. The shutdown of async
generators is the last moment to end it: one generator per loop, registered
with the loop while operations run there, cancels those still running then.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import Any, Protocol

WHY = (
    "the event loop it ran on shut down before it finished (was it started while "
    "asyncio.run or an asyncio.Runner was ending?)"
)


class Ending(Protocol):
    """What the watch needs of an operation."""

    def _end_with_loop(self, why: str) -> asyncio.Future[Any] | None:
        """Cancel it, saying ``why``; the task to wait for, if one is still running."""


class _Watch:
    __slots__ = ("guard", "loop", "operations")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.operations: set[Ending] = set()
        self.guard: AsyncGenerator[None, None] | None = None


_lock = threading.Lock()
_watches: dict[asyncio.AbstractEventLoop, _Watch] = {}
_ending: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def watch(operation: Ending, loop: asyncio.AbstractEventLoop) -> None:
    """Cancel ``operation`` if ``loop`` shuts down first; call on that loop, running."""
    with _lock:
        entry = _watches.get(loop)
        if entry is None:
            entry = _watches[loop] = _Watch(loop)
            entry.guard = _cancel_at_shutdown(entry)
            # Run to its `yield` here, on the loop's thread: that registers it with the loop.
            with contextlib.suppress(StopIteration):
                entry.guard.asend(None).send(None)
        entry.operations.add(operation)


def forget(operation: Ending, loop: asyncio.AbstractEventLoop) -> None:
    """``operation`` is over (from any thread); idempotent."""
    with _lock:
        entry = _watches.get(loop)
        if entry is None or operation not in entry.operations:
            return
        entry.operations.discard(operation)
        if entry.operations:
            return
        del _watches[loop]
    if entry.guard is not None:
        # Its code after `yield` sees it is no longer watching and awaits nothing. It
        # is already running if the loop is shutting it down right now: that is all.
        with contextlib.suppress(StopIteration, RuntimeError):
            entry.guard.aclose().send(None)


def is_ending(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop``'s shutdown has begun: an operation started on it would never run."""
    # asyncio's own loops say so themselves (uvloop's do not).
    return loop in _ending or getattr(loop, "_asyncgens_shutdown_called", False) is True


def check_usable(loop: asyncio.AbstractEventLoop) -> None:
    """Raise `RuntimeError` if ``loop`` is shutting down."""
    if is_ending(loop):
        raise RuntimeError(
            "this event loop is shutting down (asyncio.run or an asyncio.Runner is "
            "ending): an operation started on it now would never run; start it before "
            "the loop ends, or from plain code after"
        )


async def _cancel_at_shutdown(entry: _Watch) -> AsyncGenerator[None, None]:
    with contextlib.suppress(GeneratorExit):  # what closes it; not for callbacks to see
        yield
    loop = entry.loop
    with _lock:
        if _watches.get(loop) is not entry:
            return  # closed by `forget`: every operation it watched is over
        del _watches[loop]
        _ending.add(loop)
        operations = list(entry.operations)
    tasks = [task for op in operations if (task := op._end_with_loop(WHY)) is not None]
    if tasks and asyncio.get_running_loop() is loop:
        await asyncio.wait(tasks)  # their cancellation runs before the loop closes


def _forget_after_fork() -> None:
    # The parent's loops do not run here. Their generators are kept, unused: collected,
    # they would wake those loops through the descriptors the child shares with them.
    global _lock
    _lock = threading.Lock()
    _inherited.append(dict(_watches))
    _watches.clear()


_inherited: list[object] = []


os.register_at_fork(after_in_child=_forget_after_fork)
