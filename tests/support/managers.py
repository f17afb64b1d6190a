"""Managers and callbacks of the tests: the shared session's names, secrets, recorders."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from agb_context import ContextManager

SECRETS: set[str] = set()
"""API keys used by tests; the suite-wide log check fails a test that logs one."""

CONTEXT_ID = "ctx-a"
MOUNT = "/home/data"
"""The one mount of the `session_id` fixture's session."""


class MakeManager(Protocol):
    """The ``make_cm`` fixture: ``make_cm(session_id, **options)`` makes a `ContextManager`.

    Options are those of `ContextManager`; ``api_key`` and ``endpoint`` default
    to the shared emulator's. Every manager made is closed after the test.
    """

    def __call__(self, session_id: str, /, **options: Any) -> ContextManager: ...


class CallbackRecorder:
    """A sync callback that records every call and lets a test wait for the first."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.threads: list[str] = []
        self.called = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, success: bool) -> None:
        with self._lock:
            self.calls.append(success)
            self.threads.append(threading.current_thread().name)
        self.called.set()

    def wait(self, timeout: float = 30.0) -> list[bool]:
        assert self.called.wait(timeout), "the callback was not called"
        return self.calls
