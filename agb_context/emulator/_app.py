"""The emulator's ASGI application: its routes, their error answers, and the gateway."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from agb_context.emulator._admin import AdminRoutes
from agb_context.emulator._behaviour import Behaviour
from agb_context.emulator._context_files import UrlSigner
from agb_context.emulator._context_routes import ContextRoutes
from agb_context.emulator._envelope import failure, request_id
from agb_context.emulator._faults import Faults
from agb_context.emulator._file_routes import FileRoutes
from agb_context.emulator._gateway import CLIENT_GONE, CLOUD_ENDPOINTS, Gateway
from agb_context.emulator._ids import Ids
from agb_context.emulator._request_log import RequestLog
from agb_context.emulator._routes import CloudRoutes
from agb_context.emulator._speeds import TaskSpeeds
from agb_context.emulator._store import Store
from agb_context.emulator._tasks import TaskRunner
from agb_context.emulator._validation import InvalidValue, NotFound

logger = logging.getLogger("agb_context.emulator")

_CLOUD_ROUTES = ", ".join(f"{method} {path}" for method, path in CLOUD_ENDPOINTS)


def build_app(
    *,
    store: Store,
    runner: TaskRunner,
    faults: Faults,
    api_key: str,
    log: RequestLog,
    behaviour: Behaviour,
    ids: Ids,
    speeds: TaskSpeeds,
    reset: Callable[[], Awaitable[None]],
    signer: UrlSigner | None = None,
) -> Gateway:
    """The emulator's ASGI application; ``reset`` empties the emulator (on its loop)."""
    admin = AdminRoutes(
        store=store, faults=faults, behaviour=behaviour, speeds=speeds, log=log, reset=reset
    )
    app = Starlette(
        routes=[
            *CloudRoutes(store, runner, behaviour).routes(),
            *ContextRoutes(store, runner).routes(),
            *FileRoutes(store, runner, signer or UrlSigner()).routes(),
            *admin.routes(),
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
    return Gateway(app, api_key=api_key, faults=faults, log=log, ids=ids)


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
            f"there is no route {where}: the emulator serves {_CLOUD_ROUTES} "
            "and the /emulator/ admin routes"
        )
    else:
        message = str(exc.detail)
    return failure(request_id(request), exc.status_code, message, headers=exc.headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    logger.info("request %s: the client hung up before its body arrived", request_id(request))
    return Response(status_code=CLIENT_GONE)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error("request %s failed", request_id(request), exc_info=exc)
    return failure(request_id(request), 500, f"the emulator failed: {exc!r}")
