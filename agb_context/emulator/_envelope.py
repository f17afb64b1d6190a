"""The answers every route gives: the cloud's success and error envelopes.

Both carry ``requestId`` (the id the gateway gave the request) and
``httpStatusCode``; an error also carries a ``code`` and a ``message`` for a
person.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

ERROR_CODES = {
    400: "InvalidParameter",
    401: "InvalidApiKey",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "Throttling",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
"""The ``code`` of an error answer when nothing more specific is known, by HTTP status."""


def success(request_id: str, **extra: Any) -> JSONResponse:
    """The success envelope, with ``extra`` members."""
    body = {"success": True, "code": "", "message": "", "requestId": request_id}
    return JSONResponse({**body, "httpStatusCode": 200, **extra})


def failure(
    request_id: str,
    status: int,
    message: str,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The error envelope: ``success: false``, a ``code`` and a ``message`` for a person."""
    body = {
        "success": False,
        "code": code or ERROR_CODES.get(status, "Error"),
        "message": message,
        "requestId": request_id,
        "httpStatusCode": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def request_id(request: Request) -> str:
    """The id the gateway gave this request."""
    return str(request.scope["state"]["request_id"])
