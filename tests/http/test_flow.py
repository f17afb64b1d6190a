"""Flow control: the limit on requests in flight per event loop, and what holds a place."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from support import wait_until_async

from agb_context import ConfigurationError, ContextManager
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

THROTTLED = 32
RETRY_AFTER = 5


def _answered(emu: Emulator, session_id: str, status: int) -> int:
    return sum(
        1
        for r in emu.requests
        if r.path == "/sdk/GetContextInfo"
        and r.query.get("sessionId") == session_id
        and r.status == status
    )


def test_a_retry_wait_holds_no_place_in_flight(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    """32 requests throttled with ``Retry-After: 5`` on one loop (twice the limit)
    leave an unrelated manager's ``info_async()`` free to go at once."""
    throttled_sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/a"})
    other_sid = agb_clean_emulator.create_session(mounts={"ctx-b": "/home/b"})
    throttled, other = agb_context_manager(throttled_sid), agb_context_manager(other_sid)
    agb_clean_emulator.faults.fail_requests(
        "GetContextInfo",
        status=429,
        count=THROTTLED,
        retry_after=RETRY_AFTER,
        session_id=throttled_sid,
    )

    async def main() -> tuple[bool, float, int]:
        waiting = [asyncio.create_task(throttled.info_async()) for _ in range(THROTTLED)]
        # Every throttled request got its 429 and now waits to be sent again;
        # with the limit (16) held through those waits, only 16 could have.
        await wait_until_async(
            lambda: _answered(agb_clean_emulator, throttled_sid, 429) >= THROTTLED,
            30,
            "every throttled request to get its 429",
        )
        started = time.monotonic()
        info = await other.info_async()
        took = time.monotonic() - started
        still_waiting = sum(not task.done() for task in waiting)
        results = await asyncio.gather(*waiting)
        assert all(result.success for result in results)
        return info.success, took, still_waiting

    success, took, still_waiting = asyncio.run(main())
    assert success
    # Answered while every throttled request was still in its Retry-After wait.
    assert still_waiting == THROTTLED
    assert took < RETRY_AFTER


def test_the_limit_is_a_setting(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    """With a limit of 1 the requests of a burst are answered one at a time, and all succeed."""
    cm = agb_context_manager(session_id, max_in_flight=1)
    agb_clean_emulator.faults.set_latency("GetContextInfo", 0.05, count=None)

    async def main() -> list[bool]:
        return [r.success for r in await asyncio.gather(*(cm.info_async() for _ in range(6)))]

    assert asyncio.run(main()) == [True] * 6
    arrivals = sorted(
        r.monotonic for r in agb_clean_emulator.requests if r.path == "/sdk/GetContextInfo"
    )
    # Each request was sent only once the one before it had been answered.
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.04


@pytest.mark.parametrize("value", [0, -1, 1.5, "8", True])
def test_a_bad_limit_is_named(
    agb_clean_emulator: Emulator, session_id: str, value: object
) -> None:
    with pytest.raises(ConfigurationError, match="max_in_flight"):
        ContextManager(
            session_id,
            api_key=agb_clean_emulator.api_key,
            endpoint=agb_clean_emulator.endpoint,
            max_in_flight=value,
        )  # type: ignore[arg-type]


def test_the_limit_comes_from_the_environment(
    agb_clean_emulator: Emulator, session_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGB_MAX_IN_FLIGHT", "many")
    with pytest.raises(ConfigurationError, match="AGB_MAX_IN_FLIGHT"):
        ContextManager(
            session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        )
