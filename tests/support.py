"""Helpers for the tests (importable as `support`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from agb_context import ContextManager
from agb_context._background import background_loop

T = TypeVar("T")

SECRETS: set[str] = set()
"""API keys used by tests; the suite-wide log check fails a test that logs one."""

CONTEXT_ID = "ctx-a"
MOUNT = "/home/data"
"""The one mount of the `session_id` fixture's session."""


class MakeManager(Protocol):
    """The ``make_cm`` fixture: ``make_cm(session_id, **options)`` makes a `ContextManager`.

    Options are those of `ContextManager`; ``api_key`` and ``endpoint`` default
    to the shared emulator's. Every manager made is closed after the test.
    """

    def __call__(self, session_id: str, /, **options: Any) -> ContextManager: ...


def wait_until(condition: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


async def wait_until_async(
    condition: Callable[[], T], within: float = 10.0, what: str = "condition"
) -> T:
    """`wait_until` for a coroutine: the event loop keeps running between the checks."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.005)


def drain_background() -> None:
    """Wait until the background loop has run everything scheduled so far.

    Done-callbacks of callback-mode syncs run on that loop, so after this no
    callback of an operation that is already over is still to come.
    """
    for _ in range(3):
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), background_loop()).result(10)


class CallbackRecorder:
    """A sync callback that records every call and lets a test wait for the first."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.threads: list[str] = []
        self.called = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, success: bool) -> None:
        with self._lock:
            self.calls.append(success)
            self.threads.append(threading.current_thread().name)
        self.called.set()

    def wait(self, timeout: float = 30.0) -> list[bool]:
        assert self.called.wait(timeout), "the callback was not called"
        return self.calls


@contextlib.contextmanager
def refusing_endpoint() -> Iterator[str]:
    """An endpoint on 127.0.0.1 whose port refuses connections.

    The port is held by a bound socket that never listens, so nothing else
    can take it meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
