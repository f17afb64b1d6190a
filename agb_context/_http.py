"""The one owner of HTTP clients: their making, their lifetime and what a fork does.

Each facade object (a `ContextManager`, a `ContextService`) keeps a
`ClientPool`: one client for blocking calls, and one per event loop, since
httpx connections belong to the loop that opened them. Clients are made on
first use (by `agb_context._client`, which knows how they are configured),
closed when their loop shuts down or the owner is closed, and released with
a `ResourceWarning` naming the owner if it is collected unclosed.

After ``os.fork()`` the child keeps nothing of the parent's HTTP state: its
pools forget the parent's clients (left untouched, so the parent's pooled
connections go on undisturbed), and the next call makes fresh connections;
the background loop and the in-flight gates start afresh too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import importlib
import logging
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

from agb_context import _background
from agb_context._background import is_background_thread
from agb_context._config import Settings
from agb_context._flow import forget_gates

if TYPE_CHECKING:
    from agb_context_api import AuthenticatedClient

logger = logging.getLogger("agb_context")

_CLOSE_WAIT = 5.0

_pools: weakref.WeakSet[ClientPool] = weakref.WeakSet()
# What a forked child inherited from its parent: kept, unused and unclosed, so
# that nothing in the child touches the parent's sockets.
_inherited: list[object] = []


# What the first asyncio request needs beyond `import agb_context`: imported once,
# on a thread of its own, since importing them on an event loop stalls it (~100 ms).
_ASYNC_STACK = (
    "agb_context._client",
    "agb_context._calls",
    "httpcore",
    "httpcore._backends.auto",
    "httpcore._backends.anyio",
    "anyio._backends._asyncio",
)
_warm_lock = threading.Lock()
_warm: dict[object, concurrent.futures.Future[None]] = {}


def _off_loop(key: object, work: Callable[[], object]) -> concurrent.futures.Future[None]:
    """Done once ``work`` ran, on a thread of its own; started by the first call for ``key``."""
    with _warm_lock:
        done = _warm.get(key)
        if done is None:
            done = _warm[key] = concurrent.futures.Future()
            threading.Thread(
                target=_run, args=(work, done), name="agb-context-import", daemon=True
            ).start()
        return done


def _run(work: Callable[[], object], done: concurrent.futures.Future[None]) -> None:
    try:
        work()
    except BaseException as exc:  # reported to whoever waits; the loop then does it itself
        done.set_exception(exc)
    else:
        done.set_result(None)


def _import_stack() -> None:
    for name in _ASYNC_STACK:
        importlib.import_module(name)


def async_stack_loaded() -> concurrent.futures.Future[None]:
    """Done once the modules an asyncio client needs are imported (started on first call)."""
    return _off_loop(_import_stack, _import_stack)


def _ready_for(settings: Settings) -> list[concurrent.futures.Future[None]]:
    """What must be done, off the loop, before a first asyncio client for ``settings``."""
    ready = [async_stack_loaded()]
    if settings.tls.lazy and settings.uses_tls:
        ready.append(_off_loop(settings.tls.load, settings.tls.load))
    return ready


class PoolClosedError(RuntimeError):
    """A call was made on a closed owner (a `RuntimeError`, as documented)."""


class ClientPool:
    """The generated clients one owner (a manager or a service) makes its calls with.

    Args:
        settings: How to reach the API.
        owner: The owner's class name, for the error raised once it is closed.
    """

    def __init__(self, settings: Settings, owner: str) -> None:
        self._settings = settings
        self._owner = owner
        self._closed = False
        self._reset()
        _pools.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._client: AuthenticatedClient | None = None
        self._async_clients: dict[asyncio.AbstractEventLoop, AuthenticatedClient] = {}
        # One async generator per loop, whose finalisation (asyncio.run's
        # shutdown_asyncgens, loop.shutdown_asyncgens) closes that loop's client.
        self._loop_guards: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._starting: set[asyncio.Future[None]] = set()

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def check_open(self) -> None:
        """Raise `RuntimeError` once closed."""
        if self._closed:
            raise PoolClosedError(f"this {self._owner} is closed")

    def blocking(self) -> AuthenticatedClient:
        """The client for blocking calls."""
        with self._lock:
            self.check_open()
            if self._client is None:
                from agb_context._client import build_client

                self._client = build_client(self._settings)
            return self._client

    async def for_running_loop_async(self) -> AuthenticatedClient:
        """`for_running_loop`, without stalling the loop: a first client's imports and
        TLS trust are loaded on a thread."""
        client = self._async_clients.get(asyncio.get_running_loop())
        if client is not None and not self._closed:
            return client
        for ready in _ready_for(self._settings):
            if not ready.done():
                with contextlib.suppress(Exception):
                    # shielded: a cancelled caller must not cancel the future others share
                    await asyncio.shield(asyncio.wrap_future(ready))
        return self.for_running_loop()

    def for_running_loop(self) -> AuthenticatedClient:
        """The client of the running loop: httpx connections belong to one loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self.check_open()
            client = self._async_clients.get(loop)
            if client is None:
                from agb_context._client import build_async_client

                client = self._async_clients[loop] = build_async_client(self._settings)
                guard = self._loop_guards[loop] = self._close_when_loop_ends(loop, client)
                # Its first step registers it with the loop; the step ends at once.
                starting = asyncio.ensure_future(anext(guard))
                self._starting.add(starting)
                starting.add_done_callback(self._starting.discard)
            return client

    def close(self) -> None:
        """Release every connection; the pool makes no client after. Idempotent."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
            async_clients = list(self._async_clients.items())
            self._async_clients.clear()
            self._loop_guards.clear()
        if client is not None:
            client.get_httpx_client().close()
        for loop, async_client in async_clients:
            _close_on_loop(loop, async_client)

    async def aclose(self) -> None:
        """`close` for async code: the running loop's connections are closed awaited."""
        loop = asyncio.get_running_loop()
        with self._lock:
            async_client = self._async_clients.pop(loop, None)
            guard = self._loop_guards.pop(loop, None)
        self.close()
        if guard is not None:
            await guard.aclose()
        if async_client is not None:
            await async_client.get_async_httpx_client().aclose()

    def release_unclosed(self) -> bool:
        """Release the connections of an owner being collected unclosed.

        Returns whether it held any (the owner then warns). Connections of a
        loop still running are closed on that loop; a blocking client at once.
        """
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            client, self._client = self._client, None
            async_clients = list(self._async_clients.items())
            self._async_clients.clear()
            self._loop_guards.clear()
        if client is not None:
            client.get_httpx_client().close()
        for loop, async_client in async_clients:
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(
                        _close_later, loop, async_client, context=contextvars.Context()
                    )
        return client is not None or bool(async_clients)

    def _forget_after_fork(self) -> None:
        """In a forked child: keep the parent's clients out of use, start afresh."""
        _inherited.extend([self._client, self._async_clients, self._loop_guards])
        self._reset()

    async def _close_when_loop_ends(
        self, loop: asyncio.AbstractEventLoop, client: AuthenticatedClient
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                owned = self._async_clients.get(loop) is client
                if owned:
                    del self._async_clients[loop]
                    self._loop_guards.pop(loop, None)
            # Once the pool has let go of it, whoever took it closes it.
            if owned:
                await client.get_async_httpx_client().aclose()


def _close_on_loop(loop: asyncio.AbstractEventLoop, client: AuthenticatedClient) -> None:
    """Close an async client on the loop its connections belong to, if it still runs."""
    if loop.is_closed() or not loop.is_running():
        return
    closing = client.get_async_httpx_client().aclose
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        task = loop.create_task(closing())
        task.add_done_callback(_log_close_failure)
        return
    # In a context of its own: the caller's context variables (an async
    # library's own among them) mean nothing on that loop.
    future = contextvars.Context().run(asyncio.run_coroutine_threadsafe, closing(), loop)
    if is_background_thread():
        return
    try:
        future.result(_CLOSE_WAIT)
    except Exception:
        logger.warning("could not close connections cleanly", exc_info=True)


def _close_later(loop: asyncio.AbstractEventLoop, client: AuthenticatedClient) -> None:
    task = loop.create_task(client.get_async_httpx_client().aclose())
    task.add_done_callback(_log_close_failure)


def _after_fork_in_child() -> None:
    global _warm_lock
    _warm_lock = threading.Lock()
    for key, done in list(_warm.items()):
        if not done.done():
            del _warm[key]  # its thread is the parent's
    for pool in list(_pools):
        pool._forget_after_fork()
    forget_gates()
    _background.forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _log_close_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("could not close connections cleanly", exc_info=task.exception())
