"""Running sync tasks: Pending -> Running -> Success or Failed, in the background.

A task is ``Pending`` for the first half of the task delay and while it waits
for another sync of the same context to finish (syncs of one context never
overlap), ``Running`` while its files are copied, and becomes final no sooner
than the task delay after it was created. Copies run on a few worker threads
so that the event loop keeps answering requests meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from agb_context._types import SyncMode
from agb_context.emulator._copy import (
    CopyCancelled,
    CopyFailed,
    CopyStats,
    count_files,
    replace_tree,
)
from agb_context.emulator._faults import Faults, TaskPlan
from agb_context.emulator._speeds import TaskSpeeds
from agb_context.emulator._store import Mount, Session, Store, Task, epoch_ms
from agb_context.emulator._validation import NotFound

logger = logging.getLogger("agb_context.emulator")

COPY_THREADS = 4


class TaskRunner:
    """Starts and runs the sync tasks of every session, on the running event loop."""

    def __init__(self, store: Store, faults: Faults, speeds: TaskSpeeds) -> None:
        self._store = store
        self._faults = faults
        self._speeds = speeds
        self._cancel = threading.Event()
        self._executor = _copy_executor()
        self._locks: dict[str, asyncio.Lock] = {}
        self._running: set[asyncio.Task[None]] = set()

    def submit(
        self,
        session: Session,
        mounts: Iterable[Mount],
        task_type: SyncMode,
        registration_lag: float = 0.0,
    ) -> list[Task]:
        """Create one ``Pending`` task per mount and start running them.

        The tasks are listed by ``GetContextInfo`` only ``registration_lag``
        seconds from now.
        """
        created = []
        listed_from = time.monotonic() + registration_lag if registration_lag else 0.0
        for mount in mounts:
            plan = self._faults._plan_task(session.id, mount.context_id, mount.path)
            task = self._store.add_task(session, mount, task_type, listed_from)
            self._spawn(session, task, plan)
            created.append(task)
        return created

    def resume(self) -> None:
        """Run again the tasks left unfinished when the emulator last stopped."""
        for session, task in self._store.unfinished():
            logger.info("running again: %s", task.label)
            self._store.update_task(session, task, "Pending", start_time=0)
            self._spawn(session, task, TaskPlan())

    async def aclose(self) -> None:
        """Stop every task and copy; targets of interrupted copies keep their content.

        Interrupted tasks stay unfinished in the data folder, to be run again
        by `resume` on the next start.
        """
        self._cancel.set()
        for running in self._running:
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def reset(self) -> None:
        """Stop every task and copy, as `aclose` does, and be ready for new ones.

        Copies stop between two files (each target keeps its previous content);
        this returns once no copy runs any more.
        """
        cancel, executor = self._cancel, self._executor
        cancel.set()
        for running in list(self._running):
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._cancel, self._executor = threading.Event(), _copy_executor()
        self._locks.clear()
        await asyncio.to_thread(executor.shutdown, wait=True)

    @property
    def task_delay(self) -> float:
        """The least time, in seconds, a task of no session in particular takes."""
        return self._speeds.snapshot()[0]

    def context_lock(self, context_id: str) -> asyncio.Lock:
        """The lock held while a task of this context runs: work on one context never overlaps."""
        return self._locks.setdefault(context_id, asyncio.Lock())

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the running loop; `aclose` and `reset` cancel it if it still runs."""
        running = asyncio.get_running_loop().create_task(work)
        self._running.add(running)
        running.add_done_callback(self._running.discard)

    def _spawn(self, session: Session, task: Task, plan: TaskPlan) -> None:
        self.spawn(self._run(session, task, plan))

    async def _run(self, session: Session, task: Task, plan: TaskPlan) -> None:
        loop = asyncio.get_running_loop()
        delay = self._speeds.delay_for(session.id)
        not_before = loop.time() + delay
        await asyncio.sleep(delay / 2)
        if plan.hang:
            self._start(session, task)
            await loop.create_future()
        if plan.fail_message is not None:
            self._start(session, task)
            await _sleep_until(not_before)
            self._finish(session, task, plan.fail_message)
            return
        # the lock is held until the task is final: syncs of one context never overlap
        async with self.context_lock(task.state.context_id):
            self._start(session, task)
            try:
                error = await self._copy(session, task, plan.fail_copy_midway)
            except CopyCancelled:
                return  # the emulator is stopping: the task stays unfinished, to be run again
            except Exception as exc:
                logger.exception("%s broke", task.label)
                error = f"the emulator failed to run the task: {exc!r}"
            await _sleep_until(not_before)
            self._finish(session, task, error)

    def _finish(self, session: Session, task: Task, error: str | None) -> None:
        self._store.update_task(
            session,
            task,
            "Success" if error is None else "Failed",
            finish_time=epoch_ms(),
            error_message=error or "",
        )
        outcome = task.state.status + (f" ({error})" if error else "")
        logger.info("%s: %s", task.label, outcome)

    def _start(self, session: Session, task: Task) -> None:
        self._store.update_task(session, task, "Running", start_time=epoch_ms())

    async def _copy(self, session: Session, task: Task, fail_midway: bool) -> str | None:
        """Copy the files of one task; the error message, or None on success."""
        what = task.label
        try:
            mount = session.mount(task.state.context_id, task.state.path)
        except NotFound as exc:
            return f"{what} failed: {exc}"
        if not self._store.context_records.touch(task.state.context_id):
            return (
                f"{what} failed: context {task.state.context_id} was deleted; "
                "the session keeps its files, the context store has nothing for them"
            )
        stored = self._store.context_path(task.state.context_id)
        if task.state.task_type == "upload":
            source, target = mount.folder, stored
        else:
            if not stored.is_dir():
                return (
                    f"{what} failed: context {task.state.context_id} has no stored content yet; "
                    "upload to it before downloading"
                )
            source, target = stored, mount.folder
        copy = functools.partial(_copy_blocking, source, target, fail_midway, self._cancel)
        try:
            stats = await asyncio.get_running_loop().run_in_executor(self._executor, copy)
        except CopyFailed as exc:
            return f"{what} failed: {exc}"
        except OSError as exc:
            return f"{what} failed: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        if stats.skipped:
            logger.info("%s: skipped links and special files: %s", what, ", ".join(stats.skipped))
        return None


def _copy_blocking(
    source: Path, target: Path, fail_midway: bool, cancel: threading.Event
) -> CopyStats:
    fail_after = None
    if fail_midway:
        fail_after = max(1, count_files(source) // 2) if source.is_dir() else 1
    return replace_tree(source, target, cancel=cancel, fail_after_files=fail_after)


def _copy_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(COPY_THREADS, thread_name_prefix="agb-emulator-copy")


async def _sleep_until(deadline: float) -> None:
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining > 0:
        await asyncio.sleep(remaining)
