"""The ``/emulator/`` admin routes: health, sessions, stored contexts, faults, behaviour."""

from __future__ import annotations

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
from agb_context.emulator._store import Session, Store
from agb_context.emulator._validation import InvalidValue, MissingValue


class AdminRoutes:
    """What a test or a person uses to set the emulator up and look inside it."""

    def __init__(self, store: Store, faults: Faults, behaviour: Behaviour) -> None:
        self._store = store
        self._faults = faults
        self._behaviour = behaviour

    def routes(self) -> list[Route]:
        return [
            Route("/emulator/health", self.health, methods=["GET"]),
            Route("/emulator/sessions", self.create_session, methods=["POST"]),
            Route("/emulator/sessions/{session_id}", self.get_session, methods=["GET"]),
            Route("/emulator/contexts/{context_id}", self.get_context, methods=["GET"]),
            Route("/emulator/faults", self.faults, methods=["POST", "DELETE"]),
            Route("/emulator/behaviour", self.behaviour, methods=["GET", "POST", "DELETE"]),
        ]

    async def health(self, request: Request) -> Response:
        return success(request_id(request), status="ok")

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
            self._faults.apply(read.parse_json(await read.body(request)))
        return success(request_id(request))

    async def behaviour(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._behaviour.clear()
        elif request.method == "POST":
            self._behaviour.apply(read.parse_json(await read.body(request)))
        return success(request_id(request), **behaviour_to_json(self._behaviour.current))


def _describe(session: Session) -> dict[str, Any]:
    mounts = [
        {"contextId": m.context_id, "path": m.path, "localPath": str(m.folder)}
        for m in session.mounts
    ]
    return {"sessionId": session.id, "mounts": mounts}
