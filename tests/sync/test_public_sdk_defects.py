"""Six defects of the AGB SDK's `ContextManager` (``agbcloud-sdk``), one test each, absent here.

1. ``sync()`` is a coroutine function: ``sync(callback=fn)`` from plain code
   sends no request and never calls ``fn``.
2. A sync that finishes on the last allowed poll calls back twice (``True``,
   then ``False``).
3. A poll that fails (HTTP 500, ``success=false``, a network error) reads as
   "no tasks", reported as success.
4. ``max_retries=0`` with a callback raises in a background thread, and the
   callback is never called.
5. Awaited syncs call a blocking HTTP client: concurrent ones run one after
   another and block the event loop.
6. The polling loop is written twice (thread and async versions).
"""

from __future__ import annotations

import asyncio

import pytest
from support import CONTEXT_ID, MOUNT, CallbackRecorder, drain_background, wait_until
from support.network import ServerLoop

from agb_context import ContextManager, ContextSyncResult, SyncOperation, _operation
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory


def _requests(emu: Emulator, path: str) -> int:
    return sum(1 for r in emu.requests if r.path == path)


def test_1_callback_from_plain_code_sends_the_request_and_calls_back(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    operation = cm.sync(callback=callback, retry_interval=20)
    assert callback.wait() == [True]
    assert operation.result(timeout=5).success
    assert _requests(agb_clean_emulator, "/sdk/SyncContext") == 1
    assert _requests(agb_clean_emulator, "/sdk/GetContextInfo") >= 1


def test_2_finishing_on_the_last_allowed_poll_calls_back_once_with_true(
    agb_context_manager: ContextManagerFactory, callback: CallbackRecorder
) -> None:
    # Tasks take 0.4 s; polls come at about 0 s and 1.0 s: the second and
    # last allowed poll is the first to see the task final.
    with Emulator(task_delay=0.4) as slow:
        sid = slow.create_session(mounts={CONTEXT_ID: MOUNT})
        cm = agb_context_manager(sid, api_key=slow.api_key, endpoint=slow.endpoint)
        operation = cm.sync(
            CONTEXT_ID, MOUNT, callback=callback, max_retries=2, retry_interval=1000
        )
        result = operation.result(timeout=30)
        drain_background()
        # the first read is the one a sync makes before it starts
        polls = _requests(slow, "/sdk/GetContextInfo") - 1
        cm.close()
    assert polls == 2, "the sync did not finish on the last allowed poll"
    assert result.success, result.error_message
    assert callback.calls == [True]


@pytest.mark.parametrize("fault", ["http_500", "success_false", "dropped_connection"])
def test_3_failed_polls_are_never_read_as_success(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder, fault: str
) -> None:
    agb_clean_emulator.faults.let_through("GetContextInfo")  # the read before the sync starts
    if fault == "http_500":
        agb_clean_emulator.faults.fail_requests("GetContextInfo", status=500, count=1000)
    elif fault == "success_false":
        agb_clean_emulator.faults.respond_success_false("GetContextInfo", count=1000)
    else:
        agb_clean_emulator.faults.drop_connections("GetContextInfo", count=1000)
    operation = cm.sync(CONTEXT_ID, MOUNT, callback=callback, max_retries=3, retry_interval=10)
    result = operation.result(timeout=60)
    assert not result.success
    assert "all 3 status polls failed" in result.error_message
    assert callback.wait() == [False]


def test_4_max_retries_zero_with_a_callback_calls_back_false(
    agb_clean_emulator: Emulator, cm: ContextManager, callback: CallbackRecorder
) -> None:
    operation = cm.sync(callback=callback, max_retries=0)
    assert callback.calls == [False]
    result = operation.result(timeout=0)
    assert not result.success
    assert "max_retries" in result.error_message
    assert agb_clean_emulator.requests == []


def test_5_concurrent_awaited_syncs_overlap_and_never_block_the_loop(
    agb_clean_emulator: Emulator, session_id: str, cm: ContextManager
) -> None:
    n = 50
    # No sync can end: were they run one after another, only the first would start.
    agb_clean_emulator.faults.hang_tasks(count=None)
    loop = ServerLoop()  # the syncs' event loop, in a thread, so that this one can watch it
    try:

        async def start() -> list[SyncOperation]:
            return [cm.sync(CONTEXT_ID, MOUNT, retry_interval=50) for _ in range(n)]

        syncs = loop.run(start())
        wait_until(
            lambda: len(agb_clean_emulator.tasks(session_id)) == n,
            60,
            f"{n} syncs in flight at once",
        )
        # While they all poll, their loop still turns (a blocking client would hold it
        # for good here): it runs what another thread hands it.
        assert loop.run(asyncio.sleep(0, result="ran")) == "ran"
        assert not any(operation.done() for operation in syncs)

        async def cancel() -> None:
            for operation in syncs:
                operation.cancel()
            await asyncio.gather(*syncs, return_exceptions=True)
            await cm.aclose()

        loop.run(cancel())
        assert all(operation.cancelled() for operation in syncs)
    finally:
        loop.close()


def test_6_one_polling_routine_serves_every_calling_style(
    agb_clean_emulator: Emulator,
    cm: ContextManager,
    callback: CallbackRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    original = _operation.poll_until

    async def counting(*args: object, **kwargs: object) -> ContextSyncResult:
        calls.append("poll")
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_operation, "poll_until", counting)

    async def awaited() -> ContextSyncResult:
        return await cm.sync(CONTEXT_ID, MOUNT, retry_interval=20)

    assert asyncio.run(awaited()).success
    assert cm.sync(CONTEXT_ID, MOUNT, retry_interval=20).result(timeout=30).success
    cm.sync(CONTEXT_ID, MOUNT, callback=callback, retry_interval=20)
    assert callback.wait() == [True]
    assert calls == ["poll"] * 3
