"""Fault matrix of ``sync``: every fault, in each calling style (awaited, callback, blocking).

A fault hits either the trigger (``SyncContext``) or the polls
(``GetContextInfo``). Each case has one exact outcome: the success flag, the
whole error message (a pattern), the request id, the requests and tasks the
emulator saw, the callback called exactly once with the outcome, and a time
bound computed from the retry policy, poll interval and faults in play.
Every case also checks that nothing is left behind (see `Watch`).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from support import (
    CONTEXT_ID,
    FAST,
    FAST_BACKOFF,
    MOUNT,
    SLACK,
    STYLES,
    Outcome,
    Watch,
    free_port,
    matches,
    run_sync,
    wait_until,
)

from agb_context import ContextManager, SyncOperation
from agb_context.emulator import Emulator, Faults
from agb_context.emulator.pytest_plugin import ContextManagerFactory

SYNC, INFO = "SyncContext", "GetContextInfo"
SYNC_PATH, INFO_PATH = "/sdk/SyncContext", "/sdk/GetContextInfo"
NOT_STARTED = "the sync was not started: "
MAYBE_STARTED = r"the sync may or may not have started \(no answer came\): "
BASELINE_FAILED = ""
"""A failed status read before the start says why, as a failed trigger does."""
POLLS_FAILED = (
    r"could not learn how the sync went: "
    r"all {polls} status polls failed over \d+\.\ds; "
)
DROPPED = r"could not reach {endpoint}: Server disconnected without sending a response\."
NOT_JSON = (
    r"the response from {endpoint} \(HTTP 200\) was not the documented JSON envelope "
    r"\(JSONDecodeError: Expecting value: line 1 column \d+ \(char \d+\)\)"
)
SUCCESS_FALSE = (
    r"injected fault: the request failed although the HTTP status is 200 "
    r"\(HTTP 200, code InjectedFault\)"
)
MALFORMED = (
    r"the context status in the response could not be parsed: "
    r"contextStatus is not valid JSON: .+"
)
CODES = {
    408: "Error",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def _status(status: int) -> str:
    code = CODES.get(status, "Throttling")
    return rf"injected fault: HTTP {status} \(HTTP {status}, code {code}\)"


@attrs.frozen(kw_only=True)
class SyncCase:
    id: str
    arrange: Callable[[Any], None]
    """Arms the case's faults on an `AimedFaults`."""
    success: bool
    message: str = ""
    """A regex the whole error message must match (``{endpoint}`` is the emulator's URL)."""
    accepted: bool = True
    """Whether the server accepted the trigger (then one task exists, and polls follow)."""
    enveloped: bool = True
    """Whether a refused trigger got an envelope back (whose request id the result carries)."""
    info_requests: int | None = None
    """Exact number of GetContextInfo requests; None: at least one."""
    max_retries: int = 3
    retry_interval: int = 10
    min_seconds: float = 0.0
    budget: float = 0.0
    """The most time the case can take by its configuration; `SLACK` is added."""
    final_status: str | None = "Success"
    """The status of the task the sync created, once the emulator is done with it."""
    reported: tuple[tuple[str, ...], ...] = (("Success",),)
    """The statuses the result may report for its tasks (one of these)."""
    triggers: int = 1
    """SyncContext requests sent: more than one only when the server turned it away."""
    kind: str | None = None
    """The result's ``error_kind`` (None: a success); polls that all failed give the last's."""


class AimedFaults:
    """An emulator's faults, every one aimed at one session."""

    def __init__(self, faults: Faults, session_id: str) -> None:
        self._faults, self._session_id = faults, session_id

    def __getattr__(self, name: str) -> Callable[..., None]:
        return functools.partial(getattr(self._faults, name), session_id=self._session_id)


def _fail(
    endpoint: str, status: int, count: int = 100, retry_after: int | None = None
) -> Callable[[Any], None]:
    return lambda faults: faults.fail_requests(endpoint, status, count, retry_after)


def _fault(name: str, *args: object) -> Callable[[Any], None]:
    return lambda faults: getattr(faults, name)(*args)


def _trigger_case(
    name: str,
    arrange: Callable[[Any], None],
    message: str,
    *,
    kind: str = "http_status",
    enveloped: bool = True,
    triggers: int = 1,
    prefix: str = "",
) -> SyncCase:
    return SyncCase(
        kind=kind,
        enveloped=enveloped,
        triggers=triggers,
        budget=(triggers - 1) * (0.01 + FAST_BACKOFF),
        id=f"trigger_{name}",
        arrange=arrange,
        success=False,
        message=(prefix or NOT_STARTED) + message,
        accepted=False,
        info_requests=1,
        final_status=None,
        reported=((),),
    )


