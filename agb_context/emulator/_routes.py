"""The cloud's routes: ``POST /sdk/SyncContext`` and ``GET /sdk/GetContextInfo``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agb_context._status_codec import encode_context_status
from agb_context._types import DEFAULT_SYNC_MODE, is_sync_mode
from agb_context.emulator import _inputs as read
from agb_context.emulator import _validation as check
from agb_context.emulator._behaviour import Behaviour
from agb_context.emulator._envelope import request_id, success
from agb_context.emulator._store import Store
from agb_context.emulator._tasks import TaskRunner
from agb_context.emulator._validation import InvalidValue


class CloudRoutes:
    """The two endpoints of the cloud's context API, as the cloud answers them."""

    def __init__(self, store: Store, runner: TaskRunner, behaviour: Behaviour) -> None:
        self._store = store
        self._runner = runner
        self._behaviour = behaviour

    def routes(self) -> list[Route]:
        return [
            Route("/sdk/SyncContext", self.sync_context, methods=["POST"]),
            Route("/sdk/GetContextInfo", self.get_context_info, methods=["GET"]),
        ]

    async def sync_context(self, request: Request) -> Response:
        query = read.query(request)
        sid = read.required_session_id(query, "sessionId", "the session whose mounts to sync")
        cid, path = _scope(query)
        mode = query.get("mode", DEFAULT_SYNC_MODE)
        if not is_sync_mode(mode):
            raise InvalidValue(
                "mode must be 'upload' or 'download' (or left out for upload), "
                f"not {check.shown(mode)}"
            )
        body = await read.body(request)
        if body.strip() and read.parse_json(body) != {}:
            raise InvalidValue("the body must be the empty JSON object {}")
        session = self._store.session(sid)
        mounts = session.mounts if cid is None or path is None else [session.mount(cid, path)]
        self._runner.submit(
            session, mounts, mode, registration_lag=self._behaviour.current.registration_lag
        )
        return success(request_id(request))

    async def get_context_info(self, request: Request) -> Response:
        query = read.query(request)
        sid = read.required_session_id(query, "sessionId", "the session whose tasks to report")
        cid = query.get("contextId")
        if cid is not None:
            check.context_id(cid)
        path = query.get("path")
        if path is not None:
            check.mount_path(path)
        task_type = query.get("taskType")
        if task_type is not None and not is_sync_mode(task_type):
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
