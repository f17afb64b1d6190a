"""Fault matrix of ``info``: every fault, blocking (``info``) and awaited (``info_async``).

Each case has one exact outcome: the success flag, the whole error message
(a pattern), the request id, the kind of failure (``error_kind``, status,
code, retryability and the exception ``raise_for_status`` raises), how many
requests reached the emulator (so which statuses are retried), and a time
bound computed from the retry policy, latency and timeout in play.
Every case also checks that nothing is left behind (see `Watch`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import attrs
import pytest
from support import CONTEXT_ID, FAST, FAST_BACKOFF, MOUNT, SLACK, Watch, matches, wait_until

from agb_context import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ContextInfoResult,
    ContextManager,
    NetworkError,
    NotFoundError,
    RateLimitError,
    RequestFailed,
    RequestTimeoutError,
    ServerError,
    StatusError,
    UnreadableResponseError,
)
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
    kind: str | None = None
    """The failure's ``error_kind`` (None: a success)."""
    http_status: int | None = 200
    code: str = ""
    """The failure's ``error_code``."""
    retryable: bool = False
    exception: type[RequestFailed] | None = None
    """The exact class ``raise_for_status`` raises for the failure."""


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


CODES = {
    400: "InvalidParameter",
    401: "InvalidApiKey",
    404: "NotFound",
    408: "Error",
    409: "Error",
    429: "Throttling",
    500: "InternalError",
    501: "Error",
    599: "Error",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
"""The emulator's ``code`` for an injected HTTP status."""
TRANSIENT = (408, 429, 500, 502, 503, 504)
"""Statuses a read is tried again on."""
EXCEPTIONS: dict[int, type[RequestFailed]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}


def _status_failure(
    status: int, *, requests: int, budget: float = 0.0, **arrange: int
) -> InfoCase:
    """Every request answered with ``status``: a result of kind ``http_status``."""
    return InfoCase(
        id=f"http_{status}" + ("" if status in TRANSIENT else "_not_retried"),
        arrange=_fail(status, **arrange),
        success=False,
        message=rf"injected fault: HTTP {status} \(HTTP {status}, code {CODES[status]}\)",
        requests=requests,
        budget=budget,
        kind="http_status",
        http_status=status,
        code=CODES[status],
        retryable=status in TRANSIENT,
        exception=EXCEPTIONS.get(status, ServerError if status >= 500 else StatusError),
    )


DROPPED = r"could not reach {endpoint}: Server disconnected without sending a response\."

CASES = [
    *[_status_failure(s, requests=3, budget=FAST_BACKOFF) for s in TRANSIENT if s != 429],
    *[_status_failure(s, requests=1) for s in (400, 401, 404, 409, 501)],
    *[
        InfoCase(
            id=f"http_{s}_twice_then_ok",
            arrange=_fail(s, count=2),
            success=True,
            requests=3,
            budget=FAST_BACKOFF,
        )
        for s in TRANSIENT
    ],
    InfoCase(
        id="http_429_retry_after_then_ok",
        arrange=_fail(429, count=1, retry_after=1),
        success=True,
        requests=2,
        min_seconds=1,
        budget=1,
    ),
    _status_failure(429, requests=3, retry_after=0),
    attrs.evolve(
        _status_failure(429, requests=1, retry_after=120),
        id="http_429_retry_after_beyond_the_bound_not_waited_for",
    ),
    InfoCase(
        id="connection_dropped_every_time",
        arrange=_fault("drop_connections", INFO, 100),
        success=False,
        message=DROPPED,
        requests=3,
        request_id="none",
        budget=FAST_BACKOFF,
        kind="no_response",
        http_status=None,
        retryable=True,
        exception=NetworkError,
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
        kind="unreadable_response",
        retryable=True,
        exception=UnreadableResponseError,
    ),
    attrs.evolve(
        # Not in http.HTTPStatus (a gateway's status): read as any other failing status.
        _status_failure(599, requests=1),
        id="http_599_a_status_outside_httpstatus_not_retried",
    ),
    InfoCase(
        id="success_false",
        arrange=_fault("respond_success_false", INFO, 100),
        success=False,
        message=r"injected fault: the request failed although the HTTP status is 200 "
        r"\(HTTP 200, code InjectedFault\)",
        kind="api_error",
        code="InjectedFault",
        exception=ApiError,
    ),
    InfoCase(
        id="malformed_context_status",
        arrange=_fault("malformed_status", 100),
        success=False,
        message=r"the context status in the response could not be parsed: "
        r"contextStatus is not valid JSON: .+",
        kind="unreadable_response",
        retryable=True,
        exception=UnreadableResponseError,
    ),
    InfoCase(
        id="context_status_encoded_once",
        arrange=lambda emu, cm: emu.faults.malformed_status(100, encoded_once=True),
        success=False,
        message=r"the context status in the response could not be parsed: "
        r"contextStatus is not a string",
        kind="unreadable_response",
        retryable=True,
        exception=UnreadableResponseError,
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
        await asyncio.sleep(0)  # one loop step: what the close scheduled runs first
        assert asyncio.all_tasks() == {asyncio.current_task()}, "tasks left on the loop"
        return result, elapsed

    return asyncio.run(main())


def _check_kind(
    result: ContextInfoResult,
    kind: str | None,
    http_status: int | None,
    code: str,
    retryable: bool,
    exception: type[RequestFailed] | None,
) -> None:
    """The result's kind, status, code and retryability, and what ``raise_for_status`` does."""
    assert (result.error_kind, result.http_status, result.error_code, result.retryable) == (
        kind,
        http_status,
        code,
        retryable,
    )
    if exception is None:
        assert result.raise_for_status() is result
        return
    with pytest.raises(RequestFailed) as raised:
        result.raise_for_status()
    assert type(raised.value) is exception
    assert raised.value.result is result
    assert str(raised.value) == result.error_message
    assert raised.value.request_id == result.request_id


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
    _check_kind(result, case.kind, case.http_status, case.code, case.retryable, case.exception)
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
        r"\[Errno \d+\] Connection refused",
        result.error_message,
        endpoint=refused_endpoint,
    ), result.error_message
    assert result.request_id == ""
    _check_kind(result, "not_sent", None, "", True, NetworkError)
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
    _check_kind(result, "timeout", None, "", True, RequestTimeoutError)
    attempts = 1 + FAST.max_retries
    assert attempts * timeout * 0.95 <= elapsed <= attempts * timeout + FAST_BACKOFF + SLACK
    # The emulator answers each abandoned request once its latency is over: exactly 3 came.
    wait_until(lambda: len(latency_emulator.requests) >= attempts, what="the abandoned requests")
    assert [r.path for r in latency_emulator.requests] == [INFO_PATH] * attempts
    watch.assert_clean()