def _poll_case(
    name: str,
    arrange: Callable[[Any], None],
    message: str,
    attempts: int,
    *,
    kind: str = "http_status",
    wait: float = 0.0,
) -> SyncCase:
    """Every poll fails, each one request (polls are never retried by the transport).

    The status read the sync makes before it starts is spared.
    """
    polls = 3
    del attempts, wait
    return SyncCase(
        kind=kind,
        id=f"every_poll_{name}",
        arrange=_after_the_baseline(arrange),
        success=False,
        message=POLLS_FAILED.replace("{polls}", str(polls)) + "last error: " + message,
        info_requests=1 + polls,
        max_retries=polls,
        min_seconds=(polls - 1) * 0.01,
        budget=(polls - 1) * 0.01,
        reported=((),),
    )


def _after_the_baseline(arrange: Callable[[Any], None]) -> Callable[[Any], None]:
    """``arrange``, for the requests after the status read a sync makes before it starts."""

    def arranged(faults: Any) -> None:
        faults.let_through(INFO, 1)
        arrange(faults)

    return arranged


def _one_of_each_poll_fault(faults: Any) -> None:
    faults.fail_requests(INFO, 500, 1)
    faults.invalid_json(INFO, 1)
    faults.respond_success_false(INFO, 1)
    faults.malformed_status(1)


def _slow(faults: Any) -> None:
    faults.set_latency(SYNC, 0.1, count=None)
    faults.set_latency(INFO, 0.1, count=None)


CASES = [
    _trigger_case("http_500", _fail(SYNC, 500), _status(500)),
    _trigger_case("http_429", _fail(SYNC, 429), _status(429)),
    *[_trigger_case(f"http_{s}", _fail(SYNC, s), _status(s)) for s in (502, 503, 504)],
    _trigger_case(
        "http_429_retry_after_beyond_the_bound",
        _fail(SYNC, 429, retry_after=120),
        _status(429),
    ),
    *[
        _trigger_case(
            f"http_{s}_retry_after", _fail(SYNC, s, retry_after=0), _status(s), triggers=3
        )
        for s in (429, 503)
    ],
    *[
        _trigger_case(
            f"http_{s}_retry_after_not_a_refusal",
            _fail(SYNC, s, retry_after=0),
            _status(s),
        )
        for s in (408, 500, 502, 504)
    ],
    SyncCase(
        id="trigger_http_503_retry_after_once_then_accepted",
        arrange=_fail(SYNC, 503, count=1, retry_after=0),
        success=True,
        triggers=2,
        max_retries=50,
        budget=0.01 + 50 * 0.01,
    ),
    _trigger_case(
        "connection_dropped",
        _fault("drop_connections", SYNC, 100),
        DROPPED,
        kind="no_response",
        enveloped=False,
        prefix=MAYBE_STARTED,
    ),
    _trigger_case(
        "invalid_json",
        _fault("invalid_json", SYNC, 100),
        NOT_JSON,
        kind="unreadable_response",
    ),
    _trigger_case(
        "success_false",
        _fault("respond_success_false", SYNC, 100),
        SUCCESS_FALSE,
        kind="api_error",
    ),
    *[_poll_case(f"http_{s}", _fail(INFO, s), _status(s), 3) for s in (500, 502, 503, 504)],
    _poll_case(
        "http_429_retry_after",
        _fail(INFO, 429, retry_after=0),
        _status(429),
        3,
    ),
    _poll_case(
        "connection_dropped",
        _fault("drop_connections", INFO, 100),
        DROPPED,
        3,
        kind="no_response",
    ),
    _poll_case(
        "invalid_json",
        _fault("invalid_json", INFO, 100),
        NOT_JSON,
        1,
        kind="unreadable_response",
    ),
    _poll_case(
        "success_false",
        _fault("respond_success_false", INFO, 100),
        SUCCESS_FALSE,
        1,
        kind="api_error",
    ),
    _poll_case(
        "malformed_status",
        _fault("malformed_status", 100),
        MALFORMED,
        1,
        kind="unreadable_response",
    ),
    SyncCase(
        id="poll_http_429_retry_after_once",
        arrange=_after_the_baseline(_fail(INFO, 429, count=1, retry_after=1)),
        success=True,
        max_retries=50,
        budget=1 + 50 * 0.01,
    ),
    SyncCase(
        id="poll_connection_dropped_twice",
        arrange=_after_the_baseline(_fault("drop_connections", INFO, 2)),
        success=True,
        max_retries=50,
        budget=50 * 0.01,
    ),
    SyncCase(
        id="poll_http_500_twice",
        arrange=_after_the_baseline(_fail(INFO, 500, count=2)),
        success=True,
        max_retries=50,
        budget=50 * 0.01,
    ),
    SyncCase(
        id="one_failed_poll_of_each_kind",
        arrange=_after_the_baseline(_one_of_each_poll_fault),
        success=True,
        max_retries=50,
        budget=50 * 0.01,
    ),
    SyncCase(
        id="baseline_read_fails_twice",
        arrange=_fail(INFO, 500, count=2),
        success=True,
        max_retries=50,
        budget=50 * 0.01 + 2 * 0.01,
    ),
    SyncCase(
        id="baseline_read_fails_every_time",
        arrange=_fail(INFO, 503, count=3),
        success=False,
        message=NOT_STARTED + BASELINE_FAILED + _status(503),
        kind="http_status",
        accepted=False,
        triggers=0,
        info_requests=3,
        min_seconds=2 * 0.01,
        budget=2 * 0.01,
        final_status=None,
        reported=((),),
    ),
    SyncCase(
        id="slow_responses_under_the_timeout",
        arrange=_slow,
        success=True,
        max_retries=50,
        min_seconds=0.2,
        budget=50 * (0.1 + 0.01),
    ),
    SyncCase(
        id="the_task_fails",
        arrange=_fault("fail_tasks", "disk full"),
        success=False,
        message=r"sync failed: ctx-a at /home/data \(upload\): disk full",
        kind="task_failed",
        max_retries=50,
        budget=50 * 0.01,
        final_status="Failed",
        reported=(("Failed",),),
    ),
    SyncCase(
        id="the_task_never_finishes",
        arrange=_fault("hang_tasks", None),
        success=False,
        message=(
            r"timed out after \d+\.\ds \(3 polls\) waiting for the sync to finish; "
            r"still running on the server: ctx-a at /home/data \((Running|Pending)\)"
        ),
        kind="still_running",
        info_requests=4,
        min_seconds=2 * 0.01,
        budget=2 * 0.01,
        final_status="Running",
        # The first half of a task's delay (0 here) is Pending: a busy machine may see it.
        reported=(("Running",), ("Pending",)),
    ),
]


