"""The API's vocabulary as types: sync modes, task states and a task's wire names.

Defined once here, for this package and everything built on it. They are copies of
what ``openapi.yaml`` declares (``SyncMode``, ``TaskState``, ``TaskStatus``);
a test compares them with the generated client, so the two cannot drift
apart. They are not read from the generated client at run time so that
``import agb_context`` stays light. Code that writes a state or a mode as a
string does so where the type is one of these ``Literal`` types, so
``mypy`` refuses a misspelling;
strings read from a server are checked with `is_sync_mode`/`is_task_status`.
"""

from __future__ import annotations

from typing import Final, Literal, TypeGuard, get_args

SyncMode = Literal["upload", "download"]
"""Which way a sync copies: ``upload`` (session to context store) or ``download``."""

TaskStatus = Literal["Pending", "Running", "Success", "Failed"]
"""The state of a sync task; only ``Success`` and ``Failed`` are final."""

SYNC_MODES: Final[tuple[SyncMode, ...]] = get_args(SyncMode)
"""Every `SyncMode`, in the order the API lists them."""
TASK_STATUSES: Final[tuple[TaskStatus, ...]] = get_args(TaskStatus)
"""Every `TaskStatus`, in the order the API lists them."""
FINAL_STATUSES: Final[frozenset[TaskStatus]] = frozenset({"Success", "Failed"})
"""The states a task ends in."""
SUCCESS: Final[TaskStatus] = "Success"
"""The state of a task that ended well."""
DEFAULT_SYNC_MODE: Final[SyncMode] = "upload"
"""What a sync does when no mode is given (the server's default)."""

TASK_WIRE_NAMES: Final[dict[str, str]] = {
    "context_id": "contextId",
    "path": "path",
    "status": "status",
    "task_type": "taskType",
    "start_time": "startTime",
    "finish_time": "finishTime",
    "error_message": "errorMessage",
}
"""A task's fields (`ContextStatusData` attribute -> JSON key of ``TaskStatus``)."""


def is_sync_mode(value: object) -> TypeGuard[SyncMode]:
    """Whether ``value`` is one of the `SYNC_MODES`."""
    return value in SYNC_MODES


def is_task_status(value: object) -> TypeGuard[TaskStatus]:
    """Whether ``value`` is one of the `TASK_STATUSES`."""
    return value in TASK_STATUSES
