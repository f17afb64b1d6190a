"""Big ``GetContextInfo`` answers: decoded off the event loop, refused above a size.

These use `httpx.MockTransport`: the emulator lists at most 100 tasks a session,
so it cannot be made to send megabytes of task status.
"""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest

from agb_context import ContextManager, ContextStatusData
from agb_context import _calls as calls
from agb_context._status_codec import encode_context_status


def _answer(tasks: int) -> bytes:
    listed = [
        ContextStatusData(
            context_id=f"ctx-{i}", path=f"/home/data/{i}", status="Success", task_type="upload"
        )
        for i in range(tasks)
    ]
    data = {"contextStatus": encode_context_status(listed)}
    envelope = {"success": True, "code": "", "message": "", "requestId": "r-1", "data": data}
    return json.dumps(envelope).encode()


async def _info_from(content: bytes) -> object:
    cm = ContextManager("s-1", api_key="k", endpoint="http://127.0.0.1:9")
    client = await cm._async_client()
    client.get_async_httpx_client()._transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=content)
    )
    try:
        return await cm.info_async()
    finally:
        await cm.aclose()


def test_a_big_answer_is_decoded_on_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    content = _answer(1000)
    assert len(content) > calls.OFF_LOOP_BYTES
    decoded_on: list[threading.Thread] = []
    decode = calls.decode_context_status

    def recording(raw: str) -> tuple[ContextStatusData, ...]:
        decoded_on.append(threading.current_thread())
        return decode(raw)

    monkeypatch.setattr(calls, "decode_context_status", recording)
    result = asyncio.run(_info_from(content))
    assert result.success  # type: ignore[attr-defined]
    assert len(result.context_status_data) == 1000  # type: ignore[attr-defined]
    assert decoded_on
    assert threading.main_thread() not in decoded_on


def test_a_small_answer_is_decoded_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded_on: list[threading.Thread] = []
    decode = calls.decode_context_status

    def recording(raw: str) -> tuple[ContextStatusData, ...]:
        decoded_on.append(threading.current_thread())
        return decode(raw)

    monkeypatch.setattr(calls, "decode_context_status", recording)
    assert asyncio.run(_info_from(_answer(3))).success  # type: ignore[attr-defined]
    assert decoded_on == [threading.main_thread()]


def test_an_answer_above_the_limit_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calls, "MAX_INFO_BYTES", 100 * 1024)

    def never(raw: str) -> tuple[ContextStatusData, ...]:
        raise AssertionError("an answer above the limit was decoded")

    monkeypatch.setattr(calls, "decode_context_status", never)
    result = asyncio.run(_info_from(_answer(1000)))
    assert not result.success  # type: ignore[attr-defined]
    assert result.error_kind == "unreadable_response"  # type: ignore[attr-defined]
    assert "more than the 100 KiB" in result.error_message  # type: ignore[attr-defined]
    assert "fewer tasks" in result.error_message  # type: ignore[attr-defined]
