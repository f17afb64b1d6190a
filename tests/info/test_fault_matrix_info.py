"""Fault matrix of ``info``: every fault, blocking (``info``) and awaited (``info_async``).

Each case has one exact outcome: the success flag, the whole error message
(a pattern), the request id, how many requests reached the emulator, and a
time bound computed from the retry policy, latency and timeout in play.
Every case also checks that nothing is left behind (see `Watch`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import attrs
import pytest
from support import CONTEXT_ID, FAST, FAST_BACKOFF, MOUNT, SLACK, Watch, matches, wait_until

from agb_context import ContextInfoResult, ContextManager, ContextSyncResult
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

INFO_STYLES = ("blocking", "awaited")
INFO = "GetContextInfo"
INFO_PATH = "/sdk/GetContextInfo"


@attrs.frozen(kw_only=True)
class InfoCase:
    id: str
    arrange: Callable[[Emulator, ContextManager], None]
    success: bool
    message: str = ""
    """A regex the whole error message must match; ``{endpoint}`` is the emulator's URL."""
    requests: int = 1
    """GetContextInfo requests the emulator must have received (after the arrangement)."""
    request_id: str = "last"
    """``last``: the id of the last request the emulator answered; ``none``: ``""``."""
    min_seconds: float = 0.0
    budget: float = 0.0
    """The most time the case can take by its configuration; `SLACK` is added."""
    tasks: tuple[tuple[str, str], ...] = ()
    """(status, error message) of each task reported on success."""


def _fail(status: int, count: int = 100, retry_after: int | None = None) -> Callable[..., None]:
    return lambda emu, cm: emu.faults.fail_requests(INFO, status, count, retry_after)


def _fault(name: str, *args: object) -> Callable[..., None]:
    return lambda emu, cm: getattr(emu.faults, name)(*args)


def _failed_task(emu: Emulator, cm: ContextManager) -> None:
    emu.faults.fail_tasks("disk full", count=1)
    assert not cm.sync(CONTEXT_ID, MOUNT, retry_interval=10).result(30).success


def _hung_task(emu: Emulator, cm: ContextManager) -> None:
    emu.faults.hang_tasks(count=None)
    operation = cm.sync(CONTEXT_ID, MOUNT, retry_interval=10, max_retries=1)
    assert not operation.result(30).success
    wait_until(lambda: [t.status for t in emu.tasks(cm.session_id)] == ["Running"])


def _slow(emu: Emulator, cm: ContextManager) -> None:
    emu.faults.set_latency("GetContextInfo", 0.1, count=None)


def _status_case(status: int, code: str) -> InfoCase:
    return InfoCase(
        id=f"http_{status}",
        arrange=_fail(status),
        success=False,
        message=rf"injected fault: HTTP {status} \(HTTP {status}, code {code}\)",
        requests=3,
        budget=FAST_BACKOFF,
    )


DROPPED = r"could not reach {endpoint}: Server disconnected without sending a response\."

CASES = [
    _status_case(408, "Error"),
    _status_case(500, "InternalError"),
    InfoCase(
        id="http_501_not_retried",
        arrange=_fail(501),
        success=False,
        message=r"injected fault: HTTP 501 \(HTTP 501, code Error\)",
    ),
    _status_case(502, "BadGateway"),
    _status_case(503, "ServiceUnavailable"),
    _status_case(504, "GatewayTimeout"),
    InfoCase(
        id="http_503_twice_then_ok",
        arrange=_fail(503, count=2),
        success=True,
        requests=3,
        budget=FAST_BACKOFF,
    ),
    InfoCase(
        id="http_429_retry_after_then_ok",
        arrange=_fail(429, count=1, retry_after=1),
        success=True,
        requests=2,
        min_seconds=1,
        budget=1,
    ),
    InfoCase(
        id="http_429_retry_after_every_time",
        arrange=_fail(429, retry_after=0),
        success=False,
        message=r"injected fault: HTTP 429 \(HTTP 429, code Throttling\)",
        requests=3,
    ),
    InfoCase(
        id="connection_dropped_every_time",
        arrange=_fault("drop_connections", INFO, 100),
        success=False,
        message=DROPPED,
        requests=3,
        request_id="none",
        budget=FAST_BACKOFF,
    ),
    InfoCase(
        id="connection_dropped_twice_then_ok",
        arrange=_fault("drop_connections", INFO, 2),
        success=True,
        requests=3,
        budget=FAST_BACKOFF,
    ),
    InfoCase(
        id="invalid_json_body",
        arrange=_fault("invalid_json", INFO, 100),
        success=False,
        message=r"the response from {endpoint} \(HTTP 200\) was not the documented JSON "
        r"envelope \(JSONDecodeError: Expecting value: line 1 column \d+ \(char \d+\)\)",
        request_id="last",
    ),
    InfoCase(
        id="success_false",
        arrange=_fault("respond_success_false", INFO, 100),
        success=False,
        message=r"injected fault: the request failed although the HTTP status is 200 "
        r"\(HTTP 200, code InjectedFault\)",
    ),
    InfoCase(
        id="malformed_context_status",
        arrange=_fault("malformed_status", 100),
        success=False,
        message=r"the context status in the response could not be parsed: "
        r"contextStatus is not valid JSON: .+",
    ),
    InfoCase(
        id="slow_response_under_the_timeout",
        arrange=_slow,
        success=True,
        min_seconds=0.1,
        budget=0.1,
    ),
    InfoCase(
        id="a_failed_task",
        arrange=_failed_task,
        success=True,
        tasks=(("Failed", "disk full"),),
    ),
    InfoCase(
        id="a_task_that_never_finishes",
        arrange=_hung_task,
        success=True,
        tasks=(("Running", ""),),
    ),
]