def _check_callback_and_bounds(
    outcome: Outcome, success: bool, min_s: float, budget: float
) -> None:
    assert outcome.calls == (success,), "the callback must be called exactly once"
    assert min_s * 0.95 <= outcome.elapsed <= budget + SLACK, outcome.elapsed
    assert outcome.leftover_tasks == 0, "tasks left on the caller's loop"


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_sync_fault_matrix(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    watch: Watch,
    case: SyncCase,
    style: str,
) -> None:
    (agb_clean_emulator.session_path(session_id, MOUNT) / "f.txt").write_text(case.id)
    # Faults and counts are aimed at this test's session: a request another
    # test left behind on the shared emulator neither takes a fault nor counts.
    case.arrange(AimedFaults(agb_clean_emulator.faults, session_id))
    cm = agb_context_manager(session_id, retry=FAST, timeout=5.0)

    outcome = run_sync(
        style,
        cm,
        watch,
        context_id=CONTEXT_ID,
        path=MOUNT,
        max_retries=case.max_retries,
        retry_interval=case.retry_interval,
    )

    result = outcome.result
    assert result is not None
    assert result.success is case.success, result.error_message
    if case.success:
        assert result.error_message == ""
    else:
        assert matches(case.message, result.error_message, endpoint=agb_clean_emulator.endpoint), (
            result.error_message
        )
    assert result.error_kind == case.kind
    assert tuple(t.status for t in result.context_status_data) in case.reported
    _check_callback_and_bounds(outcome, case.success, case.min_seconds, case.budget)

    mine = [r for r in agb_clean_emulator.requests if r.session_id == session_id]
    triggers = [r for r in mine if r.path == SYNC_PATH]
    polls = [r for r in mine if r.path == INFO_PATH]
    assert len(triggers) == case.triggers, "the trigger is sent again only when turned away"
    if case.info_requests is None:
        assert polls
    else:
        assert len(polls) == case.info_requests
    if case.accepted:
        assert outcome.request_id == result.request_id == triggers[-1].request_id
    else:
        assert outcome.request_id is None
        if case.triggers:
            assert result.request_id == (triggers[-1].request_id if case.enveloped else "")
        else:
            assert result.request_id == polls[-1].request_id

    if case.final_status is None:
        assert agb_clean_emulator.tasks(session_id) == []
    else:
        final = wait_until(
            lambda: [
                t for t in agb_clean_emulator.tasks(session_id) if t.status == case.final_status
            ],
            what=f"the task to be {case.final_status}",
        )
        assert len(agb_clean_emulator.tasks(session_id)) == len(final) == 1
    watch.assert_clean()


