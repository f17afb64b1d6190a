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
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Protocol, cast

import attrs
import httpx

from agb_context._client import describe_transport_error
from agb_context._config import Settings
from agb_context._flow import wait_for_room
from agb_context._results import ContextInfoResult, ContextSyncResult, ErrorKind
from agb_context._retry import NO_RETRY_EXTENSION
from agb_context._status_codec import ContextStatusError, decode_context_status
from agb_context._validation import InfoQuery, SyncRequest
from agb_context_api import AuthenticatedClient
from agb_context_api.api.context import get_context_info, sync_context
from agb_context_api.models import ApiEnvelope, ContextInfoResponse, EmptyBody, SyncMode
from agb_context_api.types import UNSET, Response, Unset

logger = logging.getLogger("agb_context")

# What a generated call raises on a body it cannot read (json, from_dict; deep
# nesting), besides httpx's own errors.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
_TRANSPORT_FAILURES = (httpx.HTTPError, httpx.InvalidURL)
_KNOWN_STATUSES = frozenset(HTTPStatus)


MAX_INFO_BYTES = 2 * 2**20
"""The largest ``GetContextInfo`` answer decoded (about 10,000 tasks); a bigger one is
a failed result saying so, never parsed. The envelope and the ``contextStatus`` string
are each decoded by one `json.loads`, which holds the interpreter lock throughout:
at 2 MiB for a few milliseconds, at 8 MiB for 20-30 ms, during which a loop beside
the decoding thread cannot run."""
OFF_LOOP_BYTES = 64 * 2**10
"""Async calls decode answers bigger than this on a worker thread, not on the event loop."""

NO_RETRY = {NO_RETRY_EXTENSION: False}
"""Request extensions that tell the retrying transport to send a request once only."""


