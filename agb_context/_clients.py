"""The HTTP clients of one facade object: one for blocking calls, one per event loop.

httpx connections belong to the event loop that opened them, so async calls
get a client of the running loop, closed when that loop shuts down (or when
the owner is closed). Clients are made on first use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from agb_context._background import is_background_thread
from agb_context._config import Settings

if TYPE_CHECKING:
    from agb_context_api import AuthenticatedClient

logger = logging.getLogger("agb_context")

_CLOSE_WAIT = 5.0


class ClientPool:
    """The generated clients one owner (a manager or a service) makes its calls with.

    Args:
        settings: How to reach the API.
        owner: The owner's class name, for the error raised once it is closed.
    """

    def __init__(self, settings: Settings, owner: str) -> None:
        self._settings = settings
        self._owner = owner
        self._lock = threading.Lock()
        self._client: AuthenticatedClient | None = None
        self._async_clients: dict[asyncio.AbstractEventLoop, AuthenticatedClient] = {}
        # One async generator per loop, whose finalisation (asyncio.run's
        # shutdown_asyncgens, loop.shutdown_asyncgens) closes that loop's client.
        self._loop_guards: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._starting: set[asyncio.Future[None]] = set()
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def check_open(self) -> None:
        """Raise `RuntimeError` once closed."""
        if self._closed:
            raise RuntimeError(f"this {self._owner} is closed")

    def blocking(self) -> AuthenticatedClient:
        """The client for blocking calls."""
        with self._lock:
            self.check_open()
            if self._client is None:
                from agb_context._client import build_client

                self._client = build_client(self._settings)
            return self._client

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

    async def _close_when_loop_ends(
        self, loop: asyncio.AbstractEventLoop, client: AuthenticatedClient
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                if self._async_clients.get(loop) is client:
                    del self._async_clients[loop]
                self._loop_guards.pop(loop, None)
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
    future = asyncio.run_coroutine_threadsafe(closing(), loop)
    if is_background_thread():
        return
    try:
        future.result(_CLOSE_WAIT)
    except Exception:
        logger.warning("could not close connections cleanly", exc_info=True)


def _log_close_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("could not close connections cleanly", exc_info=task.exception())
