"""Syncs whose event loop pauses or ends before they finish: they end, or fail at once,
never wait forever.

The checks of what asyncio prints when a loop ends run in fresh interpreters: a
task another test left behind must not be counted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading

import pytest
from support import CallbackRecorder, run_python

from agb_context import ContextManager, ContextSyncResult, SyncOperation
from agb_context.emulator import Emulator

STARTED_WHILE_ASYNCIO_RUN_ENDS = """
import asyncio, json, logging, sys
from agb_context import ContextManager

session, endpoint, key, kind = sys.argv[1:5]
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
cm = ContextManager(session, api_key=key, endpoint=endpoint)
calls = []
second = []


def third_done(ok):
    calls.append(["third", ok])


def second_done(ok):
    calls.append(["second", ok])
    try:
        cm.sync(retry_interval=20, callback=third_done)
    except RuntimeError as exc:
        calls.append(["third refused", str(exc)])


def first_done(ok):
    # Called as asyncio.run cancels the tasks left: a retry starts another sync.
    calls.append(["first", ok])
    second.append(cm.sync(retry_interval=20, callback=second_done))


async def main():
    first = cm.sync(retry_interval=20, max_retries=100_000, callback=first_done)
    while first.request_id is None:
        await asyncio.sleep(0.01)


if kind == "uvloop":
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
else:
    asyncio.run(main())
print(json.dumps({"calls": calls, "second": second[0].status()}), flush=True)
cm.close()
import gc

gc.collect()
print(json.dumps({"calls": calls}), flush=True)
"""


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_a_sync_started_as_asyncio_run_ends_is_cancelled_before_it_returns(
    agb_clean_emulator: Emulator, session_id: str, kind: str
) -> None:
    """A done-callback called as ``asyncio.run`` cancels the tasks left starts another
    sync: that one ends cancelled, its callback called once, before ``asyncio.run``
    returns, with a WARNING saying why; one started after that is refused at once."""
    if kind == "uvloop":
        pytest.importorskip("uvloop")
    agb_clean_emulator.faults.hang_tasks(count=None, session_id=session_id)
    done = run_python(
        "-c",
        STARTED_WHILE_ASYNCIO_RUN_ENDS,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
        kind,
    )
    assert done.returncode == 0, done.stderr
    at_return, at_exit = (json.loads(line) for line in done.stdout.splitlines())
    refused = "this event loop is shutting down"
    assert at_return["second"] == "cancelled"
    assert at_return["calls"][:2] == [["first", False], ["second", False]]
    [[what, message]] = at_return["calls"][2:]
    assert what == "third refused"
    assert message.startswith(refused)
    assert at_exit["calls"] == at_return["calls"], "a callback was called after asyncio.run"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, done.stderr
    assert "<SyncOperation" in warnings[0]
    assert "the event loop it ran on shut down before it finished" in warnings[0]
    assert "Task was destroyed" not in done.stderr
    assert "never awaited" not in done.stderr
    assert "ERROR" not in done.stderr


async def _started(cm: ContextManager, callback: CallbackRecorder | None = None) -> SyncOperation:
    return cm.sync(retry_interval=20, max_retries=100_000, callback=callback)


async def _awaited(operation: SyncOperation) -> ContextSyncResult:
    return await operation


def test_result_on_the_thread_of_a_paused_runner_refuses_to_wait_forever(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    with asyncio.Runner() as runner:
        operation = runner.run(_started(cm))
        # Only this thread runs that loop, and it would be waiting here.
        with pytest.raises(RuntimeError, match="not running, and this thread is the one"):
            operation.result(timeout=30)
        with pytest.raises(RuntimeError, match=r"asyncio\.Runner"):
            operation.wait(timeout=30)
        with pytest.raises(TimeoutError):  # asking, without waiting, is no deadlock
            operation.result(timeout=0)
        assert not operation.wait(timeout=0)
        assert operation.running()
        result = runner.run(_awaited(operation))
        runner.run(cm.aclose())
    assert result.success, result.error_message


def test_result_from_another_thread_waits_for_the_runners_next_run_or_its_close(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    """What ``result()`` from another thread does while the loop of the sync pauses: it
    waits, and the runner's close (which cancels the sync) ends the wait."""
    outcome: concurrent.futures.Future[object] = concurrent.futures.Future()

    def wait_in_a_thread(operation: SyncOperation) -> None:
        try:
            outcome.set_result(operation.result(timeout=60))
        except BaseException as exc:
            outcome.set_result(exc)

    with asyncio.Runner() as runner:
        finished = runner.run(_started(cm))
        waiter = threading.Thread(target=wait_in_a_thread, args=(finished,))
        waiter.start()
        assert runner.run(_awaited(finished)).success
        waiter.join(60)
        assert isinstance(outcome.result(0), ContextSyncResult)

        outcome = concurrent.futures.Future()
        agb_clean_emulator.faults.hang_tasks(count=None)
        closed = runner.run(_started(cm, callback))
        waiter = threading.Thread(target=wait_in_a_thread, args=(closed,))
        waiter.start()
    waiter.join(60)
    assert isinstance(outcome.result(0), concurrent.futures.CancelledError)
    assert callback.calls == [False]


CLOSED_UNDER_IT = """
import asyncio, concurrent.futures, logging, sys
from agb_context import ContextManager

session, endpoint, key, style = sys.argv[1:5]
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
calls = []


async def awaited(operation):
    return await asyncio.wait_for(operation, 60)

with ContextManager(session, api_key=key, endpoint=endpoint) as cm:

    async def start():
        return cm.sync(retry_interval=20, callback=calls.append)

    loop = asyncio.new_event_loop()
    operation = loop.run_until_complete(start())
    loop.close()  # neither its tasks cancelled nor its generators shut down
    try:
        if style == "await":  # from another loop
            asyncio.run(awaited(operation))
        else:
            operation.result(timeout=60)
    except (concurrent.futures.CancelledError, asyncio.CancelledError):
        print("cancelled", calls, flush=True)
    except TimeoutError:
        print("still waiting", calls, flush=True)
"""


@pytest.mark.parametrize("style", ["result", "await"])
def test_waiting_for_a_sync_whose_loop_was_closed_under_it_cancels_it(
    agb_clean_emulator: Emulator, session_id: str, style: str
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None, session_id=session_id)
    done = run_python(
        "-c",
        CLOSED_UNDER_IT,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
        style,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "cancelled [False]"
    assert "the event loop it ran on was closed before it finished" in done.stderr


LOOPS_LET_GO = """
import asyncio, gc, sys, weakref
from agb_context import ContextManager

session, endpoint, key, syncs = sys.argv[1:5]
with ContextManager(session, api_key=key, endpoint=endpoint) as cm:

    async def synced():
        return await asyncio.gather(*(cm.sync(retry_interval=20) for _ in range(int(syncs))))

    kept = []
    for _ in range(2):  # the first loop waits for the first asyncio call's imports
        with asyncio.Runner() as runner:
            assert all(result.success for result in runner.run(synced()))
            loop = weakref.ref(runner.get_loop())
        gc.collect()
        kept.append(loop() is not None)
print(kept)
"""


@pytest.mark.parametrize("syncs", [1, 100])
def test_nothing_of_the_sdk_keeps_a_loop_whose_syncs_are_over(
    agb_clean_emulator: Emulator, session_id: str, syncs: int
) -> None:
    """A program that runs ``asyncio.run`` again and again holds no loop per run, even
    one whose requests had to wait for room (more than ``max_in_flight`` at once)."""
    done = run_python(
        "-c",
        LOOPS_LET_GO,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
        str(syncs),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[False, False]"
