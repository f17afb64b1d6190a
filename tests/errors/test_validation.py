"""Arguments are checked before any request is sent: a result of kind ``invalid_argument``
naming the argument, the same in every calling style."""

from __future__ import annotations

import asyncio
import math
import re

import pytest
from support import CallbackRecorder

from agb_context import (
    ContextInfoResult,
    ContextManager,
    ContextSyncResult,
    InvalidArgumentError,
    PollingPolicy,
)
from agb_context.emulator import Emulator

INVALID_SYNC_ARGUMENTS = [
    ({"context_id": "ctx-a"}, "path"),
    ({"path": "/home/data"}, "context_id"),
    ({"context_id": "ctx-a", "path": "  "}, "path"),
    ({"context_id": "", "path": "/home/data"}, "context_id"),
    ({"mode": "sideways"}, "mode"),
    ({"mode": "UPLOAD"}, "mode"),
    ({"mode": "uplaod"}, "mode"),
    ({"max_retries": 0}, "max_retries"),
    ({"max_retries": -1}, "max_retries"),
    ({"max_retries": 2.5}, "max_retries"),
    ({"max_retries": True}, "max_retries"),
    ({"retry_interval": 0}, "retry_interval"),
    ({"retry_interval": -10}, "retry_interval"),
    ({"retry_interval": math.inf}, "retry_interval"),
    ({"retry_interval": "1500"}, "retry_interval"),
    ({"context_id": "ctx\x00a", "path": "/home/data"}, "context_id"),
    ({"context_id": "ctx-a", "path": "/home/\x00data"}, "path"),
    ({"context_id": 7, "path": "/home/data"}, "context_id"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": float("nan")}, "timeout"),
    ({"timeout": "1"}, "timeout"),
    ({"polling": 3}, "polling"),
    (
        {"polling": PollingPolicy(interval=0.01), "max_retries": 3},
        "either polling= or max_retries",
    ),
]


@pytest.mark.parametrize(("kwargs", "argument"), INVALID_SYNC_ARGUMENTS)
def test_invalid_sync_arguments_fail_before_any_request(
    agb_clean_emulator: Emulator,
    cm: ContextManager,
    callback: CallbackRecorder,
    kwargs: dict[str, object],
    argument: str,
) -> None:
    operation = cm.sync(callback=callback, **kwargs)  # type: ignore[arg-type]
    assert operation.done()
    assert callback.calls == [False]
    result = operation.result()
    assert not result.success
    assert argument in result.error_message
    assert result.request_id == ""
    _assert_invalid_argument(result)

    async def awaited() -> ContextSyncResult:
        return await cm.sync(**kwargs)  # type: ignore[arg-type]

    assert asyncio.run(awaited()) == result
    assert agb_clean_emulator.requests == []


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"task_type": "sideways"}, "task_type"),
        ({"context_id": 5}, "context_id"),
        ({"path": "a\x00b"}, "path"),
    ],
)
def test_invalid_info_arguments_fail_before_any_request(
    agb_clean_emulator: Emulator, cm: ContextManager, kwargs: dict[str, object], argument: str
) -> None:
    result = cm.info(**kwargs)  # type: ignore[arg-type]
    assert not result.success
    assert argument in result.error_message
    _assert_invalid_argument(result)
    assert asyncio.run(cm.info_async(**kwargs)) == result  # type: ignore[arg-type]
    assert agb_clean_emulator.requests == []


def _assert_invalid_argument(result: ContextInfoResult | ContextSyncResult) -> None:
    assert (result.error_kind, result.http_status, result.retryable) == (
        "invalid_argument",
        None,
        False,
    )
    with pytest.raises(InvalidArgumentError) as raised:
        result.raise_for_status()
    assert raised.value.result is result


def test_blank_scope_counts_as_omitted(agb_clean_emulator: Emulator, cm: ContextManager) -> None:
    result = cm.sync(context_id=" ", path="", mode="", retry_interval=20).result(timeout=30)
    assert result.success, result.error_message
    (post,) = [r for r in agb_clean_emulator.requests if r.path == "/sdk/SyncContext"]
    assert set(post.query) == {"sessionId"}


def test_a_callback_that_is_not_callable_is_a_type_error(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    with pytest.raises(TypeError, match="callback"):
        cm.sync(callback="not a function")  # type: ignore[arg-type]
    assert agb_clean_emulator.requests == []


def test_a_done_callback_that_is_not_callable_is_refused_when_added(
    agb_clean_emulator: Emulator, cm: ContextManager, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused at once, like a progress callback, not logged as a failure at the end."""
    operation = cm.sync(retry_interval=20)
    with pytest.raises(TypeError, match="fn must be callable"):
        operation.add_done_callback(None)  # type: ignore[arg-type]
    assert operation.result(timeout=30).success
    with pytest.raises(TypeError, match="fn must be callable"):
        operation.add_done_callback("not a function")  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        ("5", TypeError, "timeout must be a number of seconds or None, not str"),
        (True, TypeError, "timeout must be a number of seconds or None, not bool"),
        (-1, ValueError, "timeout must be >= 0 seconds, not -1"),
        (float("nan"), ValueError, "timeout must be >= 0 seconds, not nan"),
    ],
)
def test_a_result_timeout_that_is_not_seconds_is_named(
    cm: ContextManager, timeout: object, error: type[Exception], message: str
) -> None:
    operation = cm.sync(retry_interval=20)
    with pytest.raises(error, match=re.escape(message)):
        operation.result(timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(error, match=re.escape(message)):
        operation.wait(timeout=timeout)  # type: ignore[arg-type]
    assert operation.result(timeout=30).success, "the sync went on"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_id": "  ", "path": "/home/data"}, "path was given but context_id is blank"),
        ({"context_id": "ctx-a", "path": ""}, "context_id was given but path is blank"),
        ({"path": "/home/data"}, "path was given without context_id"),
    ],
)
def test_a_blank_half_of_the_scope_is_named_as_blank(
    cm: ContextManager, kwargs: dict[str, object], message: str
) -> None:
    result = cm.sync(**kwargs).result(timeout=0)  # type: ignore[arg-type]
    assert result.error_message.startswith(message)
