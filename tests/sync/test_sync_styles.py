"""sync() in each calling style, against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import sys
import threading
import time

import pytest
from support import (
    CONTEXT_ID,
    MOUNT,
    CallbackRecorder,
    drain_background,
    sdk_threads,
    wait_until,
    wait_until_async,
)

from agb_context import ContextManager, ContextSyncResult, SyncOperation
from agb_context._background import THREAD_NAME, background_loop
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory


def test_awaited_sync_returns_the_final_result(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    async def main() -> ContextSyncResult:
        return await cm.sync(CONTEXT_ID, MOUNT, retry_interval=20)

    result = asyncio.run(main())
    assert result.success, result.error_message
    assert result.request_id
    assert [t.status for t in result.context_status_data] == ["Success"]


def test_blocking_sync_from_plain_code(agb_clean_emulator: Emulator, cm: ContextManager) -> None:
    operation = cm.sync(CONTEXT_ID, MOUNT, retry_interval=20)
    result = operation.result(timeout=30)
    assert result.success, result.error_message
    assert operation.done()
    assert not operation.running()
    assert operation.request_id == result.request_id
    posts = [r for r in agb_clean_emulator.requests if r.path == "/sdk/SyncContext"]
    assert len(posts) == 1
    assert posts[0].query["contextId"] == CONTEXT_ID


def test_callback_from_plain_code_returns_at_once_then_calls_back_once(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None)
    operation = cm.sync(callback=callback, retry_interval=20, max_retries=1000)
    assert not operation.done(), "sync(callback=...) waited for the outcome"
    wait_until(lambda: operation.request_id, what="the handle to get the request id")
    assert callback.calls == []
    assert operation.cancel()
    assert callback.wait() == [False]
    drain_background()
    assert callback.calls == [False]
    assert callback.threads == [threading.current_thread().name]  # the cancelling thread


def test_callback_gets_the_real_outcome_on_the_background_thread(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    operation = cm.sync(CONTEXT_ID, MOUNT, callback=callback, retry_interval=20)
    assert callback.wait() == [True]
    assert operation.result(timeout=5).success
    drain_background()
    assert callback.calls == [True]
    assert callback.threads == [THREAD_NAME]


def test_rejected_trigger_calls_back_false(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    callback: CallbackRecorder,
) -> None:
    cm = agb_context_manager("unknown-session")
    operation = cm.sync(callback=callback)
    assert callback.wait() == [False]
    result = operation.result(timeout=5)
    assert "not started" in result.error_message
    assert "HTTP 404" in result.error_message
    assert operation.request_id is None


def test_timeout_says_how_long_was_waited(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None)
    operation = cm.sync(callback=callback, max_retries=3, retry_interval=10)
    result = operation.result(timeout=30)
    assert not result.success
    assert "timed out after" in result.error_message
    assert "3 polls" in result.error_message
    assert [t.status for t in result.context_status_data] in (["Running"], ["Pending"])
    assert callback.wait() == [False]


def test_result_timeout_raises_and_leaves_the_sync_running(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None)
    operation = cm.sync(retry_interval=20, max_retries=1000)
    with pytest.raises(TimeoutError, match="still running"):
        operation.result(timeout=0.05)
    assert operation.running()
    assert not operation.wait(timeout=0.01)
    operation.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        operation.result()
    assert operation.cancelled()


@pytest.mark.parametrize("forever", [math.inf, 1e300])
def test_a_timeout_too_long_for_a_thread_to_wait_means_no_bound(
    agb_clean_emulator: Emulator, cm: ContextManager, forever: float
) -> None:
    """``result(math.inf)`` waits as ``result(None)`` does, not `OverflowError`."""
    operation = cm.sync(retry_interval=20)
    assert operation.result(timeout=forever).success
    assert operation.wait(timeout=forever)


def test_callback_inside_a_running_loop_runs_on_that_loop(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    async def main() -> tuple[str, ContextSyncResult]:
        operation = cm.sync(CONTEXT_ID, MOUNT, callback=callback, retry_interval=20)
        assert not operation.done()
        result = await operation
        await asyncio.sleep(0)  # one loop step: the done-callbacks scheduled at the end run
        await cm.aclose()
        return threading.current_thread().name, result

    thread, result = asyncio.run(main())
    assert result.success
    assert callback.calls == [True]
    assert callback.threads == [thread]


def test_result_on_the_loop_running_the_sync_refuses_to_deadlock(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    async def main() -> None:
        operation = cm.sync(retry_interval=20)
        with pytest.raises(RuntimeError, match="await"):
            operation.result()
        with pytest.raises(TimeoutError):  # asking, without waiting, is no deadlock
            operation.result(timeout=0)
        assert not operation.wait(timeout=0)
        assert (await operation).success
        await cm.aclose()

    asyncio.run(main())


def test_blocking_calls_in_a_callback_finish_or_refuse_at_once(
    agb_clean_emulator: Emulator, cm: ContextManager, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback from plain code runs on the SDK's loop thread: info() there finishes,
    and waiting there for a sync that runs on that loop is refused, never a hang."""
    seen: dict[str, object] = {}
    calls: list[bool] = []
    started: list[SyncOperation] = []

    def on_done(success: bool) -> None:
        calls.append(success)
        seen["thread"] = threading.current_thread().name
        seen["info"] = cm.info().success
        started.append(cm.sync(retry_interval=20))
        started[0].result(timeout=30)  # raises: the callback's loop runs that sync

    first = cm.sync(callback=on_done, retry_interval=20)
    assert first.result(timeout=30).success
    drain_background()
    assert calls == [True]
    assert seen == {"thread": THREAD_NAME, "info": True}
    [refusal] = [r.exc_info[1] for r in caplog.records if r.name == "agb_context" and r.exc_info]
    assert isinstance(refusal, RuntimeError)
    assert "callback" in str(refusal)
    assert "another thread" in str(refusal)
    assert started[0].result(timeout=30).success, "the sync started in the callback went on"


