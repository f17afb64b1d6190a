"""The HTTP side: the two cloud endpoints, the ``/emulator/`` admin routes, and a gateway.

The gateway stands in front of every route, as the cloud's does: it gives
each request its id (``requestId`` in the body, ``x-request-id`` header),
checks the API key, records the request, and injects faults.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agb_context._status_codec import encode_context_status, task_to_wire
from agb_context.emulator import _validation as check
from agb_context.emulator._behaviour import Behaviour, behaviour_to_json
from agb_context.emulator._faults import Faults, RequestFault
from agb_context.emulator._records import RecordedRequest
from agb_context.emulator._store import Session, Store
from agb_context.emulator._tasks import TaskRunner
from agb_context.emulator._validation import InvalidValue, MissingValue, NotFound

logger = logging.getLogger("agb_context.emulator")

CLOUD_ENDPOINTS = {
    ("POST", "/sdk/SyncContext"): "SyncContext",
    ("GET", "/sdk/GetContextInfo"): "GetContextInfo",
}
SYNC_MODES = ("upload", "download")
REQUEST_LOG_LIMIT = 10_000
_BODY_LIMIT = 64 * 1024
_ERROR_CODES = {
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
_MALFORMED_STATUS = '[{"type":"data","data":"[{\\"contextId\\":'
_NOT_JSON = b'{"success": true, "requestId": '


class RequestLog:
    """The requests to the cloud routes, oldest first (the last 10 000 are kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_LIMIT)

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


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
        "code": code or _ERROR_CODES.get(status, "Error"),
        "message": message,
        "requestId": request_id,
        "httpStatusCode": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def request_id(request: Request) -> str:
    """The id the gateway gave this request."""
    return str(request.scope["state"]["request_id"])


def build_app(
    *,
    store: Store,
    runner: TaskRunner,
    faults: Faults,
    api_key: str,
    log: RequestLog,
    behaviour: Behaviour | None = None,
) -> Gateway:
    """The emulator's ASGI application."""
    api = _Routes(store, runner, faults, behaviour or Behaviour())
    app = Starlette(
        routes=[
            Route("/sdk/SyncContext", api.sync_context, methods=["POST"]),
            Route("/sdk/GetContextInfo", api.get_context_info, methods=["GET"]),
            Route("/emulator/health", api.health, methods=["GET"]),
            Route("/emulator/sessions", api.create_session, methods=["POST"]),
            Route("/emulator/sessions/{session_id}", api.get_session, methods=["GET"]),
            Route("/emulator/contexts/{context_id}", api.get_context, methods=["GET"]),
            Route("/emulator/faults", api.faults, methods=["POST", "DELETE"]),
            Route("/emulator/behaviour", api.behaviour, methods=["GET", "POST", "DELETE"]),
        ],
        exception_handlers={
            InvalidValue: _invalid_value,
            NotFound: _not_found,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            Exception: _internal_error,
        },
    )
    app.router.redirect_slashes = False
    return Gateway(app, api_key=api_key, faults=faults, log=log)


