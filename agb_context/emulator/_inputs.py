"""Reading a request's query and body, with errors that say what to send instead."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from agb_context.emulator import _validation as check
from agb_context.emulator._validation import InvalidValue, MissingValue

BODY_LIMIT = 64 * 1024


def query(request: Request) -> dict[str, str]:
    """The query parameters; a parameter given twice is an error."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise InvalidValue(f"{name} is given more than once: give it once")
        params[name] = value
    return params


def required_session_id(params: dict[str, str], name: str, meaning: str) -> str:
    """The session id in parameter ``name``, which must be there."""
    if name not in params:
        raise MissingValue(f"{name} is required: {meaning}")
    return check.session_id(params[name], name)


async def body(request: Request) -> bytes:
    """The whole body (at most 64 KiB)."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > BODY_LIMIT:
            raise InvalidValue(f"the body is larger than {BODY_LIMIT} bytes")
    return bytes(data)


def parse_json(data: bytes) -> Any:
    """The body decoded as JSON."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidValue("the body is not valid JSON") from None
