"""One request each: the generated client's calls, turned into results.

Nothing here raises for an API or network failure: HTTP errors, an envelope
with ``success: false``, a body that is not the documented JSON, unusual
status codes and transport errors all come back as results with
``success=False`` and a message a person can act on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from agb_context._client import LAST_RESPONSE, describe_transport_error
from agb_context._config import Settings
from agb_context._results import ContextInfoResult, ContextSyncResult
from agb_context._status_codec import ContextStatusError, decode_context_status
from agb_context._validation import InfoQuery, SyncRequest
from agb_context_api import AuthenticatedClient
from agb_context_api.api.context import get_context_info, sync_context
from agb_context_api.models import ApiEnvelope, ContextInfoResponse, EmptyBody, SyncMode
from agb_context_api.types import UNSET, Response, Unset

logger = logging.getLogger("agb_context")

MAX_IN_FLIGHT = 16
"""Requests one event loop has in flight at most, across all managers."""
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate() -> asyncio.Semaphore:
    """The running loop's limit on requests in flight.

    A burst of syncs then runs a few requests per loop step, not all of them
    in one long step, and httpcore's pool never queues hundreds of requests.
    """
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_IN_FLIGHT)
    return gate


# What a generated call raises on a body it cannot read (json, from_dict; deep
# nesting) or a status code outside http.HTTPStatus, besides httpx's own errors.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
_FAILURES = (httpx.HTTPError, httpx.InvalidURL, *_UNREADABLE)


@attrs.frozen
class ApiCalls:
    """The context API calls of one session, as results."""

    session_id: str
    settings: Settings

    def info_blocking(self, client: AuthenticatedClient, query: InfoQuery) -> ContextInfoResult:
        """``GetContextInfo`` on a blocking client."""
        LAST_RESPONSE.set(None)
        try:
            response = get_context_info.sync_detailed(client=client, **self._info_args(query))
        except _FAILURES as exc:
            message, request_id = self._describe(exc)
            return ContextInfoResult(success=False, request_id=request_id, error_message=message)
        return _info_result(response)

    async def info(self, client: AuthenticatedClient, query: InfoQuery) -> ContextInfoResult:
        """``GetContextInfo`` on an asyncio client."""
        LAST_RESPONSE.set(None)
        try:
            async with _gate():
                response = await get_context_info.asyncio_detailed(
                    client=client, **self._info_args(query)
                )
        except _FAILURES as exc:
            message, request_id = self._describe(exc)
            return ContextInfoResult(success=False, request_id=request_id, error_message=message)
        return _info_result(response)

    async def start_sync(
        self, client: AuthenticatedClient, request: SyncRequest
    ) -> ContextSyncResult:
        """``SyncContext``: success means the server accepted the sync, not that it is done."""
        LAST_RESPONSE.set(None)
        try:
            async with _gate():
                response = await sync_context.asyncio_detailed(
                    client=client,
                    body=EmptyBody(),
                    session_id=self.session_id,
                    context_id=_unset(request.context_id),
                    path=_unset(request.path),
                    mode=UNSET if request.mode is None else SyncMode(request.mode),
                )
        except _FAILURES as exc:
            message, request_id = self._describe(exc)
            return ContextSyncResult(
                success=False,
                request_id=request_id,
                error_message=f"the sync was not started: {message}",
            )
        envelope = _envelope(response)
        request_id = _request_id(envelope, response.headers)
        failure = _failure(response.status_code, envelope)
        if failure:
            return ContextSyncResult(
                success=False,
                request_id=request_id,
                error_message=f"the sync was not started: {failure}",
            )
        logger.debug("sync accepted for session %s (request %s)", self.session_id, request_id)
        return ContextSyncResult(success=True, request_id=request_id)

    def _info_args(self, query: InfoQuery) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "context_id": _unset(query.context_id),
            "path": _unset(query.path),
            "task_type": UNSET if query.task_type is None else SyncMode(query.task_type),
        }

    def _describe(self, exc: Exception) -> tuple[str, str]:
        """Why a call raised, and the request id of the response if one came."""
        where = self.settings.base_url
        if isinstance(exc, httpx.HTTPError):
            return describe_transport_error(exc, self.settings), ""
        if isinstance(exc, httpx.InvalidURL):
            return f"the request could not be built: {exc}", ""
        response = LAST_RESPONSE.get()
        if response is None:
            return f"the response from {where} could not be read ({type(exc).__name__})", ""
        detail = "" if isinstance(exc, RecursionError) else f": {exc}"
        return (
            f"the response from {where} (HTTP {response.status_code}) was not the "
            f"documented JSON envelope ({type(exc).__name__}{detail})",
            response.headers.get("x-request-id", ""),
        )


def _unset(value: str | None) -> str | Unset:
    return UNSET if value is None else value


def _envelope(response: Response[Any]) -> ApiEnvelope | ContextInfoResponse | None:
    """The parsed envelope, read from the body when the generated code left it out."""
    parsed = response.parsed
    if isinstance(parsed, ApiEnvelope | ContextInfoResponse):
        return parsed
    try:
        body = json.loads(response.content)
        return ApiEnvelope.from_dict(body) if isinstance(body, Mapping) else None
    except _UNREADABLE:
        return None


def _request_id(envelope: Any, headers: Mapping[str, str]) -> str:
    request_id = getattr(envelope, "request_id", UNSET)
    if isinstance(request_id, str) and request_id:
        return request_id
    return str(headers.get("x-request-id", ""))


def _failure(status: int, envelope: Any) -> str:
    """Why the call failed, or ``""`` when it succeeded (HTTP 200 and ``success`` true)."""
    if status == 200 and envelope is not None and envelope.success is True:
        return ""
    message = getattr(envelope, "message", UNSET)
    code = getattr(envelope, "code", UNSET)
    text = message if isinstance(message, str) and message else f"HTTP {status} error"
    details = [f"HTTP {status}"]
    if isinstance(code, str) and code:
        details.append(f"code {code}")
    if envelope is None:
        details.append("no JSON envelope in the body")
    return f"{text} ({', '.join(details)})"


def _info_result(response: Response[Any]) -> ContextInfoResult:
    envelope = _envelope(response)
    request_id = _request_id(envelope, response.headers)
    failure = _failure(response.status_code, envelope)
    if failure:
        return ContextInfoResult(success=False, request_id=request_id, error_message=failure)
    data = getattr(envelope, "data", UNSET)
    raw = getattr(data, "context_status", UNSET)
    if not isinstance(raw, str):
        raw = ""
    try:
        tasks = decode_context_status(raw)
    except ContextStatusError as exc:
        return ContextInfoResult(
            success=False,
            request_id=request_id,
            error_message=f"the context status in the response could not be parsed: {exc}",
        )
    return ContextInfoResult(success=True, request_id=request_id, context_status_data=tasks)
