"""The log of the requests the emulator received, for tests to inspect."""

from __future__ import annotations

import threading
from collections import deque

from agb_context.emulator._records import RecordedRequest

REQUEST_LOG_LIMIT = 10_000


class RequestLog:
    """The requests received, admin routes included, oldest first (the last 10 000 are kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._answering = 0
        self._entries: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_LIMIT)

    def begin(self) -> None:
        """A request arrived; `end` follows when it has been answered (or dropped)."""
        with self._lock:
            self._answering += 1

    def end(self) -> None:
        with self._lock:
            self._answering -= 1
            if not self._answering:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered; whether that happened in time."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._answering, timeout)

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
