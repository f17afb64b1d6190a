"""Polling as data (`PollingPolicy`) and the one polling routine every operation uses.

An operation (a sync, a clear) differs from another only in what one status
poll is and in what "done" means; the loop that polls, waits, counts and
reports progress is this one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import attrs

R = TypeVar("R")
P = TypeVar("P")

DEFAULT_MAX_POLLS = 150
DEFAULT_INTERVAL = 1.5
DEFAULT_GRACE = 2.0
DEFAULT_GRACE_POLLS = 3


def _seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A positive, finite number of seconds (None allowed where the default is None)."""
    if value is None and attribute.default is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number, not {type(value).__name__}")
    least = 1 if attribute.name == "backoff" else 0
    if not math.isfinite(value) or value < least or (value == 0 and attribute.name != "grace"):
        bound = ">= 1" if least else (">= 0" if attribute.name == "grace" else "> 0")
        raise ValueError(f"{attribute.name} must be a finite number {bound}, not {value!r}")


def _whole(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number >= 1, not {value!r}")


@attrs.frozen(kw_only=True)
class PollingPolicy:
    """How an operation polls for its outcome: how often, how long, how patiently.

    The first poll is immediate; the wait before the next one starts at
    ``interval`` seconds and is multiplied by ``backoff`` after each poll, up
    to ``max_interval``. Polling stops after ``max_polls`` polls or when
    ``deadline`` seconds have passed since the operation started, whichever
    comes first; the operation then reports that it timed out. Each poll is
    one HTTP request, never retried by the transport: this loop is the retry.

    ``grace`` and ``grace_polls`` say how long a sync waits for the server to
    list the tasks it started before concluding there was nothing to sync:
    at least ``grace`` seconds after the server accepted the sync *and* at
    least ``grace_polls`` polls (see `ContextManager.sync`).

    `PollingPolicy.fixed` is how the AGB SDK polls (150 polls of 1.5 s); for
    long syncs `PollingPolicy.exponential` sends far fewer requests.
    """

    interval: float = attrs.field(default=DEFAULT_INTERVAL, validator=_seconds)
    """Seconds between the first and the second poll."""
    backoff: float = attrs.field(default=1.0, validator=_seconds)
    """What each wait is multiplied by for the next one (1: a fixed interval)."""
    max_interval: float | None = attrs.field(default=None, validator=_seconds)
    """The longest wait between polls, in seconds (None: no bound)."""
    max_polls: int = attrs.field(default=DEFAULT_MAX_POLLS, validator=_whole)
    """How many polls at most."""
    deadline: float | None = attrs.field(default=None, validator=_seconds)
    """Seconds the whole operation may take (None: bounded by the polls only)."""
    grace: float = attrs.field(default=DEFAULT_GRACE, validator=_seconds)
    """Seconds a sync waits for late-listed tasks after the server accepted it."""
    grace_polls: int = attrs.field(default=DEFAULT_GRACE_POLLS, validator=_whole)
    """Polls a sync makes at least before concluding no task was listed."""

    @classmethod
    def fixed(
        cls,
        max_polls: int = DEFAULT_MAX_POLLS,
        interval: float = DEFAULT_INTERVAL,
        *,
        deadline: float | None = None,
    ) -> PollingPolicy:
        """``max_polls`` polls, ``interval`` seconds apart (as the AGB SDK: 150 of 1.5 s)."""
        return cls(interval=interval, max_polls=max_polls, deadline=deadline)

    @classmethod
    def exponential(
        cls,
        initial: float = 0.5,
        factor: float = 1.5,
        max_interval: float = 5.0,
        *,
        deadline: float = DEFAULT_MAX_POLLS * DEFAULT_INTERVAL,
    ) -> PollingPolicy:
        """Polls that start fast and slow down: ``initial`` seconds apart, times
        ``factor`` after each poll, at most ``max_interval``, for ``deadline`` seconds
        (by default as long as the AGB SDK's 150 polls of 1.5 s)."""
        return cls(
            interval=initial,
            backoff=factor,
            max_interval=max_interval,
            max_polls=1_000_000,
            deadline=deadline,
        )

    def delays(self) -> Iterator[float]:
        """The waits between polls, in seconds (one fewer than ``max_polls``)."""
        delay = self.interval
        cap = math.inf if self.max_interval is None else self.max_interval
        for _ in range(self.max_polls - 1):
            yield min(delay, cap)
            delay = min(delay * self.backoff, cap)


@attrs.frozen(kw_only=True)
class PollClock:
    """Where a polling loop stands: polls made and seconds since it started."""

    polls: int
    elapsed: float


async def poll_until(
    policy: PollingPolicy,
    poll: Callable[[], Awaitable[P]],
    judge: Callable[[P, PollClock], R | None],
    give_up: Callable[[PollClock], R],
    *,
    started: float | None = None,
) -> R:
    """Poll until ``judge`` returns a result, or give up when the policy runs out.

    ``poll`` makes one status request and returns what it saw (failures
    included: the judge decides what they mean). ``judge`` gets each poll's
    reading and the clock, and returns the operation's result once it is
    over, or None to go on. ``give_up`` makes the result when the polls or
    the deadline run out. ``started`` is the loop time the deadline counts
    from (default: now).
    """
    loop = asyncio.get_running_loop()
    begin = loop.time() if started is None else started
    end = math.inf if policy.deadline is None else begin + policy.deadline
    delays = policy.delays()
    polls = 0
    while True:
        remaining = end - loop.time()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(None if math.isinf(remaining) else remaining):
                reading = await poll()
        except TimeoutError:
            break
        polls += 1
        result = judge(reading, PollClock(polls=polls, elapsed=loop.time() - begin))
        if result is not None:
            return result
        delay = next(delays, None)
        if delay is None:
            break
        remaining = end - loop.time()
        if delay >= remaining:
            if not math.isinf(remaining):
                await asyncio.sleep(max(0.0, remaining))
            break
        await asyncio.sleep(delay)
    return give_up(PollClock(polls=polls, elapsed=loop.time() - begin))
