"""The gateway in front of every route, as the cloud has one.

It gives each request its id (``requestId`` in the body, ``x-request-id``
header), checks the API key, records the request, and injects faults.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agb_context.emulator._context_files import FILE_ENDPOINTS, PRESIGNED_ROUTES
from agb_context.emulator._contexts import CONTEXT_ENDPOINTS
from agb_context.emulator._envelope import failure
from agb_context.emulator._fault_answers import ConnectionDropped, drop_connection, faulty_response
from agb_context.emulator._faults import Faults
from agb_context.emulator._ids import Ids
from agb_context.emulator._records import RecordedRequest
from agb_context.emulator._request_log import RequestLog

logger = logging.getLogger("agb_context.emulator")
request_logger = logging.getLogger("agb_context.emulator.requests")
"""One line per request (method, path, session, status, reason, request id), at INFO."""

CLOUD_ENDPOINTS = {
    ("POST", "/sdk/SyncContext"): "SyncContext",
    ("GET", "/sdk/GetContextInfo"): "GetContextInfo",
    **CONTEXT_ENDPOINTS,
    **FILE_ENDPOINTS,
}
"""The cloud's routes, by method and path: the ones faults are injected into."""

OPEN_ROUTES = frozenset(
    {("GET", "/emulator/health"), ("GET", "/emulator/openapi.yaml"), *PRESIGNED_ROUTES}
)
"""The routes that answer without the API key: they tell nothing a key protects, or
(presigned URLs) their signature stands for it."""

RECORDED_BODY_LIMIT = 64 * 1024
_REASON_BODY_LIMIT = 8 * 1024

CLIENT_GONE = 499
"""A status no client sees: the answer to a client that hung up mid-request,
which the gateway records as dropped (status 0)."""


class Gateway:
    """What stands in front of every route: request ids, API key, recording, faults."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str,
        faults: Faults,
        log: RequestLog,
        ids: Ids | None = None,
    ) -> None:
        self._app = app
        self._key = api_key.encode()
        self._faults = faults
        self._stopping = False
        self._holds: set[_Hold] = set()
        self._log = log
        self._ids = ids or Ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        self._log.begin()
        try:
            await self._answer(scope, receive, send)
        finally:
            self._log.end()

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = self._ids.request_id()
        scope.setdefault("state", {})["request_id"] = rid
        exchange = _Exchange(scope, rid)
        recorded = False

        def record(status: int) -> None:
            # before the answer's last piece leaves, so a client never sees an
            # answer not yet recorded
            nonlocal recorded
            if not recorded:
                recorded = True
                self._record(exchange, status)

        answered = False

        async def receive_recorded() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.add_body(message.get("body", b""))
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                exchange.status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                exchange.add_answer(message.get("body", b""))
                if not message.get("more_body", False):
                    record(0 if exchange.status == CLIENT_GONE else exchange.status)
            await send(message)

        try:
            await self._dispatch(scope, receive_recorded, send, send_with_id, record)
        except ConnectionDropped:
            raise
        except Exception:
            # errors inside the routes were answered and logged by the app already
            if answered:
                return
            logger.exception("request %s failed", rid)
            message = "the emulator failed; its log says why"
            await failure(rid, 500, message)(scope, receive, send_with_id)
        finally:
            record(0)

    async def _dispatch(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        send_with_id: Send,
        record: Callable[[int], None],
    ) -> None:
        rid = scope["state"]["request_id"]
        if (scope["method"], scope["path"]) not in OPEN_ROUTES:
            problem = self._auth_problem(scope)
            if problem is not None:
                await failure(rid, 401, problem)(scope, receive, send_with_id)
                return
        endpoint = CLOUD_ENDPOINTS.get((scope["method"], scope["path"]))
        if endpoint is not None:
            query = Request(scope).query_params
            # the context routes name their context by ``id``
            context_id = query.get("contextId", query.get("id"))
            aim = (query.get("sessionId"), context_id, query.get("path"))
            delay = self._faults._latency(endpoint, *aim)
            if delay and await self._held_back(delay, rid, scope, receive, send_with_id):
                return
            fault = self._faults._take_request_fault(endpoint, *aim)
            if fault is not None:
                logger.info("injecting %s into %s %s", fault.kind, endpoint, rid)
                if fault.kind == "drop":
                    record(0)
                    await drop_connection(receive, send)
                    return
                await faulty_response(fault, rid)(scope, receive, send_with_id)
                return
        await self._app(scope, receive, send_with_id)

    def begin_shutdown(self) -> None:
        """Let requests held back by an injected latency answer at once (call on the loop)."""
        self._stopping = True
        for hold in self._holds:
            hold.end(_STOPPING)

    async def end_holds(self) -> None:
        """Answer at once the requests an injected latency holds back, and return once
        they are answered (and recorded): a reset leaves none to land in the next test's
        log or take its faults (call on the loop)."""
        holds = list(self._holds)
        for hold in holds:
            hold.end(_RESET)
        await asyncio.gather(*(hold.answered for hold in holds))

    async def _held_back(
        self, seconds: float, rid: str, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Wait out an injected latency; whether a stop or reset cut it short (and the
        request was answered 503 for it)."""
        hold = _Hold()
        if self._stopping:
            hold.end(_STOPPING)
        self._holds.add(hold)
        try:
            reason = await hold.wait(seconds)
            if reason is None:
                return False
            await failure(rid, 503, reason)(scope, receive, send)
            return True
        finally:
            self._holds.discard(hold)
            hold.answered.set_result(None)

    def _auth_problem(self, scope: Scope) -> str | None:
        keys = [value for name, value in scope["headers"] if name == b"authorization"]
        if not keys:
            return "no API key: send it in the 'authorization' header as 'Bearer <key>'"
        if len(keys) > 1:
            return "the 'authorization' header is given more than once: give it once"
        given = keys[0]
        if given[:7].lower() == b"bearer ":
            given = given[7:]
        # both comparisons always run, so the time taken does not tell which form matched
        as_sent = hmac.compare_digest(keys[0], self._key)
        unprefixed = hmac.compare_digest(given, self._key)
        if as_sent or unprefixed:
            return None
        return "the API key in the 'authorization' header is not the one this emulator uses"

    def _record(self, exchange: _Exchange, status: int) -> None:
        entry = exchange.entry(status)
        self._log.add(entry)
        if request_logger.isEnabledFor(logging.INFO):
            session = f" session={entry.session_id}" if entry.session_id else ""
            outcome = str(status) if status else "dropped"
            reason = f" {entry.reason}" if entry.reason and status else ""
            request_logger.info(
                "%s %s%s -> %s%s (%s)",
                entry.method,
                entry.path,
                session,
                outcome,
                reason,
                entry.request_id,
            )


