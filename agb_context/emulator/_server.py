"""`Emulator`: the local AGB context API, served from a background thread."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from agb_context.emulator._app import build_app
from agb_context.emulator._behaviour import Behaviour
from agb_context.emulator._faults import Faults
from agb_context.emulator._gateway import Gateway
from agb_context.emulator._records import RecordedRequest, TaskRecord
from agb_context.emulator._request_log import RequestLog
from agb_context.emulator._store import Store
from agb_context.emulator._tasks import TaskRunner

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0


class Emulator:
    """A local emulator of the AGB context API: real HTTP, real files.

    It serves the cloud routes of ``openapi.yaml`` (``SyncContext`` and
    ``GetContextInfo``; ``ListContexts``, ``GetContext``, ``ModifyContext``,
    ``DeleteContext`` and ``ClearContext`` for the contexts of the account)
    exactly as the cloud does, plus admin routes under ``/emulator/`` (see
    ``openapi-emulator.yaml``). A session's mounts refer to contexts by id; a
    mount of an id not known yet creates that context, named after its id.
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
            a temporary folder, removed on `stop`.
        api_key: The key clients must send in the ``authorization`` header;
            None makes a random one (see `api_key`).
        task_delay: The least time, in seconds, a sync task takes, to stand
            in for the cloud's latency. A task spends the first half of it
            ``Pending``.
        port: The port to listen on; 0 picks a free one (see `endpoint`).
        host: The address to listen on.

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
    ) -> None:
        if api_key is None:
            api_key = secrets.token_urlsafe(24)
        if (
            not isinstance(api_key, str)
            or not api_key
            or not (api_key.isascii() and api_key.isprintable())
            or api_key != api_key.strip()
        ):
            raise ValueError(
                "api_key must be a non-empty string of printable ASCII characters, "
                "without spaces at either end"
            )
        if (
            isinstance(task_delay, bool)
            or not isinstance(task_delay, int | float)
            or not math.isfinite(task_delay)
            or task_delay < 0
        ):
            raise ValueError(f"task_delay must be a number of seconds >= 0, not {task_delay!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, not {port!r}")
        self._data_dir = None if data_dir is None else Path(data_dir)
        self._api_key = api_key
        self._task_delay = float(task_delay)
        self._port = port
        self._host = host
        self.faults = Faults()
        """The faults to inject (all off by default); see `Faults`."""
        self.behaviour = Behaviour()
        """How the emulated cloud lists tasks (registration lag, history, an ignored
        ``taskType``; all off by default); see `Behaviour`."""
        self._log = RequestLog()
        self._store: Store | None = None
        self._temporary: Path | None = None
        self._endpoint: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None
        self._lifecycle = threading.Lock()

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
        """The requests received on the cloud routes, oldest first (the last 10 000)."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._log.clear()

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
            OSError: The address cannot be listened on (e.g. the port is taken).
        """
        with self._lifecycle:
            if self.running:
                raise RuntimeError("the emulator is already running")
            if self._data_dir is None:
                self._temporary = Path(tempfile.mkdtemp(prefix="agb-context-emulator-"))
                root = self._temporary
            else:
                root = self._data_dir.resolve()
            store = Store(root)
            try:
                store.open()
                sock = _listen(self._host, self._port)
            except BaseException:
                self._remove_temporary()
                raise
            self._serve_in_thread(store, sock)
            self._store = store

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
            self._remove_temporary()

    def _serve_in_thread(self, store: Store, sock: socket.socket) -> None:
        runner = TaskRunner(store, self.faults, self._task_delay)
        app = build_app(
            store=store,
            runner=runner,
            faults=self.faults,
            api_key=self._api_key,
            log=self._log,
            behaviour=self.behaviour,
        )
        config = uvicorn_config(app)
        server = _Server(config, app)
        address, port = sock.getsockname()[:2]
        loop = asyncio.new_event_loop()
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


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def _url(address: str, port: int) -> str:
    """The URL that reaches a server bound to ``address`` (loopback for a wildcard)."""
    host = _LOOPBACK.get(address, address)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
