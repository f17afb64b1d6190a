"""`Watch`: what a test must leave as it found it.

No new thread, no task on the SDK's background loop, nothing unhandled in a
background thread or an event loop, no ERROR log record from the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from agb_context._background import background_loop
from support.waiting import drain_background, wait_until

EMULATOR_THREADS = ("agb-emulator", "agb-context-emulator")
"""Name prefixes of the in-process emulator's threads, which belong to the test rig."""

SERVER_LOGGERS = ("agb_context.emulator", "uvicorn")
"""Loggers of the servers under the tests; `Watch` checks the SDK's records only."""


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
