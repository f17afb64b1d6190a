"""The retry policy itself: backoff, ``Retry-After``, what may be sent again, opting out.

Which failures ``info`` and ``sync`` retry, with what outcome, is in the fault
matrices (tests/info/test_fault_matrix_info.py, tests/sync/test_fault_matrix_sync.py).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from agb_context import RetryPolicy
from agb_context._client import build_async_client, build_client
from agb_context._config import resolve_settings
from agb_context._retry import NO_RETRY_EXTENSION, parse_retry_after
from agb_context.emulator import Emulator

FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)


def _count(emu: Emulator, path: str) -> int:
    return sum(1 for r in emu.requests if r.path == path)


def _info_params(session_id: str) -> dict[str, str]:
    return {"sessionId": session_id}


def test_a_request_marked_not_to_be_retried_is_sent_once(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    settings = resolve_settings(
        api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint, retry=FAST
    )
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=503, count=2)
    with build_client(settings) as client:
        http = client.get_httpx_client()
        once = http.get(
            "/sdk/GetContextInfo",
            params=_info_params(session_id),
            extensions={NO_RETRY_EXTENSION: False},
        )
        assert once.status_code == 503
        assert _count(agb_clean_emulator, "/sdk/GetContextInfo") == 1
        # Without the mark the same client retries (the second fault, then success).
        again = http.get("/sdk/GetContextInfo", params=_info_params(session_id))
        assert again.status_code == 200
        assert _count(agb_clean_emulator, "/sdk/GetContextInfo") == 3


def test_a_request_marked_not_to_be_retried_is_sent_once_async(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    settings = resolve_settings(
        api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint, retry=FAST
    )
    agb_clean_emulator.faults.drop_connections("GetContextInfo", count=1)

    async def main() -> None:
        async with build_async_client(settings) as client:
            http = client.get_async_httpx_client()
            with pytest.raises(httpx.TransportError):
                await http.get(
                    "/sdk/GetContextInfo",
                    params=_info_params(session_id),
                    extensions={NO_RETRY_EXTENSION: False},
                )

    asyncio.run(main())
    assert _count(agb_clean_emulator, "/sdk/GetContextInfo") == 1


def _request(method: str) -> httpx.Request:
    return httpx.Request(method, "https://api.example.test/sdk/x")


def test_policy_retries_a_post_only_when_the_connection_was_never_made() -> None:
    # A real server cannot be made to refuse a connection and then accept the
    # retried one within one request, so the decision itself is checked here.
    policy = RetryPolicy(max_retries=2)
    post = _request("POST")
    assert policy.delay_after_error(post, 0, httpx.ConnectError("refused")) is not None
    assert policy.delay_after_error(post, 0, httpx.ConnectTimeout("slow")) is not None
    assert policy.delay_after_error(post, 0, httpx.ProxyError("no tunnel")) is not None
    assert policy.delay_after_error(post, 0, httpx.ReadError("reset")) is None
    assert policy.delay_after_error(post, 0, httpx.ReadTimeout("slow")) is None
    assert policy.delay_after_error(_request("GET"), 0, httpx.ReadError("reset")) is not None
    assert policy.delay_after_error(_request("GET"), 2, httpx.ReadError("reset")) is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(50)}
        assert all(0.75 * ceiling <= d <= ceiling for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("", None), ("soon", None)],
)
def test_retry_after_parsing(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    parsed = parse_retry_after(when)
    assert parsed is not None
    assert 25 <= parsed <= 31


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 2.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": "3"}, "max_retries"),
        ({"initial_delay": "1"}, "initial_delay"),
        ({"initial_delay": float("inf")}, "initial_delay"),
        ({"max_delay": float("inf")}, "max_delay"),
        ({"max_delay": float("nan")}, "max_delay"),
        ({"max_retry_after": -1}, "max_retry_after"),
        ({"max_retry_after": False}, "max_retry_after"),
    ],
)
def test_a_policy_refuses_bad_values_by_name(arguments: dict[str, object], named: str) -> None:
    """An endless backoff would wait for ever (or overflow the sleep), and a count that is
    not a whole number is a typo: both are refused when the policy is made."""
    with pytest.raises((TypeError, ValueError), match=named):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


def test_a_policy_takes_whole_seconds_and_no_cap_on_retry_after() -> None:
    policy = RetryPolicy(
        max_retries=3, initial_delay=1, max_delay=10, max_retry_after=float("inf")
    )
    assert policy.max_retry_after == float("inf")
