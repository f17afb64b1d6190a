"""The log of the requests the emulator received, for tests to inspect."""

from __future__ import annotations

import threading
from collections import deque

from agb_context.emulator._records import RecordedRequest

REQUEST_LOG_LIMIT = 10_000


class RequestLog:
    """The requests to the cloud routes, oldest first (the last 10 000 are kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_LIMIT)

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
