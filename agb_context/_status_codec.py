"""The twice-encoded ``contextStatus`` of ``GetContextInfo``: one codec, both ways.

``contextStatus`` is a JSON string whose decoding is a list of items
``{"type": ..., "data": ...}``; the ``data`` of each item of type ``data`` is
again a JSON string, whose decoding is a list of task status objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from agb_context._results import ContextStatusData
from agb_context._types import TASK_WIRE_NAMES as _WIRE_NAMES

_TIME_FIELDS = frozenset({"start_time", "finish_time"})


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
        for position, obj in enumerate(_load_list(data, f"contextStatus item {index} data")):
            tasks.append(task_from_wire(obj, f"task {position} of item {index}"))
    return tuple(tasks)


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
