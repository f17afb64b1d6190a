"""The ``/emulator/`` admin routes: set the emulator up, look inside it, make it misbehave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agb_context._status_codec import task_to_wire
from agb_context.emulator import _inputs as read
from agb_context.emulator import _validation as check
from agb_context.emulator._behaviour import Behaviour, behaviour_to_json
from agb_context.emulator._envelope import request_id, success
from agb_context.emulator._faults import Faults
from agb_context.emulator._request_log import RequestLog
from agb_context.emulator._spec import admin_spec
from agb_context.emulator._speeds import TaskSpeeds
from agb_context.emulator._store import Session, Store
from agb_context.emulator._validation import InvalidValue, MissingValue

ADMIN_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/emulator/health", "is it serving? (no key needed)"),
    ("GET", "/emulator/openapi.yaml", "these routes described (no key needed)"),
    ("POST", "/emulator/reset", "empty it all: sessions, contexts, tasks, faults"),
    ("POST", "/emulator/sessions", 'create one: {"mounts": {"ctx-a": "/data"}}'),
    ("GET", "/emulator/sessions/{sessionId}", "a session, its mounts and task history"),
    ("GET", "/emulator/contexts/{contextId}", "where a context is stored locally"),
    ("GET", "/emulator/faults", "the faults not used up yet"),
    ("POST", "/emulator/faults", 'inject a fault: {"fault": "<name>", ...}'),
    ("DELETE", "/emulator/faults", "remove every fault"),
    ("GET", "/emulator/behaviour", "how GetContextInfo lists tasks"),
    ("POST", "/emulator/behaviour", "registrationLag, history, ignoreTaskType"),
    ("DELETE", "/emulator/behaviour", "back to the default behaviour"),
    ("GET", "/emulator/task-delay", "how long sync tasks take, per session too"),
    ("POST", "/emulator/task-delay", '{"seconds": 0.5}, optional "sessionId"'),
    ("GET", "/emulator/requests", "the requests received, headers and bodies"),
    ("DELETE", "/emulator/requests", "forget the requests received"),
)
"""Every admin route: method, path and what it is for (for help texts)."""


class AdminRoutes:
    """What a test or a person uses to set the emulator up and look inside it."""

    def __init__(
        self,
        *,
        store: Store,
        faults: Faults,
        behaviour: Behaviour,
        speeds: TaskSpeeds,
        log: RequestLog,
        reset: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._faults = faults
        self._behaviour = behaviour
        self._speeds = speeds
        self._log = log
        self._reset = reset

    def routes(self) -> list[Route]:
        handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/emulator/health": self.health,
            "/emulator/openapi.yaml": self.openapi,
            "/emulator/reset": self.reset,
            "/emulator/sessions": self.create_session,
            "/emulator/sessions/{sessionId}": self.get_session,
            "/emulator/contexts/{contextId}": self.get_context,
            "/emulator/faults": self.faults,
            "/emulator/behaviour": self.behaviour,
            "/emulator/task-delay": self.task_delay,
            "/emulator/requests": self.requests,
        }
        methods: dict[str, list[str]] = {}
        for method, path, _ in ADMIN_ROUTES:
            methods.setdefault(path, []).append(method)
        return [Route(path, handlers[path], methods=methods[path]) for path in methods]

    async def health(self, request: Request) -> Response:
        return success(request_id(request), status="ok")

    async def openapi(self, request: Request) -> Response:
        return Response(admin_spec(), media_type="application/yaml")

    async def reset(self, request: Request) -> Response:
        await self._reset()
        return success(request_id(request))

    async def create_session(self, request: Request) -> Response:
        body = read.parse_json(await read.body(request))
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
        sid = check.session_id(request.path_params["sessionId"], "session id")
        session = self._store.session(sid)
        tasks = [task_to_wire(task) for task in self._store.records(session)]
        return success(request_id(request), **_describe(session), tasks=tasks)

    async def get_context(self, request: Request) -> Response:
        folder = self._store.context_path(request.path_params["contextId"])
        return success(
            request_id(request),
            contextId=folder.name,
            localPath=str(folder),
            exists=folder.is_dir(),
        )

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._faults.clear()
        elif request.method == "POST":
            self._faults.apply(read.parse_json(await read.body(request)))
        queued = [fault.to_json() for fault in self._faults.queued()]
        return success(request_id(request), faults=queued)

    async def behaviour(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._behaviour.clear()
        elif request.method == "POST":
            self._behaviour.apply(read.parse_json(await read.body(request)))
        return success(request_id(request), **behaviour_to_json(self._behaviour.current))

    async def task_delay(self, request: Request) -> Response:
        if request.method == "POST":
            body = read.parse_json(await read.body(request))
            if (
                not isinstance(body, dict)
                or "seconds" not in body
                or set(body)
                - {
                    "seconds",
                    "sessionId",
                }
            ):
                raise InvalidValue(
                    'send {"seconds": <0 to 3600>}, and "sessionId" to set it for one '
                    'session only, e.g. {"seconds": 0.5, "sessionId": "session-..."}'
                )
            sid = None
            if "sessionId" in body:
                sid = check.session_id(body["sessionId"], "sessionId")
                self._store.session(sid)
            self._speeds.set(body["seconds"], sid)
        default, sessions = self._speeds.snapshot()
        return success(request_id(request), seconds=default, sessions=sessions)

    async def requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._log.clear()
            return success(request_id(request), requests=[])
        entries = [entry.to_json() for entry in self._log.snapshot()]
        return success(request_id(request), requests=entries)


def _describe(session: Session) -> dict[str, Any]:
    mounts = [
        {"contextId": m.context_id, "path": m.path, "localPath": str(m.folder)}
        for m in session.mounts
    ]
    return {"sessionId": session.id, "mounts": mounts}
