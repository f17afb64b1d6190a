"""The routes for a context's files: presigned URLs, listing, deleting, and the URLs themselves.

``PUT``/``GET`` on ``/presigned/file`` need no API key: the URL's signature
stands for it. A ``PUT`` streams the body to a file beside the data, then
renames it into the context once complete and of its ``Content-Length``, so
a cut-off upload leaves the stored file as it was; a ``GET`` streams the
file and honours ``Range``. The disk is read and written on worker threads,
never on the event loop.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from anyio import open_file, to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from agb_context.emulator import _inputs as read
from agb_context.emulator import _validation as check
from agb_context.emulator._context_files import (
    MAX_PAGE_SIZE,
    PRESIGNED_PATH,
    Forbidden,
    UrlSigner,
    file_path,
    folder_path,
    inside,
    list_folder,
    page_number,
)
from agb_context.emulator._envelope import failure, request_id, success
from agb_context.emulator._store import Store
from agb_context.emulator._tasks import TaskRunner
from agb_context.emulator._validation import InvalidValue, MissingValue, NotFound

_WRITE_BATCH = 1 << 20
"""Bytes an upload gathers before writing them, and a download reads at a time."""


class FileRoutes:
    """The handlers of the file routes."""

    def __init__(self, store: Store, runner: TaskRunner, signer: UrlSigner) -> None:
        self._store = store
        self._runner = runner
        self._signer = signer
        self._staging = store.contexts

    def routes(self) -> list[Route]:
        return [
            Route("/sdk/GetContextFileUploadUrl", self.upload_url, methods=["POST"]),
            Route("/sdk/GetContextFileDownloadUrl", self.download_url, methods=["POST"]),
            Route("/sdk/DeleteContextFile", self.delete_file, methods=["POST"]),
            Route("/sdk/DescribeContextFiles", self.describe_files, methods=["POST"]),
            # one route, so that a 405 on the path lists both methods
            Route(PRESIGNED_PATH, self.presigned, methods=["GET", "PUT"]),
        ]

    async def presigned(self, request: Request) -> Response:
        if request.method == "PUT":
            return await self.put_file(request)
        return await self.get_file(request)

    async def upload_url(self, request: Request) -> Response:
        return await self._url(request, "put")

    async def download_url(self, request: Request) -> Response:
        return await self._url(request, "get")

    async def _url(self, request: Request, op: str) -> Response:
        query = _query(request, "contextId", "filePath")
        cid, path = self._context(query), file_path(_required(query, "filePath"))
        await _empty_body(request)
        target = inside(self._root(cid), path)
        if op == "get" and not target.is_file():
            raise NotFound("FileNotFound", f"context {cid} has no file {check.shown(path)}")
        url, expires = self._signer.url(str(request.base_url), op, cid, path)
        return success(request_id(request), data={"url": url, "expireTime": expires})

    async def delete_file(self, request: Request) -> Response:
        query = _query(request, "contextId", "filePath")
        cid, path = self._context(query), file_path(_required(query, "filePath"))
        await _empty_body(request)
        async with self._runner.context_lock(cid):
            target = inside(self._root(cid), path)
            if target.is_dir():
                raise InvalidValue(f"{check.shown(path)} is a folder: delete files only")
            if not target.is_file():
                raise NotFound("FileNotFound", f"context {cid} has no file {check.shown(path)}")
            target.unlink()
        return success(request_id(request))

    async def describe_files(self, request: Request) -> Response:
        query = _query(request, "contextId", "parentFolderPath", "pageNumber", "pageSize")
        cid = self._context(query)
        folder = folder_path(query.get("parentFolderPath"))
        number = page_number(query.get("pageNumber"), "pageNumber")
        size = page_number(query.get("pageSize"), "pageSize", MAX_PAGE_SIZE)
        await _empty_body(request)
        entries = list_folder(self._root(cid), folder)
        page = entries[(number - 1) * size : number * size]
        data = [entry.to_wire() for entry in page]
        return success(request_id(request), data=data, count=len(entries))

    async def put_file(self, request: Request) -> Response:
        try:
            cid, path = self._signer.check(read.query(request), "put")
        except Forbidden as exc:
            return failure(request_id(request), 403, str(exc), "Forbidden")
        self._store.context_records.get(cid)
        declared = _content_length(request)
        self._staging.mkdir(parents=True, exist_ok=True)
        # beside the contexts, where a restart deletes what a stop left (see recover)
        scratch = self._staging / f".staging-upload-{secrets.token_hex(8)}"
        try:
            received = await _receive(request, scratch)
            if declared is not None and received != declared:
                raise InvalidValue(
                    f"the body has {received} bytes where its Content-Length says {declared}: "
                    "nothing was stored"
                )
            async with self._runner.context_lock(cid):
                self._store.context_records.get(cid)  # not deleted meanwhile
                await to_thread.run_sync(self._place, cid, path, scratch)
        finally:
            scratch.unlink(missing_ok=True)
        return Response(status_code=200)

    def _place(self, cid: str, path: str, scratch: Path) -> None:
        """Rename a received upload over the context's file (on a worker thread)."""
        target = inside(self._root(cid), path)
        if target.is_dir():
            raise InvalidValue(f"{check.shown(path)} is a folder: upload files only")
        target.parent.mkdir(parents=True, exist_ok=True)
        inside(self._root(cid), path)  # no link was made meanwhile
        os.replace(scratch, target)

    async def get_file(self, request: Request) -> Response:
        try:
            cid, path = self._signer.check(read.query(request), "get")
        except Forbidden as exc:
            return failure(request_id(request), 403, str(exc), "Forbidden")
        target = inside(self._root(cid), path)
        if not target.is_file():
            raise NotFound("FileNotFound", f"context {cid} has no file {check.shown(path)}")
        return _FileResponse(target, media_type="application/octet-stream")

    def _context(self, query: dict[str, str]) -> str:
        cid = check.context_id(_required(query, "contextId"))
        self._store.context_records.get(cid)
        return cid

    def _root(self, cid: str) -> Path:
        return self._store.context_path(cid)


