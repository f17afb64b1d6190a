"""One sync in a given calling style, and what its caller saw; bounds of the fault matrices."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Callable
from typing import Any

import attrs

from agb_context import ContextManager, ContextSyncResult, RetryPolicy, SyncOperation
from support.managers import CallbackRecorder
from support.waiting import drain_background
from support.watch import Watch

STYLES = ("awaited", "callback", "blocking")
"""The calling styles of ``sync``: ``await``, ``callback=`` from plain code, ``.result()``."""

FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)
"""Two retries, 0.01 s then 0.02 s apart at most (jitter only shortens them)."""

FAST_BACKOFF = 0.01 + 0.02
"""The longest time `FAST` sleeps between the attempts of one request."""

SLACK = 20.0
"""Seconds allowed on top of a computed time bound: upper bounds guard against hangs,
not speed, so they hold on a machine whose cores are busy with other work."""


@attrs.frozen(kw_only=True)
class Outcome:
    """What the caller of one ``sync`` saw."""

    result: ContextSyncResult | None
    """None when the operation was cancelled."""
    calls: tuple[bool, ...]
    """Every call of the callback, after the background loop was drained."""
    elapsed: float
    """Seconds from ``sync()`` to the outcome (to the callback in callback style)."""
    request_id: str | None
    leftover_tasks: int = 0
    """Tasks still pending on the caller's loop at its end (awaited style)."""


def run_sync(
    style: str,
    cm: ContextManager,
    watch: Watch,
    *,
    during: Callable[[SyncOperation], object] | None = None,
    limit: float = 60.0,
    **kwargs: Any,
) -> Outcome:
    """Run ``cm.sync(**kwargs)`` with a callback in one calling style and close ``cm``.

    ``during(operation)`` runs on a plain thread while the sync goes on (on a
    worker thread in awaited style, where the test thread runs the loop).
    """
    recorder = CallbackRecorder()
    if style == "awaited":
        outcome = asyncio.run(_awaited(cm, watch, recorder, during, limit, kwargs))
    elif style in ("callback", "blocking"):
        started = time.monotonic()
        operation = cm.sync(callback=recorder, **kwargs)
        if during is not None:
            during(operation)
        result: ContextSyncResult | None
        if style == "callback":
            assert recorder.called.wait(limit), "the callback was not called"
            elapsed = time.monotonic() - started
            result = None if operation.cancelled() else operation.result(timeout=0)
        else:
            try:
                result = operation.result(timeout=limit)
            except concurrent.futures.CancelledError:
                result = None
            elapsed = time.monotonic() - started
        cm.close()
        outcome = Outcome(
            result=result, calls=(), elapsed=elapsed, request_id=operation.request_id
        )
    else:
        raise ValueError(f"unknown style {style!r}")
    drain_background()
    return attrs.evolve(outcome, calls=tuple(recorder.calls))


async def _awaited(
    cm: ContextManager,
    watch: Watch,
    recorder: CallbackRecorder,
    during: Callable[[SyncOperation], object] | None,
    limit: float,
    kwargs: dict[str, Any],
) -> Outcome:
    watch.watch_running_loop()
    started = time.monotonic()
    operation = cm.sync(callback=recorder, **kwargs)
    if during is not None:
        await asyncio.to_thread(during, operation)
    waiter = asyncio.ensure_future(_result_of(operation))
    done, _ = await asyncio.wait({waiter}, timeout=limit)
    assert done, f"the awaited sync was not over after {limit}s"
    result = waiter.result()
    elapsed = time.monotonic() - started
    await cm.aclose()
    await asyncio.sleep(0)  # one loop step: what the close scheduled runs first
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    return Outcome(
        result=result,
        calls=(),
        elapsed=elapsed,
        request_id=operation.request_id,
        leftover_tasks=len(leftover),
    )


async def _result_of(operation: SyncOperation) -> ContextSyncResult | None:
    try:
        return await operation
    except asyncio.CancelledError:
        if operation.cancelled():
            return None
        raise


def matches(pattern: str, text: str, **fields: str) -> bool:
    """Whether ``text`` is exactly ``pattern`` (a regex; ``{name}`` fields are escaped)."""
    escaped = {name: re.escape(value) for name, value in fields.items()}
    return re.fullmatch(pattern.format(**escaped), text, flags=re.DOTALL) is not None
