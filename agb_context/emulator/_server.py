"""`Emulator`: the local AGB context API, served from a background thread."""

from __future__ import annotations

import asyncio
import errno
import math
import os
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from agb_context.emulator import _validation as check
from agb_context.emulator._app import build_app
from agb_context.emulator._behaviour import Behaviour
from agb_context.emulator._context_files import DEFAULT_URL_LIFETIME, UrlSigner
from agb_context.emulator._dirlock import DataDirLock, remove_abandoned
from agb_context.emulator._errors import DataDirError, ListenError
from agb_context.emulator._faults import Faults
from agb_context.emulator._gateway import Gateway
from agb_context.emulator._ids import Ids
from agb_context.emulator._records import RecordedRequest, TaskRecord
from agb_context.emulator._request_log import RequestLog
from agb_context.emulator._speeds import TaskSpeeds, task_delay
from agb_context.emulator._store import Store
from agb_context.emulator._tasks import TaskRunner

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0
_IDLE_TIMEOUT = 10.0
"""How long `Emulator.reset` waits for requests being answered (see `Emulator.wait_idle`)."""
_TEMPORARY_PREFIX = "agb-context-emulator-"
"""The start of the name of a temporary data folder (``data_dir=None``)."""


class Emulator:
    """A local emulator of the AGB context API: real HTTP, real files.

    It serves the cloud routes of ``openapi.yaml`` (``SyncContext`` and
    ``GetContextInfo``; ``ListContexts``, ``GetContext``, ``ModifyContext``,
    ``DeleteContext`` and ``ClearContext`` for the contexts of the account)
    exactly as the cloud does, plus admin routes under ``/emulator/`` (see
    ``openapi-emulator.yaml``). A session's mounts refer to contexts by id; a
    mount of an id not known yet creates that context, named after its id.
    The file routes (``DescribeContextFiles``, ``DeleteContextFile`` and the
    presigned URL calls) work on the stored context; the emulator serves the
    presigned URLs itself (``/presigned/file``, no API key, see `url_lifetime`).
    Sessions are made with `create_session`; each mount of a session is a
    local folder (`session_path`), and each context
    is stored in a local folder (`context_path`). An upload copies a mount's
    folder into the context's; a download copies it back, replacing the
    mount's content. A download of a context never uploaded to fails with a
    message saying so. Symbolic links and special files are never copied.

    Syncs of one context run one after the other. ``GetContextInfo``
    reports, for each mount matching its filters, the most recent sync task
    of that mount (`tasks` gives the whole history); `behaviour` makes it
    list tasks as other clouds may (late, with history, ignoring
    ``taskType``). `requests` records what clients sent, and `faults` makes
    the emulator misbehave on purpose.

    Args:
        data_dir: Where contexts and sessions are kept; they survive a restart
            on the same folder, and tasks left unfinished are run again. None:
            a temporary folder, removed on `stop`; the temporary folders of
            emulators that were killed (held by no process for a minute) are
            removed when one starts.
        api_key: The key clients must send in the ``authorization`` header;
            None makes a random one (see `api_key`).
        task_delay: The least time, in seconds, a sync task takes, to stand
            in for the cloud's latency. A task spends the first half of it
            ``Pending``.
        port: The port to listen on; 0 picks a free one (see `endpoint`).
        host: The address to listen on.
        seed: Makes session, context, task and request ids repeatable: the same seed
            gives the same ids in the same order (again after `reset`).
            None: random ids.

    Use it as a context manager, or call `start` and `stop`::

        with Emulator() as emu:
            sid = emu.create_session(mounts={"ctx-a": "/home/data"})
            (emu.session_path(sid, "/home/data") / "notes.txt").write_text("hi")
            # point the SDK at emu.endpoint with emu.api_key and sync
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
        task_delay: float = 0.0,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        seed: int | str | None = None,
    ) -> None:
        if api_key is None:
            # never "-" first: a command line would take the key for an option
            api_key = "emu-" + secrets.token_urlsafe(24)
        check.api_key(api_key)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, not {port!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | str)):
            raise ValueError(f"seed must be an int, a str or None, not {seed!r}")
        if data_dir is not None and not isinstance(data_dir, str | os.PathLike):
            raise ValueError(f"data_dir must be a folder's path or None, not {data_dir!r}")
        if data_dir is not None and not os.fspath(data_dir).strip():
            raise ValueError("data_dir is blank: name a folder, or pass None for a temporary one")
        if not isinstance(host, str) or not host or host != host.strip():
            raise ValueError(
                f"host must be an address to listen on, e.g. '127.0.0.1', not {host!r}"
            )
        self._data_dir = None if data_dir is None else Path(data_dir)
        self._api_key = api_key
        self._speeds = TaskSpeeds(task_delay)
        self._port = port
        self._host = host
        self._ids = Ids(seed)
        self.faults = Faults()
        """The faults to inject (all off by default); see `Faults`."""
        self._signer = UrlSigner()
        self.behaviour = Behaviour()
        """How the emulated cloud lists tasks (registration lag, history, an ignored
        ``taskType``; all off by default); see `Behaviour`."""
        self._log = RequestLog()
        self._runner: TaskRunner | None = None
        self._store: Store | None = None
        self._temporary: Path | None = None
        self._endpoint: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None
        self._lifecycle = threading.Lock()
        self._lock: DataDirLock | None = None

    def __repr__(self) -> str:
        where = self._endpoint if self.running else "stopped"
        return f"<Emulator {where} data_dir={str(self.data_dir) if self._store else None!r}>"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._thread is not None

    @property
    def endpoint(self) -> str:
        """The URL clients use, e.g. ``http://127.0.0.1:54321``."""
        if self._endpoint is None:
            raise RuntimeError("the emulator has not been started: call start() or use `with`")
        return self._endpoint

    @property
    def api_key(self) -> str:
        """The API key clients must send."""
        return self._api_key

    @property
    def data_dir(self) -> Path:
        """The folder holding contexts and sessions."""
        return self._require_store().root

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received, admin routes included, oldest first (the last 10 000).

        Each has its headers (the key masked), body and the reason of a failure;
        ``GET /emulator/requests`` lists them over HTTP.
        """
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._log.clear()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the emulator is answering no request; whether it was within ``timeout``.

        A client closed or cancelled mid-request leaves its request to be
        answered (and recorded) a little later: call this before
        `clear_requests` or counting `requests`, so that what a test sent
        earlier never lands in the log afterwards (`reset` waits this way
        itself). Requests arriving while it waits are waited for too.
        """
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout < 0
        ):
            raise ValueError(f"timeout must be 0 or more seconds, not {timeout!r}")
        return self._log.wait_idle(timeout)

    def create_session(self, mounts: Mapping[str, str]) -> str:
        """Create a session with these mounts (context id -> mount path); its id.

        Each mount gets an empty local folder (`session_path`).

        Raises:
            ValueError: A context id or mount path is unusable (the message
                says why), or two contexts share a path.
        """
        if not self.running:
            raise RuntimeError("start the emulator before creating sessions")
        return self._require_store().create_session(mounts).id

    def session_path(self, session_id: str, path: str) -> Path:
        """The local folder behind the mount at ``path`` of a session.

        Raises:
            LookupError: No such session, or nothing mounted at ``path``.
        """
        store = self._require_store()
        return store.session(session_id).mount_at(path).folder

    def context_path(self, context_id: str) -> Path:
        """The local folder of a stored context (it exists once an upload succeeded).

        Raises:
            ValueError: ``context_id`` is not a valid context id.
        """
        return self._require_store().context_path(context_id)

    def tasks(self, session_id: str) -> list[TaskRecord]:
        """The session's sync tasks, oldest first (the last 100).

        Raises:
            LookupError: No such session.
        """
        store = self._require_store()
        return store.records(store.session(session_id))

    def start(self) -> None:
        """Start serving; returns once the emulator accepts connections.

        Raises:
            RuntimeError: It is already running.
            DataDirInUse: Another emulator runs on the same data dir (the
                message names it); two would lose each other's files.
            DataDirError: The data dir cannot be used (e.g. it is a file).
            ListenError: The address cannot be listened on (e.g. the port is
                taken; the message names it).
        """
        with self._lifecycle:
            if self.running:
                raise RuntimeError("the emulator is already running")
            if self._data_dir is None:
                remove_abandoned(Path(tempfile.gettempdir()), _TEMPORARY_PREFIX)
                self._temporary = Path(tempfile.mkdtemp(prefix=_TEMPORARY_PREFIX))
                root = self._temporary
            else:
                root = self._data_dir.resolve()
            store = Store(root, self._ids)
            lock = DataDirLock(root)
            try:
                _open_data_dir(root, store, lock)
                sock = _listen(self._host, self._port)
                self._serve_in_thread(store, sock)
            except BaseException:
                lock.release()
                self._remove_temporary()
                raise
            lock.describe(endpoint=self._endpoint)
            self._store = store
            self._lock = lock

    def stop(self) -> None:
        """Stop serving and release the port; tasks still running are stopped.

        Their targets keep their previous content, and they run again when an
        emulator next starts on the same data folder. Does nothing when not
        running. With ``data_dir=None`` the temporary folder is removed.
        """
        with self._lifecycle:
            thread, loop, server = self._thread, self._loop, self._server
            if thread is None or loop is None or server is None:
                return
            if thread.is_alive():
                loop.call_soon_threadsafe(server.request_exit)
                thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                loop.call_soon_threadsafe(server.request_exit, True)
                thread.join()
            self._thread = self._loop = self._server = None
            self._runner = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            self._remove_temporary()

    @property
    def url_lifetime(self) -> float:
        """Seconds a presigned file URL works once made (default 3600); settable."""
        return self._signer.lifetime

    @url_lifetime.setter
    def url_lifetime(self, seconds: float) -> None:
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise ValueError(f"url_lifetime must be a positive number of seconds, not {seconds!r}")
        self._signer.lifetime = float(seconds)

    def reset(self) -> None:
        """Empty the emulator, as if just started on an empty data dir; takes milliseconds.

        Requests held back by an injected latency are answered at once (503,
        saying the emulator was reset), and requests still being answered
        are waited for (up to 10 s, as `wait_idle`), so that nothing an
        earlier test sent lands in the emptied log or takes new faults.
        Running and hung tasks are stopped (copies stop between two files, so
        no file is left half-written) and every session and stored context is
        deleted with its folder; faults, behaviours, per-session task delays
        and the request log are cleared; the task delay is the one given at
        construction again, `url_lifetime` the default one; with a ``seed``,
        ids start their sequence again.
        The same as ``POST /emulator/reset``, which cannot wait for the
        requests being answered besides itself: send it while no other is.
        """
        with self._lifecycle:
            loop = self._loop
            if loop is None:
                self._reset_settings()
                return
            asyncio.run_coroutine_threadsafe(self._end_holds(), loop).result(_STOP_TIMEOUT)
            self._log.wait_idle(_IDLE_TIMEOUT)
            asyncio.run_coroutine_threadsafe(self._reset_on_loop(), loop).result(_STOP_TIMEOUT)

    async def _end_holds(self) -> None:
        if self._server is not None:
            await self._server.gateway.end_holds()

    async def _reset_on_loop(self) -> None:
        await self._end_holds()
        if self._runner is not None:
            await self._runner.reset()
        if self._store is not None:
            self._store.reset()
        self._reset_settings()

    def _reset_settings(self) -> None:
        self.faults.clear()
        self.behaviour.clear()
        self._speeds.reset()
        self._signer.lifetime = DEFAULT_URL_LIFETIME
        self._log.clear()
        self._ids.restart()

    def set_task_delay(self, seconds: float, session_id: str | None = None) -> None:
        """Make new sync tasks take at least ``seconds`` (0 to 3600): those of
        ``session_id``, or of every session without a delay of its own.

        Tasks already created keep theirs. `reset` restores the delay given at
        construction. Over HTTP: ``POST /emulator/task-delay``.

        Raises:
            ValueError: ``seconds`` is out of range, or ``session_id`` is not a string.
            LookupError: The emulator runs and has no session ``session_id``.
        """
        delay = task_delay(seconds, "seconds")
        if session_id is not None:
            if not isinstance(session_id, str):
                raise ValueError(f"session_id must be a session's id or None, not {session_id!r}")
            if self._store is not None and self.running:
                self._store.session(session_id)
        self._speeds.set(delay, session_id)

    @property
    def task_delay(self) -> float:
        """The least time, in seconds, a new sync task takes (for sessions without
        a delay of their own; see `set_task_delay`)."""
        return self._speeds.snapshot()[0]

    def _serve_in_thread(self, store: Store, sock: socket.socket) -> None:
        runner = TaskRunner(store, self.faults, self._speeds)
        app = build_app(
            store=store,
            runner=runner,
            faults=self.faults,
            api_key=self._api_key,
            log=self._log,
            behaviour=self.behaviour,
            ids=self._ids,
            speeds=self._speeds,
            reset=self._reset_on_loop,
            signer=self._signer,
        )
        config = uvicorn_config(app)
        server = _Server(config, app)
        address, port = sock.getsockname()[:2]
        loop = asyncio.new_event_loop()
        # named, so that a test can tell the emulator's threads from its own
        loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="agb-emulator-worker"))
        failure: list[BaseException] = []

        async def serve() -> None:
            runner.resume()
            try:
                await server.serve(sockets=[sock])
            finally:
                await runner.aclose()

        def main() -> None:
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:
                failure.append(exc)
            finally:
                server.ready.set()
                sock.close()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        thread = threading.Thread(target=main, name="agb-context-emulator", daemon=True)
        thread.start()
        server.ready.wait(_START_TIMEOUT)
        if failure or not server.started:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            self._remove_temporary()
            raise RuntimeError("the emulator failed to start") from (
                failure[0] if failure else None
            )
        self._endpoint = _url(address, port)
        self._thread, self._loop, self._server = thread, loop, server
        self._runner = runner

    def _require_store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the emulator has not been started: call start() or use `with`")
        return self._store

    def _remove_temporary(self) -> None:
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None


def uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    """How the emulator runs its app on uvicorn (also the baseline of its benchmarks)."""
    return uvicorn.Config(
        app,
        http="h11",
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=1,
        # Longer than the SDK's keep-alive (5 s), so the server never closes a
        # pooled connection just as a client reuses it.
        timeout_keep_alive=75,
        # Heads over 16 KiB arriving in pieces reach the app, which answers
        # them with the JSON envelope rather than h11's plain-text 400.
        h11_max_incomplete_event_size=1024 * 1024,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it accepts connections and stopping on request."""

    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.gateway = gateway

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    def request_exit(self, force: bool = False) -> None:
        self.gateway.begin_shutdown()
        self.should_exit = True
        self.force_exit = self.force_exit or force


def _open_data_dir(root: Path, store: Store, lock: DataDirLock) -> None:
    """Create the data dir, lock it and open its store; errors name the folder and cause."""
    if root.exists() and not root.is_dir():
        raise DataDirError(f"the data dir {root} is a file, not a folder: name a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        store.open()
    except DataDirError:
        raise
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(root) else ""
        raise DataDirError(
            f"cannot use {root} as the data dir: {exc.strerror or exc}{where}"
        ) from exc


def _listen(host: str, port: int) -> socket.socket:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(
            f"cannot listen on {where}: {host!r} is not a known address ({exc.strerror})"
        ) from exc
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"port {port} on {host} is already in use by another program: "
                "choose another port, or 0 for a free one"
            )
        elif exc.errno == errno.EACCES:
            message = f"cannot listen on {where}: permission denied (a port below 1024?)"
        else:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
        error = ListenError(message)
        error.errno = exc.errno
        raise error from exc
    except BaseException:
        sock.close()
        raise
    return sock


_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def _url(address: str, port: int) -> str:
    """The URL that reaches a server bound to ``address`` (loopback for a wildcard)."""
    host = _LOOPBACK.get(address, address)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
