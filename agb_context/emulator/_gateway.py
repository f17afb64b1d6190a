"""The gateway in front of every route, as the cloud has one.

It gives each request its id (``requestId`` in the body, ``x-request-id``
header), checks the API key, records the request, and injects faults.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agb_context.emulator._contexts import CONTEXT_ENDPOINTS
from agb_context.emulator._envelope import failure
from agb_context.emulator._fault_answers import ConnectionDropped, drop_connection, faulty_response
from agb_context.emulator._faults import Faults
from agb_context.emulator._records import RecordedRequest
from agb_context.emulator._request_log import RequestLog

logger = logging.getLogger("agb_context.emulator")

CLOUD_ENDPOINTS = {
    ("POST", "/sdk/SyncContext"): "SyncContext",
    ("GET", "/sdk/GetContextInfo"): "GetContextInfo",
    **CONTEXT_ENDPOINTS,
}
"""The cloud's routes, by method and path: the ones faults are injected into."""

CLIENT_GONE = 499
"""A status no client sees: the answer to a client that hung up mid-request,
which the gateway records as dropped (status 0)."""


class Gateway:
    """What stands in front of every route: request ids, API key, recording, faults."""

    def __init__(self, app: ASGIApp, *, api_key: str, faults: Faults, log: RequestLog) -> None:
        self._app = app
        self._key = api_key.encode()
        self._faults = faults
        self._stopping = asyncio.Event()
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        rid = str(uuid.uuid4()).upper()
        scope.setdefault("state", {})["request_id"] = rid
        arrived = time.monotonic()
        unrecorded = not scope["path"].startswith("/emulator/")

        def record(status: int) -> None:
            # before the answer leaves, so a client never sees an answer not yet recorded
            nonlocal unrecorded
            if unrecorded:
                unrecorded = False
                self._record(scope, status, arrived, rid)

        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                record(0 if status == CLIENT_GONE else status)
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._dispatch(scope, receive, send, send_with_id, record)
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
        problem = self._auth_problem(scope)
        if problem is not None:
            await failure(rid, 401, problem)(scope, receive, send_with_id)
            return
        endpoint = CLOUD_ENDPOINTS.get((scope["method"], scope["path"]))
        if endpoint is not None:
            delay = self._faults._latency(endpoint)
            if delay and await self._stopped_within(delay):
                message = "the emulator is stopping: try again once it runs again"
                await failure(rid, 503, message)(scope, receive, send_with_id)
                return
            fault = self._faults._take_request_fault(endpoint)
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
        self._stopping.set()

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

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

    def _record(self, scope: Scope, status: int, arrived: float, rid: str) -> None:
        query = dict(Request(scope).query_params)
        entry = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=query,
            status=status,
            monotonic=arrived,
            request_id=rid,
        )
        self._log.add(entry)
        logger.info("%s %s -> %s (%s)", entry.method, entry.path, status or "dropped", rid)
