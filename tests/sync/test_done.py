"""What "done" means: a sync is judged only by the tasks it started, under every cloud
behaviour the emulator can show (registration lag, history, an ignored taskType), in
every calling style, with the callback called exactly once."""

from __future__ import annotations

import asyncio
import time

import attrs
import pytest
from support import CONTEXT_ID, MOUNT, CallbackRecorder, drain_background
from support.emulator import Api, client_for
from support.waiting import wait_until

from agb_context import ContextManager, ContextSyncResult, PollingPolicy
from agb_context.emulator import Emulator, TaskRecord
from agb_context.emulator.pytest_plugin import ContextManagerFactory

STYLES = ("awaited", "callback", "blocking")
FAST = PollingPolicy(interval=0.02, max_polls=1500, grace=1.0)
"""Fast polls, and a grace five times the longest lag used here (0.2 s): a loaded
machine that runs the emulator's timers late still lists a task within it (with
0.3 s, a late-listed failed task was once missed and the sync reported success)."""
LATENCY = 20.0
"""Of the slow server's answers: far beyond any timeout the tests set."""


@attrs.frozen
class Run:
    result: ContextSyncResult
    calls: tuple[bool, ...]
    ended: float
    """`time.monotonic` when the caller learned the outcome."""


def run(style: str, cm: ContextManager, **kwargs: object) -> Run:
    """One sync in one calling style, with a callback; the outcome and the callback's calls."""
    recorder = CallbackRecorder()
    if style == "awaited":

        async def main() -> ContextSyncResult:
            return await cm.sync(callback=recorder, **kwargs)  # type: ignore[arg-type]

        result = asyncio.run(main())
    else:
        operation = cm.sync(callback=recorder, **kwargs)  # type: ignore[arg-type]
        if style == "callback":
            recorder.wait()
            result = operation.result(timeout=0)
        else:
            result = operation.result(timeout=60)
    ended = time.monotonic()
    drain_background()
    return Run(result=result, calls=tuple(recorder.calls), ended=ended)


def _session(emu: Emulator, content: str) -> str:
    sid = emu.create_session(mounts={CONTEXT_ID: MOUNT})
    (emu.session_path(sid, MOUNT) / "f.txt").write_text(content)
    return sid


def _the_new_task(emu: Emulator, sid: str, before: int) -> TaskRecord:
    tasks = emu.tasks(sid)
    assert len(tasks) == before + 1, tasks
    return tasks[-1]


def _assert_success_after(run_: Run, task: TaskRecord) -> None:
    """Success, reported only after the sync's own task became final with Success."""
    assert run_.result.success, run_.result.error_message
    assert run_.calls == (True,)
    assert task.status == "Success"
    assert task.final_monotonic is not None
    assert task.final_monotonic <= run_.ended
    assert run_.result.context_status_data == (task.to_status_data(),)


