"""Flow control: how many requests one event loop has in flight at once.

Every attempt of an asyncio request passes a gate of its loop (a semaphore
shared by every manager and service on that loop with the same limit) from
the moment it is sent until its answer has been read. Waits between retries
happen outside the gate, so a server that throttles one caller with a long
``Retry-After`` never holds up another's requests.

A burst of syncs then runs a few requests per loop step, not all of them in
one long step, and httpcore's pool never queues hundreds of requests.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable

import httpx

DEFAULT_MAX_IN_FLIGHT = 16
"""Requests one event loop has in flight at most, unless told otherwise."""

# A gate lives as long as the clients of its loop that hold it (see
# `AsyncGatedTransport`) and the requests that wait at it, and no longer: a semaphore
# that once had to wait holds its loop, which it would keep alive for good as a value
# of a dictionary keyed weakly by that loop. Made again, it starts empty, as the one
# it replaces was.
_gates: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakValueDictionary[int, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def in_flight_gate(limit: int) -> asyncio.Semaphore:
    """The running loop's gate for ``limit`` requests in flight."""
    loop = asyncio.get_running_loop()
    by_limit = _gates.get(loop)
    if by_limit is None:
        by_limit = _gates[loop] = weakref.WeakValueDictionary()
    gate = by_limit.get(limit)
    if gate is None:
        gate = by_limit[limit] = asyncio.Semaphore(limit)
    return gate


async def wait_for_room(limit: int) -> None:
    """Wait until the running loop's gate has room, without taking a place.

    Called before a request is built: a burst of calls then queues here, and
    each builds its request only when it may soon be sent, a few per loop
    step, instead of all of them building requests in one long step.
    """
    gate = in_flight_gate(limit)
    if gate.locked():
        async with gate:
            pass


def forget_gates() -> None:
    """Drop every gate (after a fork: the loops they belong to are the parent's)."""
    _gates.clear()


class AsyncGatedTransport(httpx.AsyncBaseTransport):
    """Sends each request through the running loop's gate (see the module's description).

    The place is held until the answer's body has been read or closed.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        # Its client serves one loop: holding that loop's gate keeps it from being
        # made anew for each request (the registry holds gates weakly).
        self._gate: asyncio.Semaphore | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        gate = self._gate
        if gate is None:
            gate = self._gate = in_flight_gate(self._limit)
        await gate.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            gate.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, gate.release)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its place in the gate back once closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()