_STOPPING = "the emulator is stopping: try again once it runs again"
_RESET = "the emulator was reset while an injected latency held this request: send it again"


class _Hold:
    """One request held back by an injected latency, until its time is up or it is ended."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._ended: asyncio.Future[str] = loop.create_future()
        self.answered: asyncio.Future[None] = loop.create_future()
        """Done once the request has left its hold (and, if ended, been answered)."""

    def end(self, reason: str) -> None:
        if not self._ended.done():
            self._ended.set_result(reason)

    async def wait(self, seconds: float) -> str | None:
        """Wait ``seconds``; why the hold was ended early, or None if it was not."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._ended), seconds)
        except TimeoutError:
            return None


class _Exchange:
    """What the gateway saw of one request and its answer, for the request log."""

    def __init__(self, scope: Scope, request_id: str) -> None:
        self.scope = scope
        self.request_id = request_id
        self.arrived = time.monotonic()
        self.status = 0
        self._body = bytearray()
        self._answer = bytearray()

    def add_body(self, chunk: bytes) -> None:
        room = RECORDED_BODY_LIMIT - len(self._body)
        if room > 0:
            self._body += chunk[:room]

    def add_answer(self, chunk: bytes) -> None:
        if self.status >= 400 or self.status == 200:
            room = _REASON_BODY_LIMIT - len(self._answer)
            if room > 0:
                self._answer += chunk[:room]

    def entry(self, status: int) -> RecordedRequest:
        scope = self.scope
        return RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=dict(Request(scope).query_params),
            status=status,
            monotonic=self.arrived,
            request_id=self.request_id,
            headers=_headers(scope["headers"]),
            body=bytes(self._body),
            reason=self._reason(status),
        )

    def _reason(self, status: int) -> str:
        if status == 0:
            return "dropped"
        try:
            answer = json.loads(self._answer)
        except (ValueError, RecursionError):
            return "" if status < 400 else f"HTTP {status}"
        if not isinstance(answer, dict) or answer.get("success") is not False:
            return "" if status < 400 else f"HTTP {status}"
        return f"{answer.get('code', '')}: {answer.get('message', '')}".strip(": ")


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name_bytes, value_bytes in raw:
        name = name_bytes.decode("latin-1").lower()
        value = value_bytes.decode("latin-1")
        if name == "authorization":
            value = "Bearer ***" if value[:7].lower() == "bearer " else "***"
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