class _FileResponse(FileResponse):
    """A file's bytes, read on worker threads (as `FileResponse` does), a MiB at a time."""

    chunk_size = _WRITE_BATCH


def _content_length(request: Request) -> int | None:
    """The ``Content-Length`` a request declared; None when it sent none."""
    given = request.headers.get("content-length")
    if given is None:
        return None
    if not given.isdigit():
        raise InvalidValue(f"Content-Length must be a whole number, not {check.shown(given)}")
    return int(given)


async def _receive(request: Request, scratch: Path) -> int:
    """Write a request's body to ``scratch`` and return its size.

    Chunks are gathered up to `_WRITE_BATCH` bytes and written on a worker
    thread, so the event loop never waits for the disk and memory holds one
    batch at most.

    Raises:
        ClientDisconnect: The client went away before the body ended.
    """
    received = 0
    async with await open_file(scratch, "wb") as out:
        batch: list[bytes] = []
        pending = 0
        async for chunk in request.stream():
            batch.append(chunk)
            pending += len(chunk)
            if pending >= _WRITE_BATCH:
                await out.writelines(batch)
                received += pending
                batch, pending = [], 0
        if batch:
            await out.writelines(batch)
            received += pending
    return received


def _query(request: Request, *known: str) -> dict[str, str]:
    query = read.query(request)
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise InvalidValue(
            f"unknown parameter {check.shown(unknown[0])}: this call takes {', '.join(known)}"
        )
    return query


def _required(query: dict[str, str], name: str) -> str:
    if name not in query:
        raise MissingValue(f"{name} is required")
    return query[name]


async def _empty_body(request: Request) -> None:
    body = await read.body(request)
    if body.strip() and read.parse_json(body) != {}:
        raise InvalidValue("the body must be the empty JSON object {}")