def test_cancelling_an_awaiting_task_stops_the_polling(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None)

    def polls() -> int:
        return sum(r.path == "/sdk/GetContextInfo" for r in agb_clean_emulator.requests)

    async def main() -> SyncOperation:
        operation = cm.sync(retry_interval=10, max_retries=10_000)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(_awaited(operation)), timeout=0.2)
        waiter = asyncio.ensure_future(_awaited(operation))
        seen = polls()
        await wait_until_async(lambda: polls() > seen, what="a poll while the task awaits")
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await cm.aclose()
        return operation

    operation = asyncio.run(main())
    assert operation.cancelled()
    # A poll sent before the cancellation may still be answered: count once it is.
    assert agb_clean_emulator.wait_idle()
    after_cancel = polls()
    # Polling every 10 ms would send about 20 polls in this window: none may come.
    time.sleep(0.2)
    assert agb_clean_emulator.wait_idle()
    assert polls() == after_cancel, "polling went on after cancellation"


def test_a_wait_for_timeout_cancels_the_sync_and_a_shield_keeps_it_running(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    """What the README says of awaiting with a timeout, on the sync's own loop and another."""
    agb_clean_emulator.faults.hang_tasks(count=None)
    from_plain_code = cm.sync(retry_interval=20, max_retries=10_000)

    async def main() -> None:
        for waited in (cm.sync(retry_interval=20, max_retries=10_000), from_plain_code):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(waited, 0.1)
            assert waited.cancelled()
        shielded = cm.sync(retry_interval=20, max_retries=10_000)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(shielded), 0.1)
        assert shielded.running()
        assert shielded.cancel()
        await cm.aclose()

    asyncio.run(main())


async def _awaited(operation: SyncOperation) -> ContextSyncResult:
    return await operation


def test_done_callbacks_run_once_even_when_added_late(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    operation = cm.sync(retry_interval=20)
    operation.result(timeout=30)
    seen: list[SyncOperation] = []
    operation.add_done_callback(seen.append)
    assert seen == [operation]


def test_a_raising_callback_is_logged_and_harms_nothing(
    agb_clean_emulator: Emulator, cm: ContextManager, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(success: bool) -> None:
        raise ValueError("callback bug")

    after: list[bool] = []
    operation = cm.sync(callback=broken, retry_interval=20)
    operation.add_done_callback(lambda op: after.append(op.succeeded()))
    assert operation.result(timeout=30).success
    drain_background()
    assert after == [True]
    logged = [r for r in caplog.records if r.name == "agb_context" and r.exc_info]
    assert any("callback bug" in str(r.exc_info[1]) for r in logged if r.exc_info)
    assert cm.sync(retry_interval=20).result(timeout=30).success


@pytest.mark.parametrize("kind", ["done", "progress"])
def test_a_callback_calling_sys_exit_does_not_strand_the_other_syncs(
    agb_clean_emulator: Emulator,
    cm: ContextManager,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """On the SDK's background thread, ``sys.exit()`` would end that thread alone, silently,
    and every other sync running there would never finish: it is logged instead."""
    agb_clean_emulator.faults.hang_tasks(count=None)
    other = cm.sync(CONTEXT_ID, MOUNT, retry_interval=20, max_retries=10_000)
    wait_until(lambda: other.request_id, what="the first sync to be accepted")
    exited = threading.Event()

    def exits(_: object) -> None:
        exited.set()
        sys.exit("callback wants out")

    exiting = cm.sync(CONTEXT_ID, MOUNT, retry_interval=20, max_retries=2)
    if kind == "done":
        exiting.add_done_callback(exits)
    else:
        exiting.add_progress_callback(exits)
    assert exited.wait(30)
    polls = other.progress.polls
    wait_until(lambda: other.progress.polls > polls, 30, "the other sync to poll again")
    assert other.running()
    assert other.cancel()
    logged = [r for r in caplog.records if r.name == "agb_context" and r.exc_info]
    assert any(isinstance(r.exc_info[1], SystemExit) for r in logged if r.exc_info)


SYNCS = 50
"""Callback syncs at once: a thread each would show as 50 more threads."""


def test_many_callback_syncs_share_one_background_thread(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    background_loop()
    baseline = len(sdk_threads())
    done = threading.Semaphore(0)
    results: list[bool] = []
    peak = baseline
    for _ in range(SYNCS):
        cm.sync(callback=lambda ok: (results.append(ok), done.release()), retry_interval=20)
        peak = max(peak, len(sdk_threads()))
    for _ in range(SYNCS):
        assert done.acquire(timeout=60)
        peak = max(peak, len(sdk_threads()))
    assert results == [True] * SYNCS
    assert peak - baseline <= 1, f"{peak - baseline} threads added"


def test_a_hundred_awaited_syncs_run_concurrently(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    async def main() -> list[ContextSyncResult]:
        results = await asyncio.gather(*(cm.sync(retry_interval=20) for _ in range(100)))
        await cm.aclose()
        return results

    results = asyncio.run(main())
    assert all(r.success for r in results), [r.error_message for r in results if not r.success]
    assert len({r.request_id for r in results}) == 100