@pytest.mark.parametrize("style", STYLES)
def test_sync_when_the_connection_is_refused(
    refused_endpoint: str, watch: Watch, style: str
) -> None:
    cm = ContextManager("session-x", api_key="k-refused", endpoint=refused_endpoint, retry=FAST)
    outcome = run_sync(style, cm, watch, retry_interval=10)
    assert outcome.result is not None
    assert not outcome.result.success
    assert matches(
        NOT_STARTED
        + BASELINE_FAILED
        + r"could not reach {endpoint}: \[Errno \d+\] Connection refused",
        outcome.result.error_message,
        endpoint=refused_endpoint,
    ), outcome.result.error_message
    assert outcome.result.request_id == ""
    assert outcome.request_id is None
    # Three tries of the status read a sync makes before it starts, 10 ms apart.
    _check_callback_and_bounds(outcome, False, 0.0, 2 * 0.01)
    watch.assert_clean()


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("endpoint", [SYNC, INFO])
def test_sync_read_timeout(
    latency_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    watch: Watch,
    endpoint: str,
    style: str,
) -> None:
    sid = latency_emulator.create_session(mounts={CONTEXT_ID: MOUNT})
    # Far apart, so that only a late read can time out (never the connect, on loopback).
    timeout, latency, polls = 0.25, 0.75, 1
    latency_emulator.faults.set_latency(endpoint, latency, count=None)
    cm = agb_context_manager(
        sid,
        endpoint=latency_emulator.endpoint,
        api_key=latency_emulator.api_key,
        retry=FAST,
        timeout=timeout,
    )

    outcome = run_sync(style, cm, watch, max_retries=polls, retry_interval=10)

    result = outcome.result
    assert result is not None
    no_response = r"no response from {endpoint} within 0\.25s \(ReadTimeout\)"
    if endpoint == SYNC:
        # The trigger may have reached the server: it is not sent again.
        expected, sent = MAYBE_STARTED + no_response, [INFO_PATH, SYNC_PATH]
        least, most = timeout, timeout
    else:
        # The status read before the start: three tries of one request, 10 ms apart.
        expected = NOT_STARTED + BASELINE_FAILED + no_response
        sent = [INFO_PATH] * 3
        least = 3 * timeout
        most = least + 2 * 0.01
    assert matches(expected, result.error_message, endpoint=latency_emulator.endpoint), (
        result.error_message
    )
    _check_callback_and_bounds(outcome, False, least, most)
    # Requests given up on are answered once their latency is over: wait for each one.
    wait_until(lambda: len(latency_emulator.requests) >= len(sent), what="the abandoned requests")
    assert sorted(r.path for r in latency_emulator.requests) == sorted(sent)
    watch.assert_clean()


