"""Waiting for a sync to finish: the one polling routine every calling style uses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agb_context._results import ContextInfoResult, ContextStatusData, ContextSyncResult

logger = logging.getLogger("agb_context")


async def wait_for_sync(
    poll: Callable[[], Awaitable[ContextInfoResult]],
    *,
    request_id: str,
    max_retries: int,
    retry_interval: float,
) -> ContextSyncResult:
    """Poll until every sync task is final, at most ``max_retries`` times.

    The first poll is immediate, then one every ``retry_interval``
    milliseconds. Only ``upload`` and ``download`` tasks count. A poll that
    fails (HTTP error, ``success: false``, network error, malformed status)
    counts as an attempt and polling goes on; it is never read as "no tasks".
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    last_error = ""
    failed_polls = 0
    tasks: tuple[ContextStatusData, ...] = ()
    for attempt in range(max_retries):
        if attempt:
            await asyncio.sleep(retry_interval / 1000)
        info = await poll()
        if not info.success:
            failed_polls += 1
            last_error = info.error_message
            logger.debug("poll %d/%d failed: %s", attempt + 1, max_retries, last_error)
            continue
        last_error = ""
        tasks = tuple(task for task in info.context_status_data if task.is_sync_task)
        if any(not task.is_final for task in tasks):
            continue
        failed = [task for task in tasks if task.status == "Failed"]
        if failed:
            return ContextSyncResult(
                success=False,
                request_id=request_id,
                error_message="sync failed: " + "; ".join(map(_describe_failure, failed)),
                context_status_data=tasks,
            )
        logger.debug("sync %s finished after %d poll(s)", request_id, attempt + 1)
        return ContextSyncResult(success=True, request_id=request_id, context_status_data=tasks)
    waited = loop.time() - started
    if failed_polls == max_retries:
        message = (
            f"could not learn how the sync went: all {max_retries} status polls failed "
            f"over {waited:.1f}s; last error: {last_error}"
        )
    else:
        message = (
            f"timed out after {waited:.1f}s ({max_retries} polls) waiting for the sync to finish"
        )
        if last_error:
            message += f"; the last poll failed: {last_error}"
    return ContextSyncResult(
        success=False, request_id=request_id, error_message=message, context_status_data=tasks
    )


def _describe_failure(task: ContextStatusData) -> str:
    where = f"{task.context_id or '?'} at {task.path or '?'} ({task.task_type})"
    return f"{where}: {task.error_message or 'no error message'}"