@pytest.mark.parametrize("style", STYLES)
def test_a_task_listed_late_is_waited_for(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    agb_clean_emulator.behaviour.set(registration_lag=0.2)
    outcome = run(style, agb_context_manager(sid), context_id=CONTEXT_ID, path=MOUNT, polling=FAST)
    _assert_success_after(outcome, _the_new_task(agb_clean_emulator, sid, 0))
    assert (agb_clean_emulator.context_path(CONTEXT_ID) / "f.txt").read_text() == "v1"


@pytest.mark.parametrize("style", STYLES)
def test_a_task_listed_late_that_fails_fails_the_sync(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    agb_clean_emulator.behaviour.set(registration_lag=0.2)
    agb_clean_emulator.faults.fail_tasks("quota exceeded", count=1)
    outcome = run(style, agb_context_manager(sid), context_id=CONTEXT_ID, path=MOUNT, polling=FAST)
    assert not outcome.result.success
    assert outcome.calls == (False,)
    assert outcome.result.error_message == (
        f"sync failed: {CONTEXT_ID} at {MOUNT} (upload): quota exceeded"
    )
    task = _the_new_task(agb_clean_emulator, sid, 0)
    assert outcome.result.context_status_data == (task.to_status_data(),)


@pytest.mark.parametrize("style", STYLES)
def test_during_the_lag_the_previous_final_task_does_not_count(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    cm = agb_context_manager(sid)
    assert cm.sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=60).success
    (agb_clean_emulator.session_path(sid, MOUNT) / "f.txt").write_text("v2")
    agb_clean_emulator.behaviour.set(
        registration_lag=0.2
    )  # the first sync's task is listed meanwhile
    outcome = run(style, cm, context_id=CONTEXT_ID, path=MOUNT, polling=FAST)
    _assert_success_after(outcome, _the_new_task(agb_clean_emulator, sid, 1))
    assert (agb_clean_emulator.context_path(CONTEXT_ID) / "f.txt").read_text() == "v2"


@pytest.mark.parametrize("style", STYLES)
def test_an_earlier_failed_task_in_the_history_never_fails_a_later_sync(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    cm = agb_context_manager(sid)
    agb_clean_emulator.faults.fail_tasks("disk full", count=1)
    assert not cm.sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=60).success
    agb_clean_emulator.behaviour.set(history=5, registration_lag=0.1)
    outcome = run(style, cm, context_id=CONTEXT_ID, path=MOUNT, polling=FAST)
    _assert_success_after(outcome, _the_new_task(agb_clean_emulator, sid, 1))


@pytest.mark.parametrize("style", STYLES)
def test_with_history_a_new_task_that_fails_fails_the_sync(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    cm = agb_context_manager(sid)
    assert cm.sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=60).success
    agb_clean_emulator.behaviour.set(history=5, registration_lag=0.1)
    agb_clean_emulator.faults.fail_tasks("disk full", count=1)
    outcome = run(style, cm, context_id=CONTEXT_ID, path=MOUNT, polling=FAST)
    assert not outcome.result.success
    assert outcome.calls == (False,)
    assert outcome.result.error_message.endswith("(upload): disk full")
    assert [t.status for t in outcome.result.context_status_data] == ["Failed"]


@pytest.mark.parametrize("style", STYLES)
def test_a_download_ignores_the_last_upload_when_the_cloud_ignores_task_type(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "stored")
    cm = agb_context_manager(sid)
    assert cm.sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=60).success
    (agb_clean_emulator.session_path(sid, MOUNT) / "f.txt").write_text("changed in the session")
    agb_clean_emulator.behaviour.set(ignore_task_type=True, history=3, registration_lag=0.2)
    outcome = run(style, cm, context_id=CONTEXT_ID, path=MOUNT, mode="download", polling=FAST)
    task = _the_new_task(agb_clean_emulator, sid, 1)
    assert task.task_type == "download"
    _assert_success_after(outcome, task)
    assert (agb_clean_emulator.session_path(sid, MOUNT) / "f.txt").read_text() == "stored"


@pytest.mark.parametrize("style", STYLES)
def test_a_sync_of_every_mount_waits_for_the_grace(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = agb_clean_emulator.create_session(
        mounts={"ctx-one": "/home/one", "ctx-two": "/home/two"}
    )
    agb_clean_emulator.behaviour.set(registration_lag=0.1)
    started = time.monotonic()
    outcome = run(style, agb_context_manager(sid), polling=FAST)
    assert outcome.result.success, outcome.result.error_message
    assert outcome.calls == (True,)
    assert outcome.ended - started >= FAST.grace
    tasks = agb_clean_emulator.tasks(sid)
    assert all(t.final_monotonic is not None and t.final_monotonic <= outcome.ended for t in tasks)
    assert outcome.result.context_status_data == tuple(t.to_status_data() for t in tasks)
    assert [t.status for t in tasks] == ["Success", "Success"]


@pytest.mark.parametrize("style", STYLES)
def test_a_task_never_listed_is_nothing_to_sync_after_the_grace(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    # A lag far beyond the grace stands for a server that lists no task at all.
    sid = _session(agb_clean_emulator, "v1")
    agb_clean_emulator.behaviour.set(registration_lag=600)
    polls_before = sum(r.path == "/sdk/GetContextInfo" for r in agb_clean_emulator.requests)
    started = time.monotonic()
    outcome = run(style, agb_context_manager(sid), context_id=CONTEXT_ID, path=MOUNT, polling=FAST)
    assert outcome.result.success, outcome.result.error_message
    assert outcome.calls == (True,)
    assert outcome.result.context_status_data == ()
    assert outcome.ended - started >= FAST.grace
    polls = (
        sum(r.path == "/sdk/GetContextInfo" for r in agb_clean_emulator.requests) - polls_before
    )
    assert polls >= 1 + FAST.grace_polls


@pytest.mark.parametrize("style", STYLES)
def test_polls_that_run_out_before_the_grace_are_a_timeout_not_a_success(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, style: str
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    agb_clean_emulator.behaviour.set(registration_lag=600)
    outcome = run(
        style,
        agb_context_manager(sid),
        context_id=CONTEXT_ID,
        path=MOUNT,
        max_retries=2,
        retry_interval=10,
    )
    assert not outcome.result.success
    assert outcome.calls == (False,)
    assert outcome.result.error_message.endswith("its outcome is unknown")


def test_every_status_poll_filters_by_the_sync_direction(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    cm = agb_context_manager(sid)
    agb_clean_emulator.clear_requests()
    assert cm.sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=60).success
    assert cm.sync(CONTEXT_ID, MOUNT, mode="download", polling=FAST).result(timeout=60).success
    assert cm.sync(polling=FAST).result(timeout=60).success
    polls = [r for r in agb_clean_emulator.requests if r.path == "/sdk/GetContextInfo"]
    triggers = [r for r in agb_clean_emulator.requests if r.path == "/sdk/SyncContext"]
    assert [t.query.get("mode") for t in triggers] == [None, "download", None]
    assert len(polls) >= 6
    directions = [p.query["taskType"] for p in polls]
    assert set(directions) == {"upload", "download"}
    # polls of the download come between its trigger and the next sync's trigger
    download_at, last_at = triggers[1].monotonic, triggers[2].monotonic
    between = [p for p in polls if download_at < p.monotonic < last_at]
    assert between
    assert all(p.query["taskType"] == "download" for p in between[:-1])


def test_status_polls_are_never_retried_by_the_transport(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    agb_clean_emulator.faults.hang_tasks(count=None)
    agb_clean_emulator.faults.let_through("GetContextInfo")
    agb_clean_emulator.faults.fail_requests("GetContextInfo", 503, count=1000, retry_after=0)
    cm = agb_context_manager(sid)  # the default RetryPolicy would retry a 503 read twice
    result = cm.sync(CONTEXT_ID, MOUNT, max_retries=4, retry_interval=10).result(timeout=60)
    assert not result.success
    assert "all 4 status polls failed" in result.error_message
    assert sum(r.path == "/sdk/GetContextInfo" for r in agb_clean_emulator.requests) == 1 + 4


def test_the_overall_timeout_bounds_a_sync_against_a_slow_server(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    agb_clean_emulator.faults.let_through("GetContextInfo")
    agb_clean_emulator.faults.set_latency("GetContextInfo", LATENCY, count=None)
    cm = agb_context_manager(sid, timeout=1.0)
    started = time.monotonic()
    result = cm.sync(CONTEXT_ID, MOUNT, max_retries=3, retry_interval=100).result(timeout=60)
    polled = time.monotonic() - started
    assert not result.success
    # 3 polls of at most 1 s each, 0.1 s apart (the first read and the trigger are quick);
    # a poll that waited for its answer alone would take LATENCY
    assert polled < LATENCY, polled
    result = cm.sync(CONTEXT_ID, MOUNT, timeout=0.5).result(timeout=60)
    assert not result.success


def test_a_task_still_waiting_to_start_before_the_sync_is_not_taken_for_its_own(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    # An earlier sync's task waits, Pending and with no start time yet, for a
    # sync of the same context in another session. This sync's own task is
    # listed late and fails; the earlier task, started and finished well
    # meanwhile, is no sign that this sync went well.
    emu = agb_clean_emulator
    sid = _session(emu, "v1")
    other = emu.create_session(mounts={CONTEXT_ID: MOUNT})
    emu.set_task_delay(6, session_id=other)
    emu.set_task_delay(1, session_id=sid)
    with client_for(emu) as client:
        api = Api(client)
        assert api.sync(other, contextId=CONTEXT_ID, path=MOUNT).status_code == 200
        wait_until(lambda: emu.tasks(other)[0].status == "Running", 10, "the other sync runs")
        assert api.sync(sid, contextId=CONTEXT_ID, path=MOUNT).status_code == 200
    earlier = emu.tasks(sid)[0]
    emu.behaviour.set(registration_lag=8)
    emu.faults.fail_tasks("disk full", count=1)
    polling = PollingPolicy(interval=0.05, max_polls=100_000, grace=12)
    outcome = run(
        "blocking", agb_context_manager(sid), context_id=CONTEXT_ID, path=MOUNT, polling=polling
    )
    assert earlier.status == "Pending"
    assert not earlier.start_time
    assert not outcome.result.success
    assert outcome.calls == (False,)
    assert outcome.result.error_message == (
        f"sync failed: {CONTEXT_ID} at {MOUNT} (upload): disk full"
    )


def test_polls_whose_context_status_is_not_a_string_never_read_as_nothing_to_sync(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    sid = _session(agb_clean_emulator, "v1")
    # after the read before the start, every poll lists the tasks encoded once only
    agb_clean_emulator.faults.malformed_status(None, encoded_once=True, after=1)
    polling = PollingPolicy(interval=0.02, max_polls=60, grace=0.2)
    outcome = run(
        "blocking", agb_context_manager(sid), context_id=CONTEXT_ID, path=MOUNT, polling=polling
    )
    assert not outcome.result.success
    assert outcome.calls == (False,)
    assert outcome.result.error_kind == "unreadable_response"
    assert "contextStatus is not a string" in outcome.result.error_message