def _info(style: str, cm: ContextManager, watch: Watch) -> tuple[ContextInfoResult, float]:
    started = time.monotonic()
    if style == "blocking":
        result = cm.info()
        elapsed = time.monotonic() - started
        cm.close()
        return result, elapsed

    async def main() -> tuple[ContextInfoResult, float]:
        watch.watch_running_loop()
        result = await cm.info_async()
        elapsed = time.monotonic() - started
        await cm.aclose()
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}, "tasks left on the loop"
        return result, elapsed

    return asyncio.run(main())


@pytest.mark.parametrize("style", INFO_STYLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_info_fault_matrix(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    watch: Watch,
    case: InfoCase,
    style: str,
) -> None:
    case.arrange(agb_clean_emulator, agb_context_manager(session_id, retry=FAST))
    agb_clean_emulator.clear_requests()
    cm = agb_context_manager(session_id, retry=FAST, timeout=5.0)

    result, elapsed = _info(style, cm, watch)

    assert result.success is case.success, result.error_message
    if case.success:
        assert result.error_message == ""
        got = [(t.status, t.error_message) for t in result.context_status_data]
        assert got == list(case.tasks)
    else:
        assert matches(case.message, result.error_message, endpoint=agb_clean_emulator.endpoint), (
            result.error_message
        )
        assert result.context_status_data == ()
    requests = [r for r in agb_clean_emulator.requests if r.path == INFO_PATH]
    assert len(requests) == case.requests
    assert len(agb_clean_emulator.requests) == case.requests, "only GetContextInfo may be called"
    expected_id = requests[-1].request_id if case.request_id == "last" else ""
    assert result.request_id == expected_id
    assert case.min_seconds * 0.95 <= elapsed <= case.budget + SLACK, elapsed
    watch.assert_clean()


@pytest.mark.parametrize("style", INFO_STYLES)
def test_info_when_the_connection_is_refused(
    refused_endpoint: str, watch: Watch, style: str
) -> None:
    cm = ContextManager("session-x", api_key="k-refused", endpoint=refused_endpoint, retry=FAST)
    result, elapsed = _info(style, cm, watch)
    assert not result.success
    assert matches(
        r"could not reach {endpoint}: "
        r"(\[Errno \d+\] Connection refused|All connection attempts failed)",
        result.error_message,
        endpoint=refused_endpoint,
    ), result.error_message
    assert result.request_id == ""
    assert elapsed <= FAST_BACKOFF + SLACK
    watch.assert_clean()


@pytest.mark.parametrize("style", INFO_STYLES)
def test_info_read_timeout(
    latency_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    watch: Watch,
    style: str,
) -> None:
    sid = latency_emulator.create_session(mounts={CONTEXT_ID: MOUNT})
    # Far apart, so that only a late read can time out (never the connect, on loopback).
    timeout, latency = 0.25, 0.75
    latency_emulator.faults.set_latency("GetContextInfo", latency, count=None)
    cm = agb_context_manager(
        sid,
        endpoint=latency_emulator.endpoint,
        api_key=latency_emulator.api_key,
        retry=FAST,
        timeout=timeout,
    )

    result, elapsed = _info(style, cm, watch)

    assert not result.success
    assert matches(
        r"no response from {endpoint} within 0\.25s \(ReadTimeout\)",
        result.error_message,
        endpoint=latency_emulator.endpoint,
    ), result.error_message
    assert result.request_id == ""
    attempts = 1 + FAST.max_retries
    assert attempts * timeout * 0.95 <= elapsed <= attempts * timeout + FAST_BACKOFF + SLACK
    # The emulator answers each abandoned request once its latency is over: exactly 3 came.
    wait_until(lambda: len(latency_emulator.requests) >= attempts, what="the abandoned requests")
    assert [r.path for r in latency_emulator.requests] == [INFO_PATH] * attempts
    watch.assert_clean()


@pytest.mark.parametrize("call", ["info", "sync"])
def test_a_body_that_is_not_json_still_reports_the_request_id(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    call: str,
) -> None:
    cm = agb_context_manager(session_id, retry=FAST)
    agb_clean_emulator.faults.invalid_json(
        "GetContextInfo" if call == "info" else "SyncContext", 1
    )
    if call == "info":
        result: ContextInfoResult | ContextSyncResult = cm.info()
    else:
        result = cm.sync(retry_interval=10).result(timeout=30)
    assert not result.success
    target = "/sdk/GetContextInfo" if call == "info" else "/sdk/SyncContext"
    (request,) = [r for r in agb_clean_emulator.requests if r.path == target]
    assert result.request_id == request.request_id
