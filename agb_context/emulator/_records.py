"""What the emulator lets a test inspect: its sync tasks and the requests it received."""

from __future__ import annotations

import attrs

from agb_context._results import ContextStatusData


@attrs.frozen(kw_only=True)
class TaskRecord(ContextStatusData):
    """A snapshot of one sync task: the values `GetContextInfo` reports for it, and when
    it became final.

    It is the emulator's one record of a task's state; its store replaces it
    whole on each change. ``start_time`` and ``finish_time`` are 0 until the
    task starts and ends; ``error_message`` says why a ``Failed`` task failed.
    """

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
    """One request to the cloud API routes (``/sdk/...``), as the emulator answered it.

    The ``authorization`` header is never recorded.
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