@attrs.frozen
class ApiCalls:
    """The context API calls of one session, as results.

    Requests are built and answers parsed by the generated client's code
    (``_get_kwargs`` / ``_build_response`` of each call module); sending them
    here keeps the raw `httpx.Response` in hand, so an unreadable answer is
    still reported with its status and request id, and lets a status poll be
    sent without transport retries.
    """

    session_id: str
    settings: Settings

    def info_blocking(self, client: AuthenticatedClient, query: InfoQuery) -> ContextInfoResult:
        """``GetContextInfo`` on a blocking client."""
        kwargs = get_context_info._get_kwargs(**self._info_args(query))
        try:
            response = client.get_httpx_client().request(**kwargs)
        except _TRANSPORT_FAILURES as exc:
            failure = self._transport_failure(exc)
            return ContextInfoResult(success=False, **failure.fields())
        return self._info_answer(client, response)

    async def info(
        self, client: AuthenticatedClient, query: InfoQuery, *, retry: bool = True
    ) -> ContextInfoResult:
        """``GetContextInfo`` on an asyncio client; ``retry=False`` sends it once only."""
        return await StatusPoll(self, client, query, retry=retry)()

    def status_poll(self, client: AuthenticatedClient, query: InfoQuery) -> StatusPoll:
        """A sync's status poll: ``GetContextInfo`` without transport retries, its request
        built once (building one costs more than a tenth of a millisecond of CPU)."""
        return StatusPoll(self, client, query, retry=False)

    def _info_request(
        self, client: AuthenticatedClient, query: InfoQuery, *, retry: bool
    ) -> httpx.Request:
        kwargs = get_context_info._get_kwargs(**self._info_args(query))
        return client.get_async_httpx_client().build_request(
            **kwargs, extensions=None if retry else NO_RETRY
        )

    async def _send_info(
        self, client: AuthenticatedClient, request: httpx.Request
    ) -> ContextInfoResult:
        try:
            response = await client.get_async_httpx_client().send(request)
        except _TRANSPORT_FAILURES as exc:
            failure = self._transport_failure(exc)
            return ContextInfoResult(success=False, **failure.fields())
        if OFF_LOOP_BYTES < len(response.content) <= MAX_INFO_BYTES:
            # Decoding a big answer takes a while: a worker thread keeps the loop free.
            return await asyncio.to_thread(self._info_answer, client, response)
        return self._info_answer(client, response)

    def _info_answer(
        self, client: AuthenticatedClient, response: httpx.Response
    ) -> ContextInfoResult:
        size = len(response.content)
        if size > MAX_INFO_BYTES:
            return ContextInfoResult(
                success=False,
                request_id=response.headers.get("x-request-id", ""),
                http_status=response.status_code,
                error_message=(
                    f"the response from {self.settings.base_url} is {_size(size)}, more "
                    f"than the {_size(MAX_INFO_BYTES)} this SDK decodes; ask for fewer tasks "
                    "(context_id, path, task_type)"
                ),
                error_kind="unreadable_response",
            )
        return _info_result(self._read(get_context_info, client, response))

    async def start_sync(
        self, client: AuthenticatedClient, request: SyncRequest
    ) -> ContextSyncResult:
        """``SyncContext``: success means the server accepted the sync, not that it is done."""
        kwargs = sync_context._get_kwargs(
            body=EmptyBody(),
            session_id=self.session_id,
            context_id=_unset(request.context_id),
            path=_unset(request.path),
            mode=UNSET if request.mode is None else SyncMode(request.mode),
        )
        await wait_for_room(self.settings.max_in_flight)
        try:
            response = await client.get_async_httpx_client().request(**kwargs)
        except _TRANSPORT_FAILURES as exc:
            failure = self._transport_failure(exc)
            if failure.kind == "not_sent" or isinstance(exc, _NOT_SENT):
                prefix = "the sync was not started: "
            else:
                prefix = "the sync may or may not have started (no answer came): "
            return ContextSyncResult(success=False, **failure.fields(prefix))
        status = response.status_code
        read = self._read(sync_context, client, response)
        if isinstance(read, Failure):
            return ContextSyncResult(success=False, **read.fields("the sync was not started: "))
        envelope = _envelope(read)
        request_id = _request_id(envelope, read.headers)
        refused = _failure(status, envelope, request_id)
        if refused is not None:
            return ContextSyncResult(success=False, **refused.fields("the sync was not started: "))
        logger.debug("sync accepted for session %s (request %s)", self.session_id, request_id)
        return ContextSyncResult(success=True, request_id=request_id, http_status=status)

    def _info_args(self, query: InfoQuery) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "context_id": _unset(query.context_id),
            "path": _unset(query.path),
            "task_type": UNSET if query.task_type is None else SyncMode(query.task_type),
        }

    def _read(
        self, module: _CallModule, client: AuthenticatedClient, response: httpx.Response
    ) -> Response[Any] | Failure:
        """The generated parse of ``response``, or why it could not be read."""
        if response.status_code not in _KNOWN_STATUSES:
            # The generated parse stops at a status http.HTTPStatus lacks (a gateway's
            # 520 or 599): the body is read as an error's, as for any other failing status.
            return Response(
                status_code=cast("HTTPStatus", response.status_code),
                content=response.content,
                headers=response.headers,
                parsed=None,
            )
        try:
            return module._build_response(client=client, response=response)
        except _UNREADABLE as exc:
            detail = "" if isinstance(exc, RecursionError) else f": {exc}"
            return Failure(
                message=(
                    f"the response from {self.settings.base_url} (HTTP {response.status_code}) "
                    f"was not the documented JSON envelope ({type(exc).__name__}{detail})"
                ),
                kind="unreadable_response",
                request_id=response.headers.get("x-request-id", ""),
                http_status=response.status_code,
                retryable=True,
            )

    def _transport_failure(self, exc: Exception) -> Failure:
        """Why a request got no answer, and whether it reached the server."""
        if not isinstance(exc, httpx.HTTPError):
            return Failure(message=f"the request could not be built: {exc}", kind="not_sent")
        message = describe_transport_error(exc, self.settings)
        if isinstance(exc, httpx.TimeoutException):
            return Failure(message=message, kind="timeout", retryable=True)
        if isinstance(exc, _NOT_SENT):
            certificate = "certificate" in message.lower() or "tls" in message.lower()
            return Failure(message=message, kind="not_sent", retryable=not certificate)
        return Failure(message=message, kind="no_response", retryable=True)


