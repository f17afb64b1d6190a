"""``agb-context info`` and ``agb-context sync``."""

from __future__ import annotations

import argparse
import concurrent.futures
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.live import Live

from agb_context import (
    ContextInfoResult,
    ContextSyncResult,
    PollingPolicy,
    Progress,
    SyncOperation,
)
from agb_context.cli._app import INTERRUPTED_CODE, CommandFailed, UsageError
from agb_context.cli._connection import open_manager
from agb_context.cli._json_output import print_json
from agb_context.cli._views import SyncProgress, result_json, tasks_table

DEFAULT_MAX_POLLS = 150
"""The SDK's default number of status polls, used when no --timeout is given."""


PIPE_WIDTH = 10_000
"""The width of a table written to a pipe or a file: as wide as its cells need."""


def stdout_console(*, fit_content: bool = True) -> Console:
    """Where tables go: stdout, without guessing at highlights.

    An id or a path is never broken across lines: on a terminal, lines wrap
    between words; elsewhere (a pipe, a file, a log) they are not wrapped at
    all, and a table is as wide as its cells (so ``| grep`` finds whole rows)
    unless ``$COLUMNS`` sets a width, or ``fit_content`` is False (80 columns).
    """
    console = Console(highlight=False)
    if fit_content and not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=PIPE_WIDTH)
    console.soft_wrap = not console.is_terminal
    return console


@contextmanager
def interruptible(
    args: argparse.Namespace,
    message: str,
    document: Callable[[str], dict[str, Any]],
    cancel: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Ctrl-C in the block ends the command with exit code 130 and ``message``.

    ``cancel`` runs first. With ``--json``, ``document(message)`` is printed
    first, marked ``"interrupted": true``: the command's own document of a
    failed result (``error_kind`` ``cancelled``), holding what was seen so far.
    """
    try:
        yield
    except KeyboardInterrupt:
        if cancel is not None:
            cancel()
        if args.json:
            print_json({**document(message), "interrupted": True})
        raise CommandFailed(message, INTERRUPTED_CODE) from None


INTERRUPTED = "interrupted"
"""What Ctrl-C says where nothing goes on after it."""


def info_command(args: argparse.Namespace) -> int:
    """Show the session's tasks; exit code 1 when the server could not be asked."""
    with open_manager(args) as cm:

        def interrupted(message: str) -> dict[str, Any]:
            cancelled = ContextInfoResult(
                success=False, error_message=message, error_kind="cancelled"
            )
            return result_json(cm.session_id, cancelled)

        with interruptible(args, INTERRUPTED, interrupted):
            result = cm.info(context_id=args.context_id, path=args.path, task_type=args.task_type)
    if args.json:
        print_json(result_json(cm.session_id, result))
    elif result.success:
        console = stdout_console()
        if result.context_status_data:
            console.print(
                tasks_table(result.context_status_data, title=f"Session {cm.session_id}")
            )
        else:
            console.print(f"No tasks reported for session {cm.session_id}.")
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


def sync_command(args: argparse.Namespace) -> int:
    """Start a sync and follow it; exit code 0 on success, 1 on failure or timeout."""
    if (args.context_id is None) != (args.path is None):
        raise UsageError(
            "--context-id and --path go together: give both to sync one context, "
            "or neither to sync every mounted context (see 'agb-context sync --help')",
            "agb-context sync",
        )
    interval: float = args.interval
    timeout: float | None = args.timeout
    console = stdout_console()
    live = not args.json and console.is_terminal
    with open_manager(args) as cm:
        progress = SyncProgress(cm.session_id, args.mode)
        operation: SyncOperation | None = None

        def cancel() -> None:
            if operation is not None:
                operation.cancel()

        def interrupted(message: str) -> dict[str, Any]:
            return interrupted_json(cm.session_id, operation, progress, message)

        with interruptible(args, SYNC_INTERRUPTED, interrupted, cancel):
            operation = cm.sync(
                context_id=args.context_id,
                path=args.path,
                mode=args.mode,
                timeout=timeout,
                polling=PollingPolicy(
                    interval=interval, max_polls=DEFAULT_MAX_POLLS if timeout is None else 10**9
                ),
            )
            follow(operation, progress)
            if live:
                with Live(progress, console=console, refresh_per_second=8) as view:
                    operation.wait()
                    result = _conclude(operation, progress)
                    view.refresh()
            else:
                operation.wait()
                result = _conclude(operation, progress)
    elapsed = progress.elapsed
    if args.json:
        print_json(result_json(cm.session_id, result, elapsed_seconds=round(elapsed, 3)))
    else:
        if not live and result.context_status_data:
            console.print(tasks_table(result.context_status_data))
        if result.success:
            where = f" (request {result.request_id})" if result.request_id else ""
            done = "nothing to sync" if not result.context_status_data else "sync succeeded"
            console.print(f"[bold green]OK[/] {done} in {elapsed:.1f}s{where}")
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


SYNC_INTERRUPTED = "interrupted; the sync goes on on the server"


def interrupted_json(
    session_id: str, operation: SyncOperation | None, progress: SyncProgress, message: str
) -> dict[str, Any]:
    """The ``--json`` document of a sync the user interrupted (the tasks as last seen;
    ``operation`` is None when it came before the sync was started)."""
    result = ContextSyncResult(
        success=False,
        request_id=(operation.request_id if operation is not None else None) or "",
        error_message=message,
        error_kind="cancelled",
        context_status_data=progress.tasks,
    )
    return result_json(session_id, result, elapsed_seconds=round(progress.elapsed, 3))


def outcome(operation: SyncOperation) -> ContextSyncResult:
    """The result of an operation that is over (a cancelled one reads as a failure)."""
    try:
        return operation.result(0)
    except concurrent.futures.CancelledError:
        return ContextSyncResult(
            success=False,
            request_id=operation.request_id or "",
            error_message="the sync was cancelled",
            error_kind="cancelled",
        )


def follow(operation: SyncOperation, progress: SyncProgress) -> None:
    """Keep ``progress`` up to date from what the operation's own polls see."""

    def show(seen: Progress) -> None:
        progress.update(seen.tasks, request_id=operation.request_id, note=seen.last_error)

    operation.add_progress_callback(show)


def _conclude(operation: SyncOperation, progress: SyncProgress) -> ContextSyncResult:
    result = outcome(operation)
    progress.finish(result)
    return result
