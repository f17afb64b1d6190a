"""The account-level context routes: list, get (or create), rename, delete and clear.

Deleting a context removes its record at once (it is then unknown: 404) and
its stored data as soon as no sync of it runs. Sessions that mount it keep
their mounts and files; their syncs of it fail, saying it was deleted.

Clearing sets the context's state to ``clearing``; once no sync of it runs
and the task delay has passed, its stored data is removed in one step and
the state is ``available`` again.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agb_context.emulator import _inputs as read
from agb_context.emulator import _validation as check
from agb_context.emulator._contexts import (
    AVAILABLE,
    CLEARING,
    CONTEXT_ENDPOINTS,
    NameTaken,
    context_name,
    page_size,
)
from agb_context.emulator._copy import discard_tree
from agb_context.emulator._envelope import failure, request_id, success
from agb_context.emulator._store import Store
from agb_context.emulator._tasks import TaskRunner
from agb_context.emulator._validation import InvalidValue, MissingValue


class ContextRoutes:
    """The handlers of the account-level context routes."""

    def __init__(self, store: Store, runner: TaskRunner) -> None:
        self._store = store
        self._records = store.context_records
        self._runner = runner

    def routes(self) -> list[Route]:
        handlers = {
            "ListContexts": self.list_contexts,
            "GetContext": self.get_context,
            "ModifyContext": self.modify_context,
            "DeleteContext": self.delete_context,
            "ClearContext": self.clear_context,
        }
        return [
            Route(path, handlers[name], methods=[method])
            for (method, path), name in CONTEXT_ENDPOINTS.items()
        ]

    async def list_contexts(self, request: Request) -> Response:
        query = _query(request, "maxResults", "nextToken")
        size = page_size(query.get("maxResults"))
        token = query.get("nextToken")
        if token == "":
            raise InvalidValue("nextToken must not be empty: leave it out for the first page")
        page = self._records.page(size, token)
        extra: dict[str, object] = {"maxResults": size, "totalCount": page.total_count}
        if page.next_token is not None:
            extra["nextToken"] = page.next_token
        data = [record.to_wire() for record in page.contexts]
        return success(request_id(request), data=data, **extra)

    async def get_context(self, request: Request) -> Response:
        query = _query(request, "id", "name", "allowCreate", "loginRegionId")
        allow_create = _flag(query, "allowCreate")
        if "loginRegionId" in query:
            check.session_id(query["loginRegionId"], "loginRegionId")
        cid = query.get("id")
        name = None if query.get("name") is None else context_name(query["name"])
        if cid is None and name is None:
            raise MissingValue("give id or name: the context to get")
        if cid is not None:
            if allow_create:
                raise InvalidValue(
                    "allowCreate=true goes with name only: a context is created by name, "
                    "its id is made by the server"
                )
            record = self._records.get(check.context_id(cid, "id"))
            if name is not None and record.name != name:
                raise check.NotFound(
                    "ContextNotFound",
                    f"context {record.id} is named {check.shown(record.name)}, "
                    f"not {check.shown(name)}",
                )
        elif allow_create:
            assert name is not None
            record, _ = self._records.get_or_create(name)
        else:
            assert name is not None
            record = self._records.find(name)
        return success(request_id(request), data=record.to_wire())

    async def modify_context(self, request: Request) -> Response:
        query = _query(request, "id", "name")
        cid = _context_id(query)
        if "name" not in query:
            raise MissingValue("name is required: the new name of the context")
        name = context_name(query["name"])
        await _empty_body(request)
        try:
            self._records.rename(cid, name)
        except NameTaken as exc:
            return failure(request_id(request), 409, str(exc), exc.code)
        return success(request_id(request))

    async def delete_context(self, request: Request) -> Response:
        query = _query(request, "id")
        cid = _context_id(query)
        await _empty_body(request)
        self._records.delete(cid)
        self._runner.spawn(self._discard_deleted(cid))
        return success(request_id(request))

    async def clear_context(self, request: Request) -> Response:
        query = _query(request, "id")
        cid = _context_id(query)
        await _empty_body(request)
        record = self._records.get(cid)
        if record.state != CLEARING and self._records.set_state(cid, CLEARING) is not None:
            self._runner.spawn(self._clear(cid))
        return success(request_id(request))

    async def _clear(self, cid: str) -> None:
        loop = asyncio.get_running_loop()
        not_before = loop.time() + self._runner.task_delay
        async with self._runner.context_lock(cid):
            remaining = not_before - loop.time()
            if remaining > 0:
                await asyncio.sleep(remaining)
            if not self._exists(cid):
                return  # deleted meanwhile: its data goes with it
            await asyncio.to_thread(discard_tree, self._store.context_path(cid))
            self._records.set_state(cid, AVAILABLE)

    async def _discard_deleted(self, cid: str) -> None:
        async with self._runner.context_lock(cid):
            if self._exists(cid):
                return  # a context of that id was made again meanwhile: its data stays
            await asyncio.to_thread(discard_tree, self._store.context_path(cid))

    def _exists(self, cid: str) -> bool:
        try:
            self._records.get(cid)
        except check.NotFound:
            return False
        return True


def _query(request: Request, *known: str) -> dict[str, str]:
    """The query parameters, each given at most once and all of them ``known``."""
    query = read.query(request)
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise InvalidValue(
            f"unknown parameter {check.shown(unknown[0])}: this call takes {', '.join(known)}"
        )
    return query


def _context_id(query: dict[str, str]) -> str:
    if "id" not in query:
        raise MissingValue("id is required: the id of the context")
    return check.context_id(query["id"], "id")


def _flag(query: dict[str, str], name: str) -> bool:
    if name not in query:
        raise MissingValue(f"{name} is required: 'true' or 'false'")
    value = query[name]
    if value not in ("true", "false"):
        raise InvalidValue(f"{name} must be 'true' or 'false', not {check.shown(value)}")
    return value == "true"


async def _empty_body(request: Request) -> None:
    body = await read.body(request)
    if body.strip() and read.parse_json(body) != {}:
        raise InvalidValue("the body must be the empty JSON object {}")
