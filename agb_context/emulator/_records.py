"""What the emulator lets a test inspect: its sync tasks and the requests it received."""

from __future__ import annotations

from typing import Any

import attrs

from agb_context._results import ContextStatusData
from agb_context._types import SyncMode, TaskStatus


@attrs.frozen(kw_only=True)
class TaskRecord(ContextStatusData):
    """A snapshot of one sync task: the values `GetContextInfo` reports for it, and when
    it became final.

    It is the emulator's one record of a task's state; its store replaces it
    whole on each change. ``start_time`` and ``finish_time`` are 0 until the
    task starts and ends; ``error_message`` says why a ``Failed`` task failed.
    """

    task_type: SyncMode
    """Which way the task copies."""
    status: TaskStatus = "Pending"
    """Where the task is; only ``Success`` and ``Failed`` are final."""
    final_monotonic: float | None = None
    """`time.monotonic` when the task became final in this process; None while it is not
    final, and for tasks that finished before the emulator was last restarted."""

    def to_status_data(self) -> ContextStatusData:
        """The task as the SDK's `ContextStatusData` (what ``info()`` should report)."""
        return ContextStatusData(
            **{field.name: getattr(self, field.name) for field in attrs.fields(ContextStatusData)}
        )


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the emulator received (admin routes included), as it answered it.

    The API key never shows: the ``authorization`` header is recorded masked.
    """

    method: str
    path: str
    query: dict[str, str]
    """The decoded query parameters (the last value of a repeated one)."""
    status: int
    """The HTTP status answered; 0 when the connection was dropped on purpose."""
    monotonic: float
    """`time.monotonic` when the request arrived."""
    request_id: str
    """The ``requestId`` of the answer (also in its ``x-request-id`` header)."""
    headers: dict[str, str] = attrs.field(factory=dict)
    """The request's headers, names in lower case (repeated ones joined with ``", "``);
    ``authorization`` is masked as ``Bearer ***`` or ``***``."""
    body: bytes = b""
    """The request body as far as the emulator read it (at most 64 KiB); a request
    refused before its body was read (e.g. for its key) records ``b""``."""
    reason: str = ""
    """Why an answer is not a success: ``<code>: <message>`` from the error body (or
    ``dropped``); ``""`` for a success."""

    @property
    def session_id(self) -> str | None:
        """The ``sessionId`` query parameter, if any."""
        return self.query.get("sessionId")

    @property
    def is_admin(self) -> bool:
        """Whether it went to an ``/emulator/`` admin route rather than the cloud API."""
        return self.path.startswith("/emulator/")

    def to_json(self) -> dict[str, Any]:
        """The request as ``GET /emulator/requests`` lists it (the body as text)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "requestId": self.request_id,
            "headers": self.headers,
            "body": self.body.decode("utf-8", errors="replace"),
            "reason": self.reason,
        }
