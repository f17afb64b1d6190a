"""``ContextService.clear``: a handle of the same family as a sync's, on the same polling
routine, in every calling style."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from support import CallbackRecorder, CannedServer, drain_background, wait_until

from agb_context import (
    ClearContextResult,
    ClearOperation,
    ContextService,
    NotFoundError,
    PollingPolicy,
    Progress,
    StillRunningError,
)
from agb_context.emulator import Emulator

DELAY = 0.3
"""How long the emulator takes to clear a context."""


@pytest.fixture
def clearing_emulator(agb_clean_emulator: Emulator) -> Emulator:
    """The plugin's clean emulator, taking `DELAY` to clear a context."""
    agb_clean_emulator.set_task_delay(DELAY)
    return agb_clean_emulator


@pytest.fixture
def clearing_service(
    make_service: Callable[..., ContextService], clearing_emulator: Emulator
) -> ContextService:
    """A `ContextService` of the clearing emulator."""
    return make_service(clearing_emulator)


def _context_with_data(service: ContextService, emu: Emulator) -> str:
    made = service.create(f"clear-{time.monotonic_ns()}")
    assert made.context is not None, made.error_message
    stored = emu.context_path(made.context.id)
    stored.mkdir()
    (stored / "data.bin").write_bytes(b"x" * 1000)
    return made.context.id


def _run(
    style: str, start: Callable[..., ClearOperation]
) -> tuple[ClearContextResult, list[bool]]:
    recorder = CallbackRecorder()
    if style == "awaited":

        async def main() -> ClearContextResult:
            return await start(callback=recorder)

        result = asyncio.run(main())
    elif style == "callback":
        operation = start(callback=recorder)
        recorder.wait()
        result = operation.result(timeout=0)
    else:
        result = start(callback=recorder).result(timeout=60)
    drain_background()
    return result, recorder.calls


@pytest.mark.parametrize("style", ["awaited", "callback", "blocking"])
def test_clear_waits_until_the_data_is_gone(
    clearing_service: ContextService, clearing_emulator: Emulator, style: str
) -> None:
    cid = _context_with_data(clearing_service, clearing_emulator)
    result, calls = _run(style, lambda **kw: clearing_service.clear(cid, poll_interval=0.05, **kw))
    assert result.success, result.error_message
    assert calls == [True]
    assert (result.context_id, result.status, result.error_kind) == (cid, "available", None)
    assert not clearing_emulator.context_path(cid).exists()


def test_progress_shows_the_state_and_ends(
    clearing_service: ContextService, clearing_emulator: Emulator
) -> None:
    cid = _context_with_data(clearing_service, clearing_emulator)
    seen: list[Progress] = []
    operation = clearing_service.clear(cid, poll_interval=0.05)
    operation.add_progress_callback(seen.append)
    assert operation.result(timeout=30).success
    drain_background()
    assert operation.status() == "succeeded"
    assert operation.request_id
    assert operation.progress.state == "available"
    assert operation.progress.polls >= 1
    states = [p.state for p in seen if p.state]  # "" until the first look
    assert set(states) <= {"clearing", "pre-available", "available"}


def test_a_poll_interval_longer_than_the_timeout_still_looks_once(
    clearing_service: ContextService, clearing_emulator: Emulator
) -> None:
    cid = _context_with_data(clearing_service, clearing_emulator)
    clearing_emulator.clear_requests()
    # The clear outlasts the deadline, and the deadline leaves the start time even on a
    # busy machine: 5 s, far below the interval (the next test's reset ends the clear).
    clearing_emulator.set_task_delay(60)
    result = clearing_service.clear(cid, timeout=5, poll_interval=60).result(timeout=60)
    looks = [r for r in clearing_emulator.requests if r.path == "/sdk/GetContext"]
    assert len(looks) == 1
    assert not result.success
    assert result.error_kind == "still_running"
    assert result.status == "clearing"
    with pytest.raises(StillRunningError):
        result.raise_for_status()


