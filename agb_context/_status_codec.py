"""The twice-encoded ``contextStatus`` of ``GetContextInfo``: one codec, both ways.

``contextStatus`` is a JSON string whose decoding is a list of items
``{"type": ..., "data": ...}``; the ``data`` of each item of type ``data`` is
again a JSON string, whose decoding is a list of task status objects.

A long list of tasks is decoded one task at a time: async calls decode big
answers on a worker thread, and one `json.loads` of megabytes would hold the
interpreter lock, and so stall the event loop, for tens of milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from agb_context._results import ContextStatusData
from agb_context._types import TASK_WIRE_NAMES as _WIRE_NAMES

_TIME_FIELDS = frozenset({"start_time", "finish_time"})
_ONE_CALL = 64 * 2**10
"""Lists in texts up to this size are decoded by one `json.loads`, longer ones item by item."""
_DECODER = json.JSONDecoder()


class ContextStatusError(ValueError):
    """``contextStatus`` is not the twice-encoded document the API defines."""


def task_to_wire(task: ContextStatusData) -> dict[str, Any]:
    """One task as its JSON object on the wire (camelCase keys)."""
    return {wire: getattr(task, name) for name, wire in _WIRE_NAMES.items()}


def encode_context_status(tasks: Iterable[ContextStatusData]) -> str:
    """Encode tasks as a ``contextStatus`` string (``""`` when there are none)."""
    objects = [task_to_wire(task) for task in tasks]
    if not objects:
        return ""
    inner = json.dumps(objects, ensure_ascii=False, separators=(",", ":"))
    return json.dumps([{"type": "data", "data": inner}], ensure_ascii=False, separators=(",", ":"))


def decode_context_status(raw: str) -> tuple[ContextStatusData, ...]:
    """Decode a ``contextStatus`` string into tasks, in the order reported.

    Raises `ContextStatusError` when either level is not valid JSON or not of
    the documented shape. ``""`` means no tasks.
    """
    if raw == "":
        return ()
    items = _load_list(raw, "contextStatus")
    tasks: list[ContextStatusData] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ContextStatusError(f"contextStatus item {index} is not a JSON object")
        if item.get("type") != "data":
            continue
        data = item.get("data")
        if not isinstance(data, str):
            raise ContextStatusError(f"contextStatus item {index}: 'data' is not a string")
        if data == "":
            continue
        for position, obj in enumerate(_list_items(data, f"contextStatus item {index} data")):
            tasks.append(task_from_wire(obj, f"task {position} of item {index}"))
    return tuple(tasks)


def _list_items(text: str, what: str) -> Iterator[Any]:
    """The items of the JSON list ``text``; a long one is decoded an item at a time."""
    if len(text) <= _ONE_CALL:
        yield from _load_list(text, what)
        return
    at = _skip_space(text, 0)
    if not text.startswith("[", at):
        yield from _load_list(text, what)  # not a list: the same error as a short text
        return
    at = _skip_space(text, at + 1)
    closed = text.startswith("]", at)
    if closed:
        at += 1
    while not closed:
        try:
            item, at = _DECODER.raw_decode(text, at)
        except (ValueError, RecursionError) as exc:
            raise ContextStatusError(f"{what} is not valid JSON: {exc}") from None
        yield item
        at = _skip_space(text, at)
        if text.startswith(",", at):
            at = _skip_space(text, at + 1)
        elif text.startswith("]", at):
            at, closed = at + 1, True
        else:
            raise ContextStatusError(f"{what} is not valid JSON: ',' or ']' expected at {at}")
    if _skip_space(text, at) != len(text):
        raise ContextStatusError(f"{what} is not valid JSON: extra data at {at}")


def _skip_space(text: str, at: int) -> int:
    """Where the first character at or after ``at`` that is not JSON white space is."""
    while at < len(text) and text[at] in " \t\n\r":
        at += 1
    return at


def _load_list(text: str, what: str) -> list[Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ContextStatusError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise ContextStatusError(f"{what} is not a JSON list")
    return value


def task_from_wire(obj: Any, where: str = "task") -> ContextStatusData:
    """One task from its JSON object; `ContextStatusError` names ``where`` when it
    is not of the documented shape. Fields left out keep their defaults."""
    if not isinstance(obj, dict):
        raise ContextStatusError(f"{where} is not a JSON object")
    fields: dict[str, Any] = {}
    for name, wire in _WIRE_NAMES.items():
        value = obj.get(wire)
        if value is None:
            continue
        if name in _TIME_FIELDS:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ContextStatusError(f"{where}: {wire} is not an integer")
        elif not isinstance(value, str):
            raise ContextStatusError(f"{where}: {wire} is not a string")
        fields[name] = value
    return ContextStatusData(**fields)
