"""Waiting with a deadline: for a condition, for the SDK's background loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from agb_context._background import background_loop

T = TypeVar("T")


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
