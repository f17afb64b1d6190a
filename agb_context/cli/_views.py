"""How results look: rich tables for people, plain dicts for ``--json``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from agb_context import ContextInfoResult, ContextStatusData, ContextSyncResult, TaskStatus
from agb_context._types import is_task_status

STATUS_STYLES: dict[TaskStatus, str] = {
    "Success": "bold green",
    "Failed": "bold red",
    "Running": "yellow",
    "Pending": "dim",
}


def status_style(status: str) -> str:
    """The rich style a task state is shown in (none for a state the API does not list)."""
    return STATUS_STYLES[status] if is_task_status(status) else ""


def now_ms() -> int:
    """Milliseconds since the Unix epoch, the unit of the API's task times."""
    return time.time_ns() // 1_000_000


def format_time(millis: int) -> str:
    """A task time as local date and time, ``-`` when the server has not set it."""
    if millis <= 0:
        return "-"
    return datetime.fromtimestamp(millis / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_elapsed(task: ContextStatusData, at_ms: int) -> str:
    """How long the task ran: until it finished, or until ``at_ms`` while it still runs."""
    if task.start_time <= 0:
        return "-"
    end = task.finish_time if task.finish_time > 0 else at_ms
    return f"{max(0, end - task.start_time) / 1000:.1f}s"


def tasks_table(
    tasks: Iterable[ContextStatusData], *, title: str | None = None, at_ms: int | None = None
) -> Table:
    """One row per task: context, path, type, status, start, elapsed (and errors, if any)."""
    rows = list(tasks)
    at = now_ms() if at_ms is None else at_ms
    with_errors = any(task.error_message for task in rows)
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("Context", overflow="fold")
    table.add_column("Path", overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Started", no_wrap=True)
    table.add_column("Elapsed", justify="right", no_wrap=True)
    if with_errors:
        table.add_column("Error", overflow="fold")
    for task in rows:
        cells: list[RenderableType] = [
            task.context_id or "-",
            task.path or "-",
            task.task_type or "-",
            Text(task.status or "-", style=status_style(task.status)),
            format_time(task.start_time),
            format_elapsed(task, at),
        ]
        if with_errors:
            cells.append(Text(task.error_message, style="red"))
        table.add_row(*cells)
    return table


def task_json(task: ContextStatusData) -> dict[str, Any]:
    """One task as a JSON-ready dict, with the SDK's field names."""
    return {
        "context_id": task.context_id,
        "path": task.path,
        "status": task.status,
        "task_type": task.task_type,
        "start_time": task.start_time,
        "finish_time": task.finish_time,
        "error_message": task.error_message,
    }


def result_json(
    session_id: str, result: ContextInfoResult | ContextSyncResult, **extra: object
) -> dict[str, Any]:
    """A result as a JSON-ready dict (`ApiResponse.to_dict`), with the session id."""
    return {"session_id": session_id, **result.to_dict(), **extra}


class SyncProgress:
    """The live view of one sync: its tasks as last reported, with ticking elapsed times.

    ``rich.live.Live`` re-renders it several times a second from its own
    thread, while the command updates it from the main thread.
    """

    def __init__(self, session_id: str, mode: str | None) -> None:
        self._lock = threading.Lock()
        self._session_id = session_id
        self._mode = mode or "default mode"
        self._started = time.monotonic()
        self._ended: float | None = None
        self._tasks: tuple[ContextStatusData, ...] = ()
        self._request_id: str | None = None
        self._note = ""

    def update(
        self,
        tasks: Iterable[ContextStatusData] | None = None,
        *,
        request_id: str | None = None,
        note: str | None = None,
    ) -> None:
        """Record what the last look at the server showed."""
        with self._lock:
            if tasks is not None:
                self._tasks = tuple(tasks)
            if request_id:
                self._request_id = request_id
            if note is not None:
                self._note = note

    def finish(self, result: ContextSyncResult) -> None:
        """Freeze the view on the operation's final result."""
        with self._lock:
            self._ended = time.monotonic()
            if result.context_status_data:
                self._tasks = tuple(result.context_status_data)
            if result.request_id:
                self._request_id = result.request_id
            self._note = ""

    @property
    def tasks(self) -> tuple[ContextStatusData, ...]:
        """The tasks as last reported."""
        with self._lock:
            return self._tasks

    @property
    def elapsed(self) -> float:
        """Seconds since the sync was started (frozen once it is over)."""
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return end - self._started

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        elapsed = self.elapsed
        with self._lock:
            tasks, request_id, note = self._tasks, self._request_id, self._note
            over = self._ended is not None
        header = f"Sync of session {self._session_id} ({self._mode}), {elapsed:.1f}s"
        if request_id:
            header += f", request {request_id}"
        yield Text(header, style="bold")
        if tasks:
            yield tasks_table(tasks)
        elif not over:
            yield Text("waiting for the server to report the sync tasks...", style="dim")
        if note and not over:
            yield Text(note, style="dim")
