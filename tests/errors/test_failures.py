"""Failures a program can act on: a kind, a status, a code and an exception per kind,
plain data, and one WARNING each in the log."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
from support import CONTEXT_ID, MOUNT, WRONG_KEY

from agb_context import (
    AuthenticationError,
    ContextSyncResult,
    NotFoundError,
    PollingPolicy,
    StillRunningError,
    SyncFailedError,
)
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

FAST = PollingPolicy(interval=0.01, max_polls=500, grace=0.05)


def test_a_rejected_key_and_an_unknown_session_are_told_apart(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    rejected = agb_context_manager(session_id, api_key=WRONG_KEY).info()
    assert (rejected.error_kind, rejected.http_status, rejected.error_code) == (
        "http_status",
        401,
        "InvalidApiKey",
    )
    assert not rejected.retryable
    assert "HTTP 401" in rejected.error_message
    with pytest.raises(AuthenticationError):
        rejected.raise_for_status()
    unknown_session = agb_context_manager("session-unknown")
    unknown = unknown_session.sync(CONTEXT_ID, MOUNT).result(timeout=30)
    looked = unknown_session.info()
    for result in (unknown, looked):
        assert (result.error_kind, result.http_status, result.error_code) == (
            "http_status",
            404,
            "SessionNotFound",
        )
        assert "HTTP 404" in result.error_message
        with pytest.raises(NotFoundError):
            result.raise_for_status()


def test_a_failed_task_and_a_task_still_running_are_told_apart(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    cm = agb_context_manager(session_id)
    agb_clean_emulator.faults.fail_tasks("disk full", count=1)
    failed = cm.sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=30)
    assert (failed.error_kind, failed.retryable) == ("task_failed", False)
    with pytest.raises(SyncFailedError):
        failed.raise_for_status()
    agb_clean_emulator.faults.hang_tasks(count=None)
    running = cm.sync(CONTEXT_ID, MOUNT, max_retries=3, retry_interval=10).result(timeout=30)
    assert (running.error_kind, running.retryable) == ("still_running", True)
    assert [t.status for t in running.context_status_data] in (["Running"], ["Pending"])
    with pytest.raises(StillRunningError) as raised:
        running.raise_for_status()
    assert raised.value.result.context_status_data == running.context_status_data


def test_a_success_has_no_kind_and_raise_for_status_returns_it(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    result = (
        agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=30)
    )
    assert result.success
    assert (result.error_kind, result.http_status, result.retryable) == (None, 200, False)
    assert result.raise_for_status() is result


def test_results_turn_into_plain_data_and_json(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    result = (
        agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT, polling=FAST).result(timeout=30)
    )
    data = result.to_dict()
    assert json.loads(result.to_json()) == data
    assert data["success"] is True
    assert data["request_id"] == result.request_id
    (task,) = data["context_status_data"]
    assert task["status"] == "Success"
    assert task["task_type"] == "upload"
    rebuilt = ContextSyncResult(**{**data, "context_status_data": ()})
    assert rebuilt.request_id == result.request_id


def test_a_failed_sync_is_logged_once_at_warning_with_its_request_id(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    agb_clean_emulator.faults.fail_tasks("disk full", count=1)
    agb_clean_emulator.faults.let_through("GetContextInfo")
    agb_clean_emulator.faults.fail_requests("GetContextInfo", 500, count=1)
    with caplog.at_level(logging.DEBUG, logger="agb_context"):
        result = (
            agb_context_manager(session_id)
            .sync(CONTEXT_ID, MOUNT, polling=FAST)
            .result(timeout=30)
        )
    assert result.error_kind == "task_failed"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert result.request_id in warnings[0].getMessage()
    assert "task_failed" in warnings[0].getMessage()
    assert "disk full" in warnings[0].getMessage()
    failed_polls = [r for r in caplog.records if "poll 1/" in r.getMessage()]
    assert [r.levelno for r in failed_polls] == [logging.DEBUG]
    assert result.request_id in failed_polls[0].getMessage()


def test_syncs_still_running_at_exit_are_cancelled_with_one_warning() -> None:
    script = textwrap.dedent(
        """
        import logging, threading
        from agb_context import ContextManager
        from agb_context.emulator import Emulator

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        emu = Emulator()
        emu.start()
        sid = emu.create_session(mounts={"ctx-a": "/home/data"})
        emu.faults.hang_tasks(count=None)
        cm = ContextManager(sid, api_key=emu.api_key, endpoint=emu.endpoint)
        op = cm.sync("ctx-a", "/home/data", callback=lambda ok: print("callback", ok),
                     retry_interval=20)
        accepted = threading.Event()
        op.add_progress_callback(lambda p: p.status == "running" and accepted.set())
        assert op.status() == "running" or accepted.wait(30), "the sync was not accepted"
        print("request", op.request_id, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    request_id = done.stdout.split("request ")[1].split()[0]
    assert "callback False" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, done.stderr
    assert "still running at interpreter exit" in warnings[0]
    assert request_id in warnings[0]


def test_the_library_configures_no_handlers() -> None:
    assert logging.getLogger("agb_context").handlers == []
