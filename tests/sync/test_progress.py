"""Progress you can watch: what a sync's own polls see, in every calling style."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from support import CONTEXT_ID, MOUNT, drain_background

from agb_context import PollingPolicy, Progress, SyncOperation
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

FAST = PollingPolicy(interval=0.02, max_polls=1000, grace=0.1)


def test_status_goes_from_starting_to_running_to_succeeded(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    agb_clean_emulator.faults.let_through("GetContextInfo")  # the read before the start
    agb_clean_emulator.faults.set_latency("SyncContext", 0.3)
    operation = agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT, polling=FAST)
    assert operation.status() == "starting"
    assert operation.progress.status == "starting"
    assert operation.result(timeout=30).success
    assert operation.status() == "succeeded"
    final = operation.progress
    assert final.done
    assert final.polls >= 1
    assert [t.status for t in final.tasks] == ["Success"]
    assert final.last_error == ""


def test_progress_callbacks_see_each_change_and_never_come_after_the_end(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=1)
    events: list[str] = []
    lock = threading.Lock()
    cm = agb_context_manager(session_id)
    operation = cm.sync(CONTEXT_ID, MOUNT, polling=FAST)

    def on_progress(progress: Progress) -> None:
        with lock:
            events.append(f"progress:{progress.status}")
        if any(t.status == "Running" for t in progress.tasks):
            operation.cancel()  # from inside a progress callback: nothing follows the end

    def on_done(_: SyncOperation) -> None:
        with lock:
            events.append("done")

    operation.add_progress_callback(on_progress)
    operation.add_done_callback(on_done)
    assert operation.wait(30)
    drain_background()
    assert operation.status() == "cancelled"
    assert events.count("done") == 1
    assert events[-1] == "done"
    assert all(e == "progress:running" for e in events[:-1])
    assert events[:-1]


def test_a_raising_progress_callback_is_logged_and_changes_nothing(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(progress: Progress) -> None:
        raise RuntimeError("broken progress callback")

    operation = agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT, polling=FAST)
    operation.add_progress_callback(broken)
    with caplog.at_level(logging.ERROR, logger="agb_context"):
        assert operation.result(timeout=30).success
        drain_background()
    assert any("progress callback" in r.getMessage() for r in caplog.records)
    with pytest.raises(TypeError):
        operation.add_progress_callback("not callable")  # type: ignore[arg-type]


def test_watch_yields_each_change_and_ends_when_the_sync_fails(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    agb_clean_emulator.faults.fail_tasks("disk full", count=1)
    cm = agb_context_manager(session_id)

    async def main() -> tuple[list[Progress], bool]:
        operation = cm.sync(CONTEXT_ID, MOUNT, polling=FAST)
        seen = [progress async for progress in operation.watch()]
        return seen, (await operation).success

    seen, success = asyncio.run(main())
    assert not success
    assert seen[-1].status == "failed"
    assert seen[-1].done
    assert [t.status for t in seen[-1].tasks] == ["Failed"]
    assert all(not p.done for p in seen[:-1])


def test_watch_ends_when_the_sync_is_cancelled_and_sends_no_request_of_its_own(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=1)
    cm = agb_context_manager(session_id)

    async def main() -> list[Progress]:
        operation = cm.sync(CONTEXT_ID, MOUNT, polling=FAST)
        seen: list[Progress] = []
        async for progress in operation.watch():
            seen.append(progress)
            if any(t.status == "Running" for t in progress.tasks):
                operation.cancel()
        return seen

    seen = asyncio.run(main())
    assert seen[-1].status == "cancelled"
    polls = [r for r in agb_clean_emulator.requests if r.path == "/sdk/GetContextInfo"]
    # the read before the start, then the sync's own polls, one per poll counted
    assert len(polls) <= 1 + seen[-1].polls + 1


def test_a_watch_started_after_the_end_yields_the_final_snapshot(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    operation = agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT, polling=FAST)
    assert operation.result(timeout=30).success

    async def main() -> list[Progress]:
        return [progress async for progress in operation.watch()]

    (only,) = asyncio.run(main())
    assert only.status == "succeeded"
