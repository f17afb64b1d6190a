"""What the emulator lets a test inspect: its sync tasks and the requests it received."""

from __future__ import annotations

import attrs

from agb_context._results import ContextStatusData


@attrs.frozen(kw_only=True)
class TaskRecord:
    """A snapshot of one sync task, with the values `GetContextInfo` reports for it."""

    context_id: str
    path: str
    """The mount path in the session, e.g. ``/home/data``."""
    task_type: str
    """``upload`` or ``download``."""
    status: str
    """``Pending``, ``Running``, ``Success`` or ``Failed``."""
    start_time: int
    """Milliseconds since the Unix epoch when the task started running; 0 before."""
    finish_time: int
    """Milliseconds since the Unix epoch when the task became final; 0 before."""
    error_message: str
    """Why the task failed; ``""`` otherwise."""
    final_monotonic: float | None
    """`time.monotonic` when the task became final in this process; None while it is not
    final, and for tasks that finished before the emulator was last restarted."""

    @property
    def is_final(self) -> bool:
        """Whether the task has finished (``Success`` or ``Failed``)."""
        return self.status in ("Success", "Failed")

    def to_status_data(self) -> ContextStatusData:
        """The task as the SDK's `ContextStatusData` (what ``info()`` should report)."""
        return ContextStatusData(
            context_id=self.context_id,
            path=self.path,
            status=self.status,
            task_type=self.task_type,
            start_time=self.start_time,
            finish_time=self.finish_time,
            error_message=self.error_message,
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
