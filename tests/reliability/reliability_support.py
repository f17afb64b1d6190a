"""Helpers of the reliability tests (importable as `reliability_support`).

`Watch` checks that a test leaves nothing behind: no new thread, no task on
the SDK's background loop, nothing unhandled in a background thread or an
event loop, no ERROR log record from the SDK. `run_sync` runs one sync in a
given calling style and collects what a caller sees.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.server
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from support import CallbackRecorder, drain_background, wait_until

from agb_context import ContextManager, ContextSyncResult, RetryPolicy, SyncOperation
from agb_context._background import background_loop

STYLES = ("awaited", "callback", "blocking")
"""The calling styles of ``sync``: ``await``, ``callback=`` from plain code, ``.result()``."""

FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)
"""Two retries, 0.01 s then 0.02 s apart at most (jitter only shortens them)."""

FAST_BACKOFF = 0.01 + 0.02
"""The longest time `FAST` sleeps between the attempts of one request."""

SLACK = 20.0
"""Seconds allowed on top of a computed time bound: upper bounds guard against hangs,
not speed, so they hold on a machine whose cores are busy with other work."""

EMULATOR_THREADS = ("agb-emulator", "agb-context-emulator")
"""Name prefixes of the in-process emulator's threads, which belong to the test rig."""

SERVER_LOGGERS = ("agb_context.emulator", "uvicorn")
"""Loggers of the servers under the tests; `Watch` checks the SDK's records only."""

wait_for = wait_until
"""The shared polling helper, under the name these tests use."""


def sdk_threads() -> set[threading.Thread]:
    """The threads of this process, less the in-process emulator's own."""
    return {t for t in threading.enumerate() if not t.name.startswith(EMULATOR_THREADS)}


def background_tasks() -> int:
    """How many tasks are pending on the SDK's background loop."""

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1

    return asyncio.run_coroutine_threadsafe(count(), background_loop()).result(10)


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(SERVER_LOGGERS):
            self.records.append(record)


class Watch:
    """What a test must leave as it found it; call `assert_clean` at its end.

    Made before the test acts: the background loop is started first, so that
    its thread is part of the baseline.
    """

    def __init__(self) -> None:
        background_loop()
        drain_background()
        self.baseline = sdk_threads()
        self.baseline_tasks = background_tasks()
        self.thread_errors: list[str] = []
        self.loop_errors: list[str] = []
        self._errors = _ErrorRecords()
        self._lock = threading.Lock()

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        with self._lock:
            self.loop_errors.append(f"{context.get('message')}: {context.get('exception')!r}")

    def watch_running_loop(self) -> None:
        """Route the running loop's unhandled errors to this watch."""
        asyncio.get_running_loop().set_exception_handler(self.loop_exception_handler)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "?"
        with self._lock:
            self.thread_errors.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")

    @contextlib.contextmanager
    def installed(self) -> Iterator[Watch]:
        loop = background_loop()
        previous_hook = threading.excepthook
        previous_handler = loop.get_exception_handler()
        threading.excepthook = self._thread_hook
        loop.set_exception_handler(self.loop_exception_handler)
        logging.getLogger().addHandler(self._errors)
        try:
            yield self
        finally:
            logging.getLogger().removeHandler(self._errors)
            loop.set_exception_handler(previous_handler)
            threading.excepthook = previous_hook

    def new_threads(self) -> list[str]:
        return sorted(t.name for t in sdk_threads() - self.baseline if t.is_alive())

    def assert_clean(self) -> None:
        """No thread, task or unhandled error left behind (threads may take a moment to end)."""
        drain_background()
        try:
            wait_until(lambda: not self.new_threads(), 30, "the SDK's threads to end")
        except AssertionError:
            assert self.new_threads() == [], "threads left behind"
        wait_until(
            lambda: background_tasks() <= self.baseline_tasks,
            30,
            "no tasks left on the background loop",
        )
        assert self.thread_errors == [], "unhandled exceptions in threads"
        assert self.loop_errors == [], "unhandled errors in event loops"
        errors = [f"{r.name}: {r.getMessage()}" for r in self._errors.records]
        assert errors == [], "ERROR records logged"


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
    await asyncio.sleep(0)
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


def free_port() -> int:
    """A port that was free a moment ago (for an emulator restarted on a fixed port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CannedServer:
    """A real HTTP server on 127.0.0.1 that answers with canned responses, one per method.

    For what the emulator cannot be made to send (any body at all); the SDK
    talks to it over real HTTP, as to the cloud.
    """

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests = 0
        self.answer(200, b"{}")
        canned = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                canned.requests += 1
                status, body = canned.answers[self.command]
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.send_header("x-request-id", "canned-request-id")
                self.send_header("connection", "close")  # no answer can spill into the next
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client closing its connection is not news here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="canned-http-server", daemon=True
        )

    def answer(self, status: int, body: bytes, method: str | None = None) -> None:
        """Answer requests of ``method`` (both GET and POST when None) with this."""
        for name in (method,) if method else ("GET", "POST"):
            self.answers[name] = (status, body)

    def __enter__(self) -> CannedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