def test_an_unknown_context_is_not_found_and_bad_arguments_send_nothing(
    clearing_service: ContextService, clearing_emulator: Emulator
) -> None:
    unknown = clearing_service.clear("SdkCtx-unknown", poll_interval=0.05).result(timeout=30)
    assert (unknown.error_kind, unknown.http_status) == ("http_status", 404)
    with pytest.raises(NotFoundError):
        unknown.raise_for_status()
    clearing_emulator.clear_requests()
    for bad in (
        clearing_service.clear("", poll_interval=0.05),
        clearing_service.clear("ctx", timeout=0),
        clearing_service.clear("ctx", poll_interval=float("nan")),
        clearing_service.clear("ctx", polling="fast"),  # type: ignore[arg-type]
        clearing_service.clear("ctx", timeout=5, polling=PollingPolicy(interval=0.05)),
        clearing_service.clear("ctx", poll_interval=1, polling=PollingPolicy(interval=0.05)),
    ):
        assert bad.done()
        assert bad.result(timeout=0).error_kind == "invalid_argument"
    assert clearing_emulator.requests == []


def test_failed_looks_are_polls_not_an_outcome(
    clearing_service: ContextService, clearing_emulator: Emulator
) -> None:
    cid = _context_with_data(clearing_service, clearing_emulator)
    clearing_emulator.faults.fail_requests("GetContext", 503, count=2)
    result = clearing_service.clear(cid, polling=PollingPolicy(interval=0.05, deadline=30)).result(
        30
    )
    assert result.success, result.error_message
    assert not clearing_emulator.context_path(cid).exists()


def test_closing_the_service_cancels_the_clear_and_calls_back_false(
    clearing_emulator: Emulator,
) -> None:
    service = ContextService(
        api_key=clearing_emulator.api_key, endpoint=clearing_emulator.endpoint
    )
    cid = _context_with_data(service, clearing_emulator)
    recorder = CallbackRecorder()
    operation = service.clear(cid, timeout=30, poll_interval=5, callback=recorder)
    service.close()
    assert recorder.wait() == [False]
    assert operation.cancelled()


@pytest.mark.parametrize("deleted", ["before_the_first_look", "while_clearing"])
def test_a_context_deleted_during_the_clear_ends_the_wait_as_not_found(
    clearing_service: ContextService, clearing_emulator: Emulator, deleted: str
) -> None:
    cid = _context_with_data(clearing_service, clearing_emulator)
    clearing_emulator.set_task_delay(60)  # clearing until the context is deleted
    if deleted == "before_the_first_look":
        clearing_emulator.faults.drop_connections("GetContext", count=None)
    operation = clearing_service.clear(cid, timeout=30, poll_interval=0.05)
    wait_until(lambda: operation.progress.polls >= 1, timeout=30, what="a first look")
    assert clearing_service.delete(cid).success
    clearing_emulator.faults.clear()
    result = operation.result(timeout=60)
    assert not result.success
    # gone: neither "still clearing on the server" nor a wait until the deadline
    assert (result.error_kind, result.http_status, result.retryable) == ("http_status", 404, False)
    assert "deleted" in result.error_message
    with pytest.raises(NotFoundError):
        result.raise_for_status()


@pytest.mark.parametrize("state", ["in-use", "deleting"])
def test_a_state_other_than_available_is_not_read_as_cleared(state: str) -> None:
    """Only ``available`` says the data is gone: the cloud has other states (a context
    ``in-use``...), and one a look shows is waited out, never taken for done."""
    context = {"id": "SdkCtx-c", "name": "c", "state": state}
    with (
        CannedServer() as canned,
        ContextService(api_key="k-canned", endpoint=canned.endpoint) as service,
    ):
        canned.answer(200, json.dumps({"success": True}).encode(), "POST")  # ClearContext
        canned.answer(200, json.dumps({"success": True, "data": context}).encode(), "GET")
        result = service.clear("SdkCtx-c", polling=PollingPolicy(interval=0.01, max_polls=3))
        finished = result.result(timeout=30)
    assert not finished.success
    assert (finished.error_kind, finished.status) == ("still_running", state)
