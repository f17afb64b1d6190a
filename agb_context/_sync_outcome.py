"""What "done" means for a sync: judged only by the tasks that sync started.

``GetContextInfo`` has no task ids, and a cloud may list a new task late, list
a mount's earlier tasks beside it, or ignore the ``taskType`` filter. So the
sync reads the tasks listed just before it starts (the *baseline*), and then
counts as its own only the tasks of its direction and scope that were not
listed then: a task final at the baseline is recognised by all its fields,
one still running then by its start time. One not yet started then cannot be
told from the sync's own once it starts, so it is waited for like one.

- A sync is a success only once every task it started was seen final with
  ``Success``.
- It fails once every task it started is final and one of them ``Failed``.
- A sync of one mount whose task never shows up, or whose mount had a task
  not yet started when the sync began, or a sync of every mount, also waits
  for the policy's grace after the server accepted it (so a task
  listed late is not missed); a sync for which no task was ever listed is then
  a success with nothing synced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from agb_context._operation import Progress
from agb_context._polling import PollClock, PollingPolicy
from agb_context._results import (
    ContextInfoResult,
    ContextStatusData,
    ContextSyncResult,
    ErrorKind,
)
from agb_context._types import SUCCESS

logger = logging.getLogger("agb_context")

_Mount = tuple[str, str]


def _mount(task: ContextStatusData) -> _Mount:
    return task.context_id, task.path


class SyncJudge:
    """Decides, poll after poll, whether one sync is over and how it went."""

    def __init__(
        self,
        *,
        context_id: str | None,
        path: str | None,
        direction: str,
        policy: PollingPolicy,
    ) -> None:
        self._context_id = context_id
        self._path = path
        self._direction = direction
        self._policy = policy
        self._old_final: set[ContextStatusData] = set()
        self._old_running: set[tuple[str, str, int]] = set()
        self._old_unstarted = False
        self._seen: dict[_Mount, list[ContextStatusData]] = {}
        self._accepted_at: PollClock | None = None
        self.request_id = ""
        self.last_error = ""
        self.polls_since_accepted = 0
        self.failed_polls = 0
        self.last_failure: ContextInfoResult | None = None

    # -- before SyncContext ------------------------------------------------------

    def set_baseline(self, tasks: Iterable[ContextStatusData]) -> None:
        """The tasks listed just before the sync was started."""
        for task in self._mine(tasks):
            if task.is_final:
                self._old_final.add(task)
            elif task.start_time:
                self._old_running.add((*_mount(task), task.start_time))
            else:
                # Not started yet: once it starts, nothing tells it from this sync's task.
                self._old_unstarted = True

    def accepted(self, request_id: str, clock: PollClock) -> None:
        """The server accepted the sync at ``clock``."""
        self.request_id = request_id
        self._accepted_at = clock

    # -- while polling -----------------------------------------------------------

    @property
    def tasks(self) -> tuple[ContextStatusData, ...]:
        """The tasks this sync started, as last reported (mount order of first sighting)."""
        return tuple(task for listed in self._seen.values() for task in listed)

    def judge(self, info: ContextInfoResult, clock: PollClock) -> ContextSyncResult | None:
        """The sync's result once it is over, or None to poll again."""
        self.polls_since_accepted += 1
        if not info.success:
            self.failed_polls += 1
            self.last_failure = info
            self.last_error = info.error_message
            logger.debug(
                "poll %d/%d of sync %s failed: %s",
                clock.polls,
                self._policy.max_polls,
                self.request_id,
                info.error_message,
            )
            return None
        self.last_error = ""
        new: dict[_Mount, list[ContextStatusData]] = {}
        for task in self._mine(info.context_status_data):
            if self._is_old(task):
                continue
            new.setdefault(_mount(task), []).append(task)
        self._seen.update(new)
        tasks = self.tasks
        if any(not task.is_final for task in tasks):
            return None
        if not self._waited_long_enough(clock):
            return None
        failed = [task for task in tasks if task.status != SUCCESS]
        if failed:
            return ContextSyncResult(
                success=False,
                request_id=self.request_id,
                error_message="sync failed: " + "; ".join(map(_describe_failure, failed)),
                error_kind="task_failed",
                context_status_data=tasks,
            )
        return ContextSyncResult(
            success=True,
            request_id=self.request_id,
            http_status=info.http_status,
            context_status_data=tasks,
        )

    def progress(self, clock: PollClock) -> Progress:
        """What the polls have seen so far, for the operation's progress."""
        return Progress(tasks=self.tasks, polls=clock.polls, last_error=self.last_error)

    def give_up(self, clock: PollClock) -> ContextSyncResult:
        """The result when the polls or the deadline ran out."""
        tasks = self.tasks
        polls, waited = self.polls_since_accepted, clock.elapsed
        last = self.last_failure
        kind: ErrorKind = "timeout"
        code, status = "", None
        if polls and self.failed_polls == polls and last is not None:
            message = (
                f"could not learn how the sync went: all {polls} status polls failed "
                f"over {waited:.1f}s; last error: {self.last_error}"
            )
            kind, code, status = last.error_kind or "timeout", last.error_code, last.http_status
        else:
            running = [t for t in tasks if not t.is_final]
            if running:
                kind = "still_running"
                where = ", ".join(
                    f"{t.context_id} at {t.path} ({t.status or 'no status'})" for t in running
                )
                why = f"waiting for the sync to finish; still running on the server: {where}"
            elif tasks:
                why = "waiting for tasks of the sync listed late (the grace had not passed)"
            else:
                why = (
                    "waiting for the server to list the sync's task "
                    "(the grace had not passed): its outcome is unknown"
                )
            message = f"timed out after {waited:.1f}s ({polls} polls) {why}"
            if self.last_error:
                message += f"; the last poll failed: {self.last_error}"
        return ContextSyncResult(
            success=False,
            request_id=self.request_id,
            error_message=message,
            error_kind=kind,
            error_code=code,
            http_status=status,
            retryable=True,
            context_status_data=tasks,
        )

    # -- internals ---------------------------------------------------------------

    def _mine(self, tasks: Iterable[ContextStatusData]) -> Iterable[ContextStatusData]:
        """Tasks of this sync's direction and scope (whatever filters the server applied)."""
        for task in tasks:
            if task.task_type != self._direction:
                continue
            if self._context_id is not None and task.context_id != self._context_id:
                continue
            if self._path is not None and task.path != self._path:
                continue
            yield task

    def _is_old(self, task: ContextStatusData) -> bool:
        if task in self._old_final:
            return True
        return bool(task.start_time) and (*_mount(task), task.start_time) in self._old_running

    def _waited_long_enough(self, clock: PollClock) -> bool:
        """A sync of one mount whose task was seen needs no grace; others do, and
        so does one whose mount had a task listed unstarted before it (what was seen
        may be that task, with this sync's still to be listed)."""
        if self._context_id is not None and self._seen and not self._old_unstarted:
            return True
        assert self._accepted_at is not None
        waited = clock.elapsed - self._accepted_at.elapsed
        return (
            waited >= self._policy.grace and self.polls_since_accepted >= self._policy.grace_polls
        )


def _describe_failure(task: ContextStatusData) -> str:
    where = f"{task.context_id or '?'} at {task.path or '?'} ({task.task_type})"
    return f"{where}: {task.error_message or 'no error message'}"