class _Routes:
    def __init__(
        self, store: Store, runner: TaskRunner, faults: Faults, behaviour: Behaviour
    ) -> None:
        self._store = store
        self._runner = runner
        self._faults = faults
        self._behaviour = behaviour

    async def sync_context(self, request: Request) -> Response:
        query = _query(request)
        sid = _required(query, "sessionId", "the session whose mounts to sync")
        cid, path = _scope(query)
        mode = query.get("mode", "upload")
        if mode not in SYNC_MODES:
            raise InvalidValue(
                "mode must be 'upload' or 'download' (or left out for upload), "
                f"not {check.shown(mode)}"
            )
        body = await _body(request)
        if body.strip() and _parse_json(body) != {}:
            raise InvalidValue("the body must be the empty JSON object {}")
        session = self._store.session(sid)
        mounts = session.mounts if cid is None or path is None else [session.mount(cid, path)]
        self._runner.submit(
            session, mounts, mode, registration_lag=self._behaviour.current.registration_lag
        )
        return success(request_id(request))

    async def get_context_info(self, request: Request) -> Response:
        query = _query(request)
        sid = _required(query, "sessionId", "the session whose tasks to report")
        cid = query.get("contextId")
        if cid is not None:
            check.context_id(cid)
        path = query.get("path")
        if path is not None:
            check.mount_path(path)
        task_type = query.get("taskType")
        if task_type is not None and task_type not in SYNC_MODES:
            raise InvalidValue(
                "taskType must be 'upload' or 'download' (or left out for both), "
                f"not {check.shown(task_type)}"
            )
        session = self._store.session(sid)
        report = self._store.listed_tasks(
            session, cid, path, task_type, behaviour=self._behaviour.current
        )
        status = encode_context_status(task.to_status_data() for task in report)
        return success(request_id(request), data={"contextStatus": status})

    async def health(self, request: Request) -> Response:
        return success(request_id(request), status="ok")

    async def create_session(self, request: Request) -> Response:
        body = _parse_json(await _body(request))
        if not isinstance(body, dict) or set(body) - {"mounts"}:
            raise InvalidValue(
                'send {"mounts": {"<contextId>": "<mount path>"}}, e.g. '
                '{"mounts": {"ctx-a": "/home/data"}}'
            )
        if "mounts" not in body:
            raise MissingValue('mounts is required, e.g. {"mounts": {"ctx-a": "/home/data"}}')
        session = self._store.create_session(body["mounts"])
        return success(request_id(request), **_describe(session))

    async def get_session(self, request: Request) -> Response:
        sid = check.session_id(request.path_params["session_id"], "session id")
        session = self._store.session(sid)
        tasks = [task_to_wire(task.to_status_data()) for task in self._store.records(session)]
        return success(request_id(request), **_describe(session), tasks=tasks)

    async def get_context(self, request: Request) -> Response:
        folder = self._store.context_path(request.path_params["context_id"])
        return success(
            request_id(request),
            contextId=folder.name,
            localPath=str(folder),
            exists=folder.is_dir(),
        )

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._faults.clear()
        else:
            self._faults.apply(_parse_json(await _body(request)))
        return success(request_id(request))

    async def behaviour(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._behaviour.clear()
        elif request.method == "POST":
            self._behaviour.apply(_parse_json(await _body(request)))
        return success(request_id(request), **behaviour_to_json(self._behaviour.current))


def _describe(session: Session) -> dict[str, Any]:
    mounts = [
        {"contextId": m.context_id, "path": m.path, "localPath": str(m.folder)}
        for m in session.mounts
    ]
    return {"sessionId": session.id, "mounts": mounts}


def _query(request: Request) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in query:
            raise InvalidValue(f"{name} is given more than once: give it once")
        query[name] = value
    return query


def _required(query: dict[str, str], name: str, meaning: str) -> str:
    if name not in query:
        raise MissingValue(f"{name} is required: {meaning}")
    return check.session_id(query[name], name)


def _scope(query: dict[str, str]) -> tuple[str | None, str | None]:
    cid = query.get("contextId")
    path = query.get("path")
    if (cid is None) != (path is None):
        given, missing = ("contextId", "path") if path is None else ("path", "contextId")
        raise InvalidValue(
            f"{given} was given without {missing}: give both to sync one context, "
            "or neither to sync every context of the session"
        )
    if cid is not None:
        check.context_id(cid)
    if path is not None:
        check.mount_path(path)
    return cid, path


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _BODY_LIMIT:
            raise InvalidValue(f"the body is larger than {_BODY_LIMIT} bytes")
    return bytes(body)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidValue("the body is not valid JSON") from None


async def _invalid_value(request: Request, exc: Exception) -> Response:
    code = exc.code if isinstance(exc, InvalidValue) else None
    return failure(request_id(request), 400, str(exc), code)


async def _not_found(request: Request, exc: Exception) -> Response:
    code = exc.code if isinstance(exc, NotFound) else None
    return failure(request_id(request), 404, str(exc), code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("allow", (exc.headers or {}).get("Allow", ""))
        message = f"{where} is not supported: use {allowed} on this path"
    elif exc.status_code == 404:
        message = (
            f"there is no route {where}: the emulator serves POST /sdk/SyncContext, "
            "GET /sdk/GetContextInfo and the /emulator/ admin routes"
        )
    else:
        message = str(exc.detail)
    return failure(request_id(request), exc.status_code, message, headers=exc.headers)


# A status no client sees: the answer to a client that hung up mid-request,
# which the gateway records as dropped (status 0).
_CLIENT_GONE = 499


async def _client_gone(request: Request, exc: Exception) -> Response:
    logger.info("request %s: the client hung up before its body arrived", request_id(request))
    return Response(status_code=_CLIENT_GONE)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error("request %s failed", request_id(request), exc_info=exc)
    return failure(request_id(request), 500, f"the emulator failed: {exc!r}")


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
                record(0 if status == _CLIENT_GONE else status)
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._dispatch(scope, receive, send, send_with_id, record)
        except _ConnectionDropped:
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
                    await _drop_connection(receive, send)
                    return
                await _faulty_response(fault, rid)(scope, receive, send_with_id)
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


def _faulty_response(fault: RequestFault, rid: str) -> Response:
    if fault.kind == "status":
        headers = None
        if fault.retry_after is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"}
        return failure(rid, fault.status, f"injected fault: HTTP {fault.status}", headers=headers)
    if fault.kind == "success_false":
        return JSONResponse(
            {
                "success": False,
                "code": "InjectedFault",
                "message": "injected fault: the request failed although the HTTP status is 200",
                "requestId": rid,
                "httpStatusCode": 200,
            }
        )
    if fault.kind == "invalid_json":
        return Response(_NOT_JSON, media_type="application/json")
    return success(rid, data={"contextStatus": _MALFORMED_STATUS})


async def _drop_connection(receive: Receive, send: Send) -> None:
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
    raise _ConnectionDropped


class _ConnectionDropped(Exception):
    """Raised to make a server other than uvicorn break off an answer it started."""
