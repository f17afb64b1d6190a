"""What a request gets instead of an answer when a fault is injected into it."""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Send

from agb_context.emulator._envelope import failure, success
from agb_context.emulator._faults import RequestFault

_MALFORMED_STATUS = '[{"type":"data","data":"[{\\"contextId\\":'
_ENCODED_ONCE = [
    {"type": "data", "data": [{"contextId": "ctx-1", "path": "/home/data", "status": "Running"}]}
]
_NOT_JSON = b'{"success": true, "requestId": '


def faulty_response(fault: RequestFault, rid: str) -> Response:
    """The answer a fault other than ``drop`` gives to request ``rid``."""
    if fault.kind == "status":
        headers = None if fault.retry_after is None else {"Retry-After": fault.retry_after}
        message = fault.message or f"injected fault: HTTP {fault.status}"
        return failure(rid, fault.status, message, fault.code, headers=headers)
    if fault.kind == "success_false":
        return JSONResponse(
            {
                "success": False,
                "code": fault.code or "InjectedFault",
                "message": fault.message
                or "injected fault: the request failed although the HTTP status is 200",
                "requestId": rid,
                "httpStatusCode": 200,
            }
        )
    if fault.kind == "invalid_json":
        return Response(_NOT_JSON, media_type="application/json")
    status = _ENCODED_ONCE if fault.encoded_once else _MALFORMED_STATUS
    return success(rid, data={"contextStatus": status})


async def drop_connection(receive: Receive, send: Send) -> None:
    """Close the connection without answering.

    The request body is read first, so the client sees the connection closed
    (not reset). Under uvicorn the connection's transport is reachable from
    ``send``; closing it ends the connection before a byte of an answer is
    written. Elsewhere, an answer is started and then broken off.
    """
    while (await receive()).get("more_body", False):
        pass
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if isinstance(transport, asyncio.Transport):
        transport.close()
        for _ in range(100):
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0)
        return
    headers = [(b"content-length", b"64")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ConnectionDropped


class ConnectionDropped(Exception):
    """Raised to make a server other than uvicorn break off an answer it started."""
