"""ContextManager.info against the emulator: decoding, filters and every failure as a result."""

from __future__ import annotations

import asyncio

from support import CONTEXT_ID, MOUNT

from agb_context import ContextManager, ContextStatusData
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory


def test_no_tasks_is_success_with_no_items(cm: ContextManager) -> None:
    result = cm.info()
    assert result.success, result.error_message
    assert result.context_status_data == ()
    assert result.request_id
    assert result.error_message == ""


def test_reports_the_tasks_of_a_finished_sync(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    assert cm.sync(CONTEXT_ID, MOUNT, retry_interval=20).result(timeout=30).success
    result = cm.info(context_id=CONTEXT_ID, path=MOUNT)
    assert result.success
    (task,) = result.context_status_data
    assert isinstance(task, ContextStatusData)
    assert (task.context_id, task.path, task.status, task.task_type) == (
        CONTEXT_ID,
        MOUNT,
        "Success",
        "upload",
    )
    assert task.start_time > 1_600_000_000_000
    assert task.finish_time >= task.start_time
    assert task.is_final
    assert task.is_sync_task


def test_filters_are_sent_and_applied(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-1": "/m/one", "ctx-2": "/m/two"})
    cm = agb_context_manager(sid)
    assert cm.sync(retry_interval=20).result(timeout=30).success
    assert cm.sync("ctx-2", "/m/two", mode="download", retry_interval=20).result(30).success
    every = cm.info()
    # The emulator reports the newest task of each mount.
    assert {(t.context_id, t.task_type) for t in every.context_status_data} == {
        ("ctx-1", "upload"),
        ("ctx-2", "download"),
    }
    only = cm.info(context_id="ctx-2", path="/m/two", task_type="upload")
    assert only.success
    assert [(t.context_id, t.task_type) for t in only.context_status_data] == [("ctx-2", "upload")]
    last = [r for r in agb_clean_emulator.requests if r.path == "/sdk/GetContextInfo"][-1]
    assert last.query == {
        "sessionId": sid,
        "contextId": "ctx-2",
        "path": "/m/two",
        "taskType": "upload",
    }


def test_blank_filters_are_left_out(
    agb_clean_emulator: Emulator, cm: ContextManager, session_id: str
) -> None:
    assert cm.info(context_id=" ", path="", task_type="").success
    (request,) = [r for r in agb_clean_emulator.requests if r.path == "/sdk/GetContextInfo"]
    assert request.query == {"sessionId": session_id}


def test_info_async_does_the_same_without_blocking(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    async def main() -> list[bool]:
        results = await asyncio.gather(*(cm.info_async() for _ in range(20)))
        await cm.aclose()
        return [r.success for r in results]

    assert asyncio.run(main()) == [True] * 20
