"""The one owner of HTTP clients: their making, their lifetime and what a fork does.

Each facade object (a `ContextManager`, a `ContextService`) keeps a
`ClientPool`: one client for blocking calls, and one per event loop, since
httpx connections belong to the loop that opened them; the owners on one
loop with equal settings share a few clients of that loop. Clients are made on
first use (by `agb_context._client`, which knows how they are configured),
closed when their loop shuts down or their last owner is closed, and
released with a `ResourceWarning` naming the owner if it is collected
unclosed.

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
import itertools
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
from agb_context._threads import leave_signals_to_main_thread
from agb_context._tls import CaFile

if TYPE_CHECKING:
    import httpx

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
    leave_signals_to_main_thread()
    try:
        work()
    except BaseException as exc:  # reported to whoever waits; the loop then does it itself
        done.set_exception(exc)
    else:
        done.set_result(None)


async def _until_done(work: concurrent.futures.Future[None]) -> None:
    """Wait until ``work`` is done, however it ended (the loop then does what failed itself).

    Unlike `asyncio.wrap_future`, this leaves neither the loop nor a future of
    it in ``work``'s callbacks, which it keeps for the life of the process: a
    cancelled caller does not cancel ``work``, and the loop can be collected.
    """
    waiter = asyncio.get_running_loop().create_future()
    ref = weakref.ref(waiter)
    work.add_done_callback(lambda _: _wake(ref))
    await waiter


def _wake(ref: weakref.ref[asyncio.Future[None]]) -> None:
    waiter = ref()
    if waiter is not None:
        with contextlib.suppress(RuntimeError):  # its loop is closed
            waiter.get_loop().call_soon_threadsafe(_set_done, waiter)


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _import_stack() -> None:
    for name in _ASYNC_STACK:
        importlib.import_module(name)


def async_stack_loaded() -> concurrent.futures.Future[None]:
    """Done once the modules an asyncio client needs are imported (started on first call)."""
    return _off_loop(_import_stack, _import_stack)


def _import_all(names: tuple[str, ...]) -> Callable[[], None]:
    def work() -> None:
        for name in names:
            importlib.import_module(name)

    return work


def _ready_for(
    settings: Settings, imports: tuple[str, ...]
) -> list[concurrent.futures.Future[None]]:
    """What must be done, off the loop, before a first asyncio call with ``settings``
    by an owner whose calls need the modules ``imports``."""
    ready = [async_stack_loaded()]
    if imports:
        ready.append(_off_loop(imports, _import_all(imports)))
    if settings.tls.lazy and settings.uses_tls:
        load = settings.tls.load
        # A CA file renewed since it was loaded is loaded again: off the loop too.
        version = load.version() if isinstance(load, CaFile) else None
        ready.append(_off_loop((load, version), load))
    return ready


class PoolClosedError(RuntimeError):
    """A call was made on a closed owner (a `RuntimeError`, as documented)."""


class _Shared:
    """An asyncio client of one loop, shared by some of the pools on it with equal settings."""

    def __init__(self, client: AuthenticatedClient) -> None:
        self.client = client
        self.users: set[ClientPool] = set()
        # An async generator whose finalisation (asyncio.run's shutdown_asyncgens,
        # loop.shutdown_asyncgens) closes the client when its loop ends.
        self.guard: AsyncGenerator[None, None] | None = None
        # Its last user let go while the loop was not running: the guard closes it.
        self.left_to_guard = False


_SharedKey = tuple[asyncio.AbstractEventLoop, Settings, int]
"""The loop, the settings, and which of their `max_in_flight` clients."""
# Never held while a pool's own lock is taken (pools take theirs first).
_shared_lock = threading.Lock()
_shared: dict[_SharedKey, _Shared] = {}
# Pools are dealt the clients of their loop in turn.
_dealt = itertools.count()


def _share(
    loop: asyncio.AbstractEventLoop, settings: Settings, user: ClientPool
) -> AuthenticatedClient:
    """The client of ``loop`` for ``settings``, made by its first user (on that loop)."""
    key = (loop, settings, user.share)
    with _shared_lock:
        shared = _shared.get(key)
        new = shared is None
        if shared is None:
            from agb_context._client import build_async_client

            shared = _shared[key] = _Shared(build_async_client(settings))
        shared.users.add(user)
    if new:
        guard = shared.guard = _close_when_loop_ends(key, shared)
        # Run up to its `yield` here and now (it awaits nothing before): that registers
        # it with the loop. In a task of its own, a loop ending at once could cancel it
        # before its first step, and the client then outlived its loop.
        with contextlib.suppress(StopIteration):
            guard.asend(None).send(None)
    return shared.client


def _release(
    loop: asyncio.AbstractEventLoop,
    settings: Settings,
    user: ClientPool,
    client: AuthenticatedClient,
) -> _Shared | None:
    """``user`` no longer uses ``client``: the shared entry, if it was the last user
    (the caller then closes the client), else None."""
    key = (loop, settings, user.share)
    with _shared_lock:
        shared = _shared.get(key)
        if shared is None or shared.client is not client:
            return None  # its loop ended, and the client was closed then
        shared.users.discard(user)
        if shared.users:
            return None
        _shared.pop(key, None)
        return shared


def _let_go_on_closed_loop(
    loop: asyncio.AbstractEventLoop,
    settings: Settings,
    user: ClientPool,
    client: AuthenticatedClient,
) -> None:
    """`_release` for a client whose loop is closed, without the lock (this may run
    inside a garbage collection): nothing but other users letting go touches the
    entry of a closed loop, and its client can no longer be closed."""
    key = (loop, settings, user.share)
    shared = _shared.get(key)
    if shared is not None and shared.client is client:
        shared.users.discard(user)
        if not shared.users:
            _shared.pop(key, None)


async def _close_when_loop_ends(key: _SharedKey, shared: _Shared) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with _shared_lock:
            owned = _shared.get(key) is shared
            if owned:
                _shared.pop(key, None)
            users = list(shared.users) if owned else []
        for pool in users:
            pool._forget_loop(key[0], shared.client)
        # Once the pools have let go of it, whoever took it closes it.
        if owned or shared.left_to_guard:
            await shared.client.get_async_httpx_client().aclose()


class ClientPool:
    """The generated clients one owner (a manager or a service) makes its calls with.

    The blocking client is the owner's own. The pools on one loop with equal
    settings share at most `Settings.max_in_flight` asyncio clients, dealt in
    turn, so a thousand managers hold a few connection pools, not a thousand;
    not one either, since httpcore's bookkeeping grows with the square of a
    pool's connections (one pool for all cost more CPU per request than a
    pool per manager; one per request in flight costs the same). A client is
    closed when its last user closes, or when its loop ends.

    Args:
        settings: How to reach the API.
        owner: The owner's class name, for the error raised once it is closed.
        imports: Modules the owner's asyncio calls need, imported off the loop
            before the first (see `ready_async`).
    """

    def __init__(self, settings: Settings, owner: str, imports: tuple[str, ...] = ()) -> None:
        self._settings = settings
        self._owner = owner
        self._imports = imports
        self._ready = False
        self._closed = False
        self.share = next(_dealt) % settings.max_in_flight
        """Which of the shared asyncio clients of a loop this pool uses."""
        self._reset()
        _pools.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._client: AuthenticatedClient | None = None
        self._async_clients: dict[asyncio.AbstractEventLoop, AuthenticatedClient] = {}
        self._transfers: httpx.Client | None = None

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

    def transfers(self) -> httpx.Client:
        """The blocking client for presigned URLs (no API key), made on first use and kept,
        so that its connections to the storage host are used again from file to file.

        Making it may read a CA file: call it off any event loop.
        """
        with self._lock:
            self.check_open()
            if self._transfers is None:
                from agb_context._transfers import blocking_transfer_client

                self._transfers = blocking_transfer_client(self._settings)
            return self._transfers

    async def for_running_loop_async(self) -> AuthenticatedClient:
        """`for_running_loop`, without stalling the loop: a first client's imports and
        TLS trust are loaded on a thread."""
        client = self._async_clients.get(asyncio.get_running_loop())
        if client is not None and not self._closed:
            return client
        await self.ready_async()
        return self.for_running_loop()

    async def ready_async(self) -> None:
        """Wait, without stalling the loop, until the modules the asyncio calls need are
        imported and the TLS trust is loaded (both on a thread, once per process)."""
        if self._ready:
            return
        for ready in _ready_for(self._settings, self._imports):
            if not ready.done():
                await _until_done(ready)
        self._ready = True

    def for_running_loop(self) -> AuthenticatedClient:
        """The client of the running loop: httpx connections belong to one loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self.check_open()
            client = self._async_clients.get(loop)
            if client is None:
                client = self._async_clients[loop] = _share(loop, self._settings, self)
            return client

    def close(self) -> None:
        """Release every connection; the pool makes no client after. Idempotent."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
            transfers, self._transfers = self._transfers, None
            async_clients = list(self._async_clients.items())
            self._async_clients.clear()
        if client is not None:
            client.get_httpx_client().close()
        if transfers is not None:
            transfers.close()
        for loop, async_client in async_clients:
            last = _release(loop, self._settings, self, async_client)
            if last is not None:
                _close_on_loop(loop, last)

    async def aclose(self) -> None:
        """`close` for async code: the running loop's connections are closed awaited."""
        loop = asyncio.get_running_loop()
        with self._lock:
            async_client = self._async_clients.pop(loop, None)
        self.close()
        last = None
        if async_client is not None:
            last = _release(loop, self._settings, self, async_client)
        if last is not None:
            if last.guard is not None:
                await last.guard.aclose()
            await last.client.get_async_httpx_client().aclose()

    def release_unclosed(self) -> bool:
        """Release the connections of an owner being collected unclosed.

        Returns whether it held any (the owner then warns). A blocking client
        is closed at once; the asyncio clients are let go of on their loops (if
        they still run), and closed there if this was their last user.
        """
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            client, self._client = self._client, None
            transfers, self._transfers = self._transfers, None
            async_clients = list(self._async_clients.items())
            self._async_clients.clear()
        if client is not None:
            client.get_httpx_client().close()
        if transfers is not None:
            transfers.close()
        for loop, async_client in async_clients:
            # On its loop, not here: this may run inside a garbage collection that
            # interrupted code holding the lock of the shared clients.
            try:
                loop.call_soon_threadsafe(
                    self._release_later, loop, async_client, context=contextvars.Context()
                )
            except RuntimeError:  # the loop is closed
                _let_go_on_closed_loop(loop, self._settings, self, async_client)
        return client is not None or transfers is not None or bool(async_clients)

    def _release_later(self, loop: asyncio.AbstractEventLoop, client: AuthenticatedClient) -> None:
        last = _release(loop, self._settings, self, client)
        if last is not None:
            task = loop.create_task(last.client.get_async_httpx_client().aclose())
            task.add_done_callback(_log_close_failure)

    def _forget_loop(self, loop: asyncio.AbstractEventLoop, client: AuthenticatedClient) -> None:
        """``loop`` ended, and ``client`` with it."""
        with self._lock:
            if self._async_clients.get(loop) is client:
                del self._async_clients[loop]

    def _forget_after_fork(self) -> None:
        """In a forked child: keep the parent's clients out of use, start afresh."""
        _inherited.extend([self._client, self._transfers, self._async_clients])
        self._reset()


def _close_on_loop(loop: asyncio.AbstractEventLoop, shared: _Shared) -> None:
    """Close a shared client on the loop its connections belong to: now if it runs, when
    it ends if it is between two runs (an `asyncio.Runner`'s), never once it is closed."""
    if loop.is_closed():
        return
    if not loop.is_running():
        shared.left_to_guard = True
        return
    closing = shared.client.get_async_httpx_client().aclose
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
    if is_background_thread() or running is not None:
        # Waiting would hold up the loop of this thread: the closing goes on alone.
        future.add_done_callback(_log_close_failure)
        return
    try:
        future.result(_CLOSE_WAIT)
    except Exception:
        logger.warning("could not close connections cleanly", exc_info=True)


def _after_fork_in_child() -> None:
    global _warm_lock, _shared_lock
    _warm_lock = threading.Lock()
    for key, done in list(_warm.items()):
        if not done.done():
            del _warm[key]  # its thread is the parent's
    for pool in list(_pools):
        pool._forget_after_fork()
    _inherited.append(dict(_shared))
    _shared.clear()
    _shared_lock = threading.Lock()
    forget_gates()
    _background.forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _log_close_failure(task: asyncio.Future[None] | concurrent.futures.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("could not close connections cleanly", exc_info=task.exception())
