"""The account-level context calls of the generated client, turned into results.

Each call is described once (`Call`: which generated endpoint, its
arguments, how to read the answer) and can then be sent on a blocking
client or awaited on an asyncio one. As for the session calls, nothing here
raises for an API or network failure: failures are results with
``success=False`` and a message a person can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs
import httpx

from agb_context._calls import (
    _TRANSPORT_FAILURES,
    ApiCalls,
    Failure,
    _envelope,
    _failure,
    _request_id,
)
from agb_context._config import Settings
from agb_context._flow import wait_for_room
from agb_context._results import (
    ClearContextResult,
    Context,
    ContextFileEntry,
    ContextFileListResult,
    ContextListResult,
    ContextResult,
    FileUrlResult,
    OperationResult,
)
from agb_context_api import AuthenticatedClient
from agb_context_api.api.context import (
    clear_context,
    delete_context,
    delete_context_file,
    describe_context_files,
    get_context,
    get_context_file_download_url,
    get_context_file_upload_url,
    list_contexts,
    modify_context,
)
from agb_context_api.models import Context as WireContext
from agb_context_api.models import (
    DescribeContextFilesResponse,
    EmptyBody,
    FileUrlResponse,
    GetContextResponse,
    ListContextsResponse,
)
from agb_context_api.models import FileEntry as WireFileEntry
from agb_context_api.models import FileUrl as WireFileUrl
from agb_context_api.types import UNSET, Response

logger = logging.getLogger("agb_context")

R = TypeVar("R")


Failed = Callable[[Failure], R]
"""Makes the result of a failed call from why it failed."""


@attrs.frozen
class Call(Generic[R]):
    """One request, ready to be sent blocking (`send`) or awaited (`send_async`).

    As for the session calls, the generated code builds the request and
    parses the answer, and the raw answer stays in hand, so an unreadable one
    is still reported with its status and request id.
    """

    endpoint: Any
    """The generated module of the call (``_get_kwargs`` / ``_build_response``)."""
    kwargs: dict[str, Any]
    read: Callable[[Response[Any]], R]
    """Turns the parsed answer into the result."""
    failed: Failed[R]
    reader: ApiCalls
    """Reads answers and describes transport failures as the session calls do."""

    def send(self, client: AuthenticatedClient) -> R:
        """Send on a blocking client."""
        request = self.endpoint._get_kwargs(**self.kwargs)
        try:
            response = client.get_httpx_client().request(**request)
        except _TRANSPORT_FAILURES as exc:
            return self.failed(self.reader._transport_failure(exc))
        return self._result(client, response)

    async def send_async(self, client: AuthenticatedClient) -> R:
        """Send on an asyncio client (among the loop's limited requests in flight)."""
        await wait_for_room(self.reader.settings.max_in_flight)
        request = self.endpoint._get_kwargs(**self.kwargs)
        try:
            response = await client.get_async_httpx_client().request(**request)
        except _TRANSPORT_FAILURES as exc:
            return self.failed(self.reader._transport_failure(exc))
        return self._result(client, response)

    def _result(self, client: AuthenticatedClient, response: httpx.Response) -> R:
        read = self.reader._read(self.endpoint, client, response)
        if isinstance(read, Failure):
            return self.failed(read)
        return self.read(read)


@attrs.frozen
class ContextCalls:
    """The calls about the contexts of the account, as `Call` objects."""

    settings: Settings

    @property
    def _reader(self) -> ApiCalls:
        return ApiCalls(session_id="", settings=self.settings)

    def list(self, max_results: int, next_token: str | None) -> Call[ContextListResult]:
        """``ListContexts``: one page."""

        def failed(failure: Failure) -> ContextListResult:
            return ContextListResult(
                success=False,
                **failure.fields("could not list contexts: "),
            )

        def read(response: Response[Any]) -> ContextListResult:
            parsed = response.parsed
            envelope = parsed if isinstance(parsed, ListContextsResponse) else _envelope(response)
            request_id = _request_id(envelope, response.headers)
            problem = _failure(int(response.status_code), envelope, request_id)
            if problem is not None:
                return failed(problem)
            assert isinstance(envelope, ListContextsResponse)
            data = envelope.data if isinstance(envelope.data, list) else []
            return ContextListResult(
                success=True,
                request_id=request_id,
                http_status=int(response.status_code),
                contexts=tuple(_context(item) for item in data),
                next_token=_text(envelope.next_token) or None,
                max_results=_count(envelope.max_results),
                total_count=_count(envelope.total_count),
            )

        kwargs = {
            "max_results": max_results,
            "next_token": UNSET if next_token is None else next_token,
        }
        return Call(list_contexts, kwargs, read, failed, self._reader)

    def get(
        self,
        *,
        context_id: str | None = None,
        name: str | None = None,
        create: bool = False,
        login_region_id: str | None = None,
    ) -> Call[ContextResult]:
        """``GetContext`` by id or by name, creating it by name when ``create``."""
        what = f"context {context_id}" if context_id is not None else f"context {name!r}"
        verb = "get or create" if create else "get"

        def failed(failure: Failure) -> ContextResult:
            return ContextResult(
                success=False,
                **failure.fields(f"could not {verb} {what}: "),
            )

        def read(response: Response[Any]) -> ContextResult:
            parsed = response.parsed
            envelope = parsed if isinstance(parsed, GetContextResponse) else _envelope(response)
            request_id = _request_id(envelope, response.headers)
            problem = _failure(int(response.status_code), envelope, request_id)
            if problem is not None:
                return failed(problem)
            assert isinstance(envelope, GetContextResponse)
            context = _context(envelope.data) if isinstance(envelope.data, WireContext) else None
            if context is None or not context.id:
                return failed(
                    _unreadable("the answer holds no context (no data.id)", request_id, response)
                )
            logger.debug("%s: %s (%s)", verb, context.id, request_id)
            return ContextResult(
                success=True,
                request_id=request_id,
                http_status=int(response.status_code),
                context_id=context.id,
                context=context,
            )

        kwargs = {
            "id": UNSET if context_id is None else context_id,
            "name": UNSET if name is None else name,
            "allow_create": create,
            "login_region_id": UNSET if login_region_id is None else login_region_id,
        }
        return Call(get_context, kwargs, read, failed, self._reader)

    def rename(self, context_id: str, name: str) -> Call[OperationResult]:
        """``ModifyContext``: give the context a new name."""
        return self._change(modify_context, {"id": context_id, "name": name}, context_id, "rename")

    def delete(self, context_id: str) -> Call[OperationResult]:
        """``DeleteContext``."""
        return self._change(delete_context, {"id": context_id}, context_id, "delete")

    def start_clear(self, context_id: str) -> Call[ClearContextResult]:
        """``ClearContext``: success means the server accepted the clear, not that it is done.

        The result's ``status`` is then ``clearing``; watch it with `clear_status`.
        """

        def failed(failure: Failure) -> ClearContextResult:
            return ClearContextResult(
                success=False,
                context_id=context_id,
                **failure.fields(f"the clearing of context {context_id} was not started: "),
            )

        def read(response: Response[Any]) -> ClearContextResult:
            envelope = _envelope(response)
            request_id = _request_id(envelope, response.headers)
            problem = _failure(int(response.status_code), envelope, request_id)
            if problem is not None:
                return failed(problem)
            logger.debug("clearing of %s accepted (%s)", context_id, request_id)
            return ClearContextResult(
                success=True,
                request_id=request_id,
                http_status=int(response.status_code),
                context_id=context_id,
                status="clearing",
            )

        kwargs = {"id": context_id, "body": EmptyBody()}
        return Call(clear_context, kwargs, read, failed, self._reader)

    def clear_status(self, context_id: str) -> Call[ClearContextResult]:
        """``GetContext`` by id, read as where the clearing of its data stands."""
        look = self.get(context_id=context_id)

        def failed(failure: Failure) -> ClearContextResult:
            return ClearContextResult(
                success=False,
                context_id=context_id,
                **failure.fields(
                    f"could not learn how the clearing of context {context_id} goes: "
                ),
            )

        def read(response: Response[Any]) -> ClearContextResult:
            got = look.read(response)
            if not got.success or got.context is None:
                return ClearContextResult(
                    success=False,
                    request_id=got.request_id,
                    http_status=got.http_status,
                    error_kind=got.error_kind,
                    error_code=got.error_code,
                    retryable=got.retryable,
                    context_id=context_id,
                    error_message=got.error_message,
                )
            if not got.context.state:
                return failed(
                    Failure(
                        message="the answer gives no state for the context",
                        kind="unreadable_response",
                        request_id=got.request_id,
                        http_status=got.http_status,
                    )
                )
            return ClearContextResult(
                success=True,
                request_id=got.request_id,
                http_status=got.http_status,
                context_id=got.context_id,
                status=got.context.state,
            )

        return Call(get_context, look.kwargs, read, failed, self._reader)

    def file_url(self, op: str, context_id: str, file_path: str) -> Call[FileUrlResult]:
        """``GetContextFileUploadUrl`` (``op="put"``) or ``GetContextFileDownloadUrl``."""
        verb = "upload" if op == "put" else "download"
        endpoint = get_context_file_upload_url if op == "put" else get_context_file_download_url

        def failed(failure: Failure) -> FileUrlResult:
            return FileUrlResult(
                success=False,
                **failure.fields(f"could not get a URL to {verb} {file_path} of {context_id}: "),
            )

        def read(response: Response[Any]) -> FileUrlResult:
            parsed = response.parsed
            envelope = parsed if isinstance(parsed, FileUrlResponse) else _envelope(response)
            request_id = _request_id(envelope, response.headers)
            problem = _failure(int(response.status_code), envelope, request_id)
            if problem is not None:
                return failed(problem)
            assert isinstance(envelope, FileUrlResponse)
            data = envelope.data if isinstance(envelope.data, WireFileUrl) else None
            url = _text(data.url) if data is not None else ""
            if not _is_http_url(url):
                return failed(
                    Failure(
                        # not the URL itself: it may carry a signature
                        message="the answer holds no URL"
                        if not url
                        else "the answer's URL is not an absolute http or https URL",
                        kind="unreadable_response",
                        request_id=request_id,
                        http_status=int(response.status_code),
                    )
                )
            return FileUrlResult(
                success=True,
                request_id=request_id,
                http_status=int(response.status_code),
                url=url,
                expire_time=_count(data.expire_time) if data is not None else None,
            )

        kwargs = {"context_id": context_id, "file_path": file_path, "body": EmptyBody()}
        return Call(endpoint, kwargs, read, failed, self._reader)

    def delete_file(self, context_id: str, file_path: str) -> Call[OperationResult]:
        """``DeleteContextFile``."""
        return self._change(
            delete_context_file,
            {"context_id": context_id, "file_path": file_path},
            context_id,
            f"delete {file_path} of",
        )

    def list_files(
        self, context_id: str, folder: str | None, page_number: int, page_size: int
    ) -> Call[ContextFileListResult]:
        """``DescribeContextFiles``: one page of a folder's entries."""

        def failed(failure: Failure) -> ContextFileListResult:
            return ContextFileListResult(
                success=False,
                **failure.fields(f"could not list the files of context {context_id}: "),
            )

        def read(response: Response[Any]) -> ContextFileListResult:
            parsed = response.parsed
            envelope = (
                parsed if isinstance(parsed, DescribeContextFilesResponse) else _envelope(response)
            )
            request_id = _request_id(envelope, response.headers)
            problem = _failure(int(response.status_code), envelope, request_id)
            if problem is not None:
                return failed(problem)
            assert isinstance(envelope, DescribeContextFilesResponse)
            data = envelope.data if isinstance(envelope.data, list) else []
            return ContextFileListResult(
                success=True,
                request_id=request_id,
                http_status=int(response.status_code),
                entries=tuple(_file_entry(item) for item in data),
                count=_count(envelope.count),
            )

        kwargs = {
            "context_id": context_id,
            "parent_folder_path": UNSET if folder is None else folder,
            "page_number": page_number,
            "page_size": page_size,
            "body": EmptyBody(),
        }
        return Call(describe_context_files, kwargs, read, failed, self._reader)

    def _change(
        self, endpoint: Any, params: dict[str, str], context_id: str, verb: str
    ) -> Call[OperationResult]:
        def failed(failure: Failure) -> OperationResult:
            return OperationResult(
                success=False,
                context_id=context_id,
                **failure.fields(f"could not {verb} context {context_id}: "),
            )

        def read(response: Response[Any]) -> OperationResult:
            envelope = _envelope(response)
            request_id = _request_id(envelope, response.headers)
            problem = _failure(int(response.status_code), envelope, request_id)
            if problem is not None:
                return failed(problem)
            logger.debug("%s of context %s done (%s)", verb, context_id, request_id)
            return OperationResult(
                success=True,
                request_id=request_id,
                http_status=int(response.status_code),
                context_id=context_id,
            )

        return Call(endpoint, {**params, "body": EmptyBody()}, read, failed, self._reader)


def _file_entry(item: WireFileEntry) -> ContextFileEntry:
    return ContextFileEntry(
        file_id=_text(item.file_id),
        file_name=_text(item.file_name),
        file_path=_text(item.file_path),
        file_type=_text(item.file_type),
        gmt_create=_text(item.gmt_create),
        gmt_modified=_text(item.gmt_modified),
        size=_count(item.size) or 0,
        status=_text(item.status),
    )


def _unreadable(message: str, request_id: str, response: Response[Any]) -> Failure:
    return Failure(
        message=message,
        kind="unreadable_response",
        request_id=request_id,
        http_status=int(response.status_code),
    )


def _is_http_url(text: str) -> bool:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _context(item: WireContext) -> Context:
    return Context(
        id=_text(item.id),
        name=_text(item.name),
        created_at=_text(item.create_time),
        last_used_at=_text(item.last_used_time),
        state=_text(item.state),
    )
