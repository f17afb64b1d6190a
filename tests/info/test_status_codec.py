"""The twice-encoded contextStatus codec, and info() parsing, under arbitrary input."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agb_context import ContextStatusData
from agb_context import _status_codec as codec
from agb_context._calls import _info_result
from agb_context._status_codec import (
    ContextStatusError,
    decode_context_status,
    encode_context_status,
)
from agb_context_api.models import ContextInfoResponse
from agb_context_api.types import Response

texts = st.text(max_size=40)
times = st.integers(min_value=0, max_value=2**53)
tasks = st.builds(
    ContextStatusData,
    context_id=texts,
    path=texts,
    status=st.sampled_from(["Pending", "Running", "Success", "Failed"]) | texts,
    task_type=st.sampled_from(["upload", "download"]) | texts,
    start_time=times,
    finish_time=times,
    error_message=texts,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(tasks, max_size=6))
def test_valid_documents_decode_to_exactly_the_tasks_encoded(
    encoded: list[ContextStatusData],
) -> None:
    assert decode_context_status(encode_context_status(encoded)) == tuple(encoded)


def test_empty_status_means_no_tasks() -> None:
    assert decode_context_status("") == ()
    assert encode_context_status([]) == ""


def test_missing_fields_take_their_defaults_and_other_items_are_skipped() -> None:
    inner = json.dumps([{"contextId": "c"}, {}])
    raw = json.dumps([{"type": "log", "data": "not json"}, {"type": "data", "data": inner}])
    assert decode_context_status(raw) == (ContextStatusData(context_id="c"), ContextStatusData())


@given(st.text(max_size=200))
def test_arbitrary_strings_decode_or_raise_the_codec_error(raw: str) -> None:
    with contextlib.suppress(ContextStatusError):
        decode_context_status(raw)


@given(json_values)
def test_arbitrary_json_at_either_level_decodes_or_raises_the_codec_error(value: object) -> None:
    for raw in (json.dumps(value), json.dumps([{"type": "data", "data": json.dumps(value)}])):
        try:
            decoded = decode_context_status(raw)
        except ContextStatusError:
            continue
        assert all(isinstance(task, ContextStatusData) for task in decoded)


def _response(status: int, body: bytes) -> Response[ContextInfoResponse]:
    parsed = None
    try:
        parsed = ContextInfoResponse.from_dict(json.loads(body))
    except Exception:
        parsed = None
    return Response(
        status_code=HTTPStatus(status),
        content=body,
        headers=httpx.Headers({"x-request-id": "hdr-id"}),
        parsed=parsed,
    )


@settings(max_examples=200)
@given(st.text(max_size=120) | json_values.map(json.dumps))
def test_info_never_raises_for_any_context_status(raw: str) -> None:
    body = json.dumps({"success": True, "requestId": "R", "data": {"contextStatus": raw}})
    result = _info_result(_response(200, body.encode()))
    assert result.request_id == "R"
    if not result.success:
        assert "could not be parsed" in result.error_message


@given(st.binary(max_size=80), st.sampled_from([200, 400, 404, 500, 503]))
def test_info_never_raises_for_any_body(body: bytes, status: int) -> None:
    result = _info_result(_response(status, body))
    if status != 200:
        assert not result.success
        assert f"HTTP {status}" in result.error_message


def _long_list(count: int) -> list[ContextStatusData]:
    return [
        ContextStatusData(context_id=f"ctx-{i}", path=f"/home/{i}", status="Success")
        for i in range(count)
    ]


def test_a_long_task_list_is_decoded_one_task_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """One `json.loads` of megabytes would hold the interpreter lock, and so stall the
    event loop, while a worker thread decodes it; item by item, other threads get turns."""
    listed = _long_list(2000)
    raw = encode_context_status(listed)
    assert len(raw) > 2 * codec._ONE_CALL
    calls: list[int] = []
    decoder = codec._DECODER

    class Counting:
        def raw_decode(self, text: str, at: int) -> tuple[Any, int]:
            calls.append(at)
            return decoder.raw_decode(text, at)

    monkeypatch.setattr(codec, "_DECODER", Counting())
    assert decode_context_status(raw) == tuple(listed)
    assert len(calls) == len(listed)


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[:-1],  # no closing bracket
        lambda text: text + "x",  # extra data
        lambda text: text.replace("},{", "};{", 1),
        lambda text: text.replace("},{", "},,{", 1),
        lambda text: text.replace('"contextId"', "contextId", 1),
        lambda text: "{" + text[1:],  # not a list
    ],
)
def test_a_damaged_long_task_list_is_the_codec_error_as_a_short_one_is(
    damage: Callable[[str], str],
) -> None:
    inner = json.dumps(
        [codec.task_to_wire(task) for task in _long_list(2000)], separators=(",", ":")
    )
    assert len(inner) > codec._ONE_CALL
    raw = json.dumps([{"type": "data", "data": damage(inner)}])
    with pytest.raises(ContextStatusError, match="data is not"):
        decode_context_status(raw)


def test_white_space_around_a_long_task_list_is_json_s() -> None:
    listed = _long_list(1500)
    inner = json.dumps([codec.task_to_wire(task) for task in listed], indent=2)
    for text in (f" \n{inner}\t ", inner.replace("[", "[ \r\n", 1)):
        raw = json.dumps([{"type": "data", "data": text}])
        assert decode_context_status(raw) == tuple(listed)
