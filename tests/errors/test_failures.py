"""Failures a program can act on: a kind, a status, a code and an exception per kind,
plain data, and one WARNING each in the log."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
from support import CONTEXT_ID, MOUNT, WRONG_KEY, refusing_endpoint

from agb_context import (
    ApiError,
    AuthenticationError,
    ContextManager,
    ContextSyncResult,
    InvalidArgumentError,
    NetworkError,
    NotFoundError,
    PollingPolicy,
    RequestFailed,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    StillRunningError,
    SyncFailedError,
    UnreadableResponseError,
)
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

FAST = PollingPolicy(interval=0.01, max_polls=500, grace=0.05)


@pytest.mark.parametrize(
    ("arrange", "kind", "status", "code", "retryable", "exception"),
    [
        (lambda e: e.faults.fail_requests("GetContextInfo", 503, 10), "http_status", 503,
         "ServiceUnavailable", True, ServerError),
        (lambda e: e.faults.respond_success_false("GetContextInfo", 10), "api_error", 200,
         "InjectedFault", False, ApiError),
        (lambda e: e.faults.invalid_json("GetContextInfo", 10), "unreadable_response", 200,
         "", True, UnreadableResponseError),
        (lambda e: e.faults.malformed_status(10), "unreadable_response", 200, "", True,
         UnreadableResponseError),
        (lambda e: e.faults.drop_connections("GetContextInfo", 10), "no_response", None, "",
         True, NetworkError),
    ],
    ids=["http_503", "success_false", "not_json", "malformed_status", "dropped"],
)  # fmt: skip
def test_each_failure_of_info_has_its_kind_and_exception(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    arrange: Callable[[Emulator], None],
    kind: str,
    status: int | None,
    code: str,
    retryable: bool,
    exception: type[RequestFailed],
) -> None:
    arrange(agb_clean_emulator)
    result = agb_context_manager(session_id).info()
    assert not result.success
    assert (result.error_kind, result.http_status, result.error_code, result.retryable) == (
        kind,
        status,
        code,
        retryable,
    )
    with pytest.raises(exception) as raised:
        result.raise_for_status()
    assert raised.value.result is result
    assert str(raised.value) == result.error_message
    assert raised.value.request_id == result.request_id


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
    with pytest.raises(AuthenticationError):
        rejected.raise_for_status()
    unknown = agb_context_manager("session-unknown").sync(CONTEXT_ID, MOUNT).result(timeout=30)
    assert (unknown.error_kind, unknown.http_status, unknown.error_code) == (
        "http_status",
        404,
        "SessionNotFound",
    )
    with pytest.raises(NotFoundError):
        unknown.raise_for_status()


def test_a_typo_is_an_invalid_argument_and_sends_nothing(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    result = (
        agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT, mode="uplaod").result(timeout=0)
    )
    assert result.error_kind == "invalid_argument"
    assert "mode" in result.error_message
    with pytest.raises(InvalidArgumentError):
        result.raise_for_status()
    assert agb_clean_emulator.requests == []


def test_an_unreachable_endpoint_is_not_sent() -> None:
    with refusing_endpoint() as endpoint:
        cm = ContextManager("s-1", api_key="k", endpoint=endpoint)
        result = cm.info()
        cm.close()
    assert (result.error_kind, result.http_status, result.retryable) == ("not_sent", None, True)
    with pytest.raises(NetworkError):
        result.raise_for_status()


def test_a_slow_answer_is_a_timeout(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    agb_clean_emulator.faults.set_latency("GetContextInfo", 1.0, count=None)
    result = agb_context_manager(session_id, timeout=0.2, retry=RetryPolicy(max_retries=0)).info()
    assert (result.error_kind, result.retryable) == ("timeout", True)
    with pytest.raises(RequestTimeoutError):
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