class StatusPoll:
    """``GetContextInfo`` as often as it is called: built on the first call, then sent
    as it is (a sync's polls pass ``retry=False``: polling is the retry)."""

    __slots__ = ("_calls", "_client", "_query", "_request", "_retry")

    def __init__(
        self, calls: ApiCalls, client: AuthenticatedClient, query: InfoQuery, *, retry: bool
    ) -> None:
        self._calls, self._client, self._query, self._retry = calls, client, query, retry
        self._request: httpx.Request | None = None

    async def __call__(self) -> ContextInfoResult:
        calls = self._calls
        await wait_for_room(calls.settings.max_in_flight)
        if self._request is None:
            try:
                self._request = calls._info_request(self._client, self._query, retry=self._retry)
            except _TRANSPORT_FAILURES as exc:
                return ContextInfoResult(success=False, **calls._transport_failure(exc).fields())
        return await calls._send_info(self._client, self._request)


class _CallModule(Protocol):
    def _build_response(
        self, *, client: AuthenticatedClient, response: httpx.Response
    ) -> Response[Any]: ...


@attrs.frozen(kw_only=True)
class Failure:
    """Why a call failed, in the fields every failed result carries."""

    message: str
    kind: ErrorKind
    request_id: str = ""
    http_status: int | None = None
    error_code: str = ""
    retryable: bool = False

    def fields(self, prefix: str = "") -> dict[str, Any]:
        """Keyword arguments of a failed result (``prefix`` goes before the message)."""
        return {
            "error_message": prefix + self.message,
            "error_kind": self.kind,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "error_code": self.error_code,
            "retryable": self.retryable,
        }


RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Errors raised before the request reached the server.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def _size(count: int) -> str:
    if count >= 2**20:
        return f"{count / 2**20:.1f} MiB"
    return f"{count / 2**10:.0f} KiB"


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


def _failure(status: int, envelope: Any, request_id: str) -> Failure | None:
    """Why the call failed, or None when it succeeded (HTTP 200 and ``success`` true)."""
    if status == 200 and envelope is not None and envelope.success is True:
        return None
    message = getattr(envelope, "message", UNSET)
    code = getattr(envelope, "code", UNSET)
    code = code if isinstance(code, str) else ""
    text = message if isinstance(message, str) and message else f"HTTP {status} error"
    details = [f"HTTP {status}"]
    if code:
        details.append(f"code {code}")
    if envelope is None:
        details.append("no JSON envelope in the body")
    kind: ErrorKind
    if status != 200:
        kind = "http_status"
    elif envelope is None:
        kind = "unreadable_response"
    else:
        kind = "api_error"
    return Failure(
        message=f"{text} ({', '.join(details)})",
        kind=kind,
        request_id=request_id,
        http_status=status,
        error_code=code,
        retryable=status in RETRYABLE_STATUSES or kind == "unreadable_response",
    )


def _info_result(response: Response[Any] | Failure) -> ContextInfoResult:
    if isinstance(response, Failure):
        return ContextInfoResult(success=False, **response.fields())
    status = int(response.status_code)
    envelope = _envelope(response)
    request_id = _request_id(envelope, response.headers)
    failure = _failure(status, envelope, request_id)
    if failure is not None:
        return ContextInfoResult(success=False, **failure.fields())
    data = getattr(envelope, "data", UNSET)
    raw = getattr(data, "context_status", UNSET)
    try:
        if raw is UNSET or raw is None:
            raw = ""
        elif not isinstance(raw, str):
            # e.g. the list of items itself: read as "no tasks", a sync would end too early
            raise ContextStatusError("contextStatus is not a string")
        tasks = decode_context_status(raw)
    except ContextStatusError as exc:
        return ContextInfoResult(
            success=False,
            request_id=request_id,
            http_status=status,
            error_message=f"the context status in the response could not be parsed: {exc}",
            error_kind="unreadable_response",
            retryable=True,
        )
    return ContextInfoResult(
        success=True, request_id=request_id, http_status=status, context_status_data=tasks
    )