class _FailedPolls(logging.Handler):
    """Sets ``seen`` once the SDK logs a failed poll."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if re.fullmatch(r"poll \d+/\d+ of sync \S* failed: .*", message, flags=re.DOTALL):
            self.seen.set()


@pytest.fixture
def failed_polls() -> Iterator[_FailedPolls]:
    handler = _FailedPolls()
    logger = logging.getLogger("agb_context")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _polled_while_running(emu: Emulator, sid: str) -> None:
    """Wait until the SDK has seen the task ``Running``.

    Polls of one sync follow one another: of two polls recorded after the task
    was seen running, the second was answered after that, so it reported it.
    """

    def polls() -> int:
        return sum(r.path == INFO_PATH for r in emu.requests)

    wait_until(lambda: [t.status for t in emu.tasks(sid)] == ["Running"], what="a running task")
    seen = polls()
    wait_until(lambda: polls() >= seen + 2, what="polls of the running task")


@pytest.mark.parametrize("style", STYLES)
def test_emulator_stopped_and_restarted_mid_poll(
    make_emulator: Callable[..., Emulator],
    agb_context_manager: ContextManagerFactory,
    failed_polls: _FailedPolls,
    tmp_path: Path,
    watch: Watch,
    style: str,
) -> None:
    """The task left running at the stop runs again after the restart: the sync succeeds."""
    data_dir, port = tmp_path / "data", free_port()
    first = make_emulator(data_dir=data_dir, port=port)
    sid = first.create_session(mounts={CONTEXT_ID: MOUNT})
    (first.session_path(sid, MOUNT) / "f.txt").write_text("written before the sync")
    first.faults.hang_tasks(count=None)
    cm = agb_context_manager(sid, endpoint=first.endpoint, api_key=first.api_key, retry=FAST)
    restarted: list[Emulator] = []

    def stop_then_restart(operation: SyncOperation) -> None:
        _polled_while_running(first, sid)
        first.stop()
        assert failed_polls.seen.wait(30), "no poll failed while the emulator was down"
        assert not operation.done()
        restarted.append(make_emulator(data_dir=data_dir, port=port, api_key=first.api_key))

    outcome = run_sync(
        style,
        cm,
        watch,
        during=stop_then_restart,
        context_id=CONTEXT_ID,
        path=MOUNT,
        max_retries=1000,
        retry_interval=20,
    )

    result = outcome.result
    assert result is not None
    assert result.success, result.error_message
    assert [(t.context_id, t.status) for t in result.context_status_data] == [
        (CONTEXT_ID, "Success")
    ]
    (trigger,) = [r for r in first.requests if r.path == SYNC_PATH]
    assert outcome.request_id == result.request_id == trigger.request_id
    (second,) = restarted
    assert second.endpoint == first.endpoint
    assert [r.path for r in second.requests if r.path == SYNC_PATH] == []
    assert [t.status for t in second.tasks(sid)] == ["Success"]
    stored = second.context_path(CONTEXT_ID) / "f.txt"
    assert stored.read_text() == "written before the sync"
    _check_callback_and_bounds(outcome, True, 0.0, 20.0)
    watch.assert_clean()


@pytest.mark.parametrize("style", STYLES)
def test_emulator_stopped_mid_poll_and_never_back(
    make_emulator: Callable[..., Emulator],
    agb_context_manager: ContextManagerFactory,
    failed_polls: _FailedPolls,
    watch: Watch,
    style: str,
) -> None:
    """The polls run out: a timeout that names the last poll's failure.

    Stopping takes 0.1-0.2 s; the polls go on for 1.2 s, so the last ones fail.
    """
    emu = make_emulator()
    sid = emu.create_session(mounts={CONTEXT_ID: MOUNT})
    emu.faults.hang_tasks(count=None)
    endpoint = emu.endpoint
    cm = agb_context_manager(sid, endpoint=endpoint, api_key=emu.api_key, retry=FAST)
    polls, interval = 25, 50

    def stop(operation: SyncOperation) -> None:
        _polled_while_running(emu, sid)
        emu.stop()

    outcome = run_sync(
        style,
        cm,
        watch,
        during=stop,
        context_id=CONTEXT_ID,
        path=MOUNT,
        max_retries=polls,
        retry_interval=interval,
    )

    result = outcome.result
    assert result is not None
    assert not result.success
    assert failed_polls.seen.is_set()
    assert matches(
        r"timed out after \d+\.\ds \(25 polls\) waiting for the sync to finish; "
        r"still running on the server: ctx-a at /home/data \(Running\); "
        r"the last poll failed: could not reach {endpoint}: \[Errno \d+\] Connection refused",
        result.error_message,
        endpoint=endpoint,
    ), result.error_message
    assert [t.status for t in result.context_status_data] == ["Running"]
    least = (polls - 1) * interval / 1000
    _check_callback_and_bounds(outcome, False, least, least + polls * FAST_BACKOFF)
    watch.assert_clean()


@pytest.mark.parametrize("style", STYLES)
def test_manager_closed_mid_poll(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    watch: Watch,
    style: str,
) -> None:
    """Closing cancels the watch: the callback gets False once and polling stops."""
    agb_clean_emulator.faults.hang_tasks(count=None)
    cm = agb_context_manager(session_id, retry=FAST)

    def close(operation: SyncOperation) -> None:
        _polled_while_running(agb_clean_emulator, session_id)
        cm.close()
        assert operation.cancelled()

    outcome = run_sync(style, cm, watch, during=close, max_retries=100_000, retry_interval=10)

    assert outcome.result is None, "a cancelled sync has no result"
    assert (
        outcome.request_id
        == next(r for r in agb_clean_emulator.requests if r.path == SYNC_PATH).request_id
    )
    _check_callback_and_bounds(outcome, False, 0.0, 0.0)
    watch.assert_clean()
