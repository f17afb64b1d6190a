"""The shared session's names, the keys the log check looks for and its collector, a callback
recorder."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

SECRETS: set[str] = set()
"""API keys used by tests; the suite-wide log check fails a test that logs one."""

WRONG_KEY = "wrong-key-d41d8cd98f00b204"
"""A key no emulator accepts (a 401), one of the `SECRETS`."""
SECRETS.add(WRONG_KEY)

CONTEXT_ID = "ctx-a"
MOUNT = "/home/data"
"""The one mount of the `session_id` fixture's session."""


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


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        self.lines.append(text)


@contextlib.contextmanager
def logged_lines() -> Iterator[list[str]]:
    """Every logger at DEBUG meanwhile; the list fills with each record's text (and error)."""
    root = logging.getLogger()
    collector = _Lines()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(collector)
    try:
        yield collector.lines
    finally:
        root.removeHandler(collector)
        root.setLevel(level)
