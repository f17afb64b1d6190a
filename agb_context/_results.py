"""Result objects: what `ContextManager` and `ContextService` return. Immutable, typed."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal, Self

import attr
import attrs

from agb_context._errors import error_for
from agb_context._types import FINAL_STATUSES, SYNC_MODES

ErrorKind = Literal[
    "invalid_argument",
    "not_sent",
    "no_response",
    "timeout",
    "http_status",
    "api_error",
    "unreadable_response",
    "task_failed",
    "still_running",
    "cancelled",
]
"""Why a result failed, for a program to act on (see the README's table)."""


@attrs.frozen(kw_only=True)
class ContextStatusData:
    """The status of one task of a session's contexts, as `GetContextInfo` reports it.

    Fields missing from the server's report read as ``""`` (strings) or ``0``
    (times). Times are milliseconds since the Unix epoch, ``0`` when not yet known.
    """

    context_id: str = ""
    path: str = ""
    status: str = ""
    """``Pending``, ``Running``, ``Success`` or ``Failed``; only the last two are final."""
    task_type: str = ""
    """``upload`` or ``download`` for sync tasks; other types are not sync tasks."""
    start_time: int = 0
    finish_time: int = 0
    error_message: str = ""

    @property
    def is_final(self) -> bool:
        """Whether the task has finished (``Success`` or ``Failed``)."""
        return self.status in FINAL_STATUSES

    @property
    def is_sync_task(self) -> bool:
        """Whether the task is an ``upload`` or ``download`` sync task."""
        return self.task_type in SYNC_MODES


@attrs.frozen(kw_only=True)
class ApiResponse:
    """What every result carries: the request id of the call it rests on and,
    when it failed, why, in fields a program can act on.

    ``error_kind`` is None on success; on failure one of `ErrorKind`:
    ``invalid_argument`` (refused before any request), ``not_sent`` (the
    request never reached the server), ``no_response`` (sent, no answer: its
    effect is unknown), ``timeout`` (a request timed out), ``http_status`` (an
    HTTP error status), ``api_error`` (HTTP 200 with ``success: false``),
    ``unreadable_response`` (not the documented JSON), ``task_failed``,
    ``still_running`` (the wait ran out; the work goes on) or ``cancelled``.
    ``retryable`` says whether trying again may help.
    """

    request_id: str = ""
    """The server's id for the request, ``""`` when there is none (e.g. no request was sent)."""
    http_status: int | None = None
    """The HTTP status of the answer the result rests on; None when no answer came."""
    error_kind: ErrorKind | None = None
    """Why the call failed (None when it succeeded)."""
    error_code: str = ""
    """The server's ``code`` for the failure, ``""`` when it gave none."""
    retryable: bool = False
    """Whether the same call may succeed if tried again."""

    def raise_for_status(self) -> Self:
        """Return the result if it succeeded; otherwise raise its `RequestFailed` subclass.

        The exception carries the result (``exc.result``); its class says the
        kind of failure (e.g. `NotFoundError`, `NetworkError`, `SyncFailedError`).
        """
        if getattr(self, "success", True):
            return self
        raise error_for(self)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (lists and dicts), ready for JSON."""
        # attr.asdict (the classic API) turns tuples into lists; attrs.asdict keeps them.
        return attr.asdict(self, recurse=True, retain_collection_types=False)

    def to_json(self, **dumps: Any) -> str:
        """The result as a JSON document; ``dumps`` go to `json.dumps` (e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), **dumps)


def log_failure(what: str, result: ApiResponse) -> None:
    """Log a failed result once: a WARNING on ``agb_context``, with its kind and request id."""
    if getattr(result, "success", True):
        return
    logging.getLogger("agb_context").warning(
        "%s failed (%s, request %s): %s",
        what,
        result.error_kind,
        result.request_id or "none",
        getattr(result, "error_message", ""),
    )


@attrs.frozen(kw_only=True)
class ContextInfoResult(ApiResponse):
    """The answer of `ContextManager.info`.

    ``success`` is ``False`` when the call failed (HTTP error, ``success: false``
    from the server, network failure, malformed status); ``error_message`` then
    says why. On success ``context_status_data`` lists the reported tasks.
    """

    success: bool
    context_status_data: tuple[ContextStatusData, ...] = ()
    error_message: str = ""


@attrs.frozen(kw_only=True)
class ContextSyncResult(ApiResponse):
    """The final outcome of `ContextManager.sync`.

    ``success`` is ``True`` only when the server accepted the sync and every
    sync task it reported then finished with ``Success`` (or there were none).
    ``request_id`` is that of the accepted ``SyncContext`` call.
    """

    success: bool
    error_message: str = ""
    context_status_data: tuple[ContextStatusData, ...] = ()
    """The sync tasks as last reported while waiting (empty if none were seen)."""


@attrs.frozen(kw_only=True)
class Context:
    """A context of the account: persistent storage sessions mount by its ``id``.

    Times are strings as the server writes them; fields the server left out
    read as ``""``. To rename a context, pass
    ``context.with_name("new name")`` to `ContextService.update`.
    """

    id: str
    name: str
    created_at: str = ""
    last_used_at: str = ""
    state: str = ""
    """``available``; ``clearing`` or ``pre-available`` while its data is being cleared."""

    def with_name(self, name: str) -> Context:
        """This context with another name (nothing is sent: pass it to ``update``)."""
        return attrs.evolve(self, name=name)


@attrs.frozen(kw_only=True)
class ContextResult(ApiResponse):
    """The answer of `ContextService.get` and `ContextService.create`.

    On success ``context`` is the context and ``context_id`` its id; otherwise
    ``context`` is None and ``error_message`` says why.
    """

    success: bool
    context_id: str = ""
    context: Context | None = None
    error_message: str = ""


@attrs.frozen(kw_only=True)
class ContextListResult(ApiResponse):
    """One page of `ContextService.list`.

    ``next_token`` is None on the last page; otherwise pass it to ``list`` for
    the next one. ``total_count`` is how many contexts there are in all, when
    the server says.
    """

    success: bool
    contexts: tuple[Context, ...] = ()
    next_token: str | None = None
    max_results: int | None = None
    total_count: int | None = None
    error_message: str = ""


@attrs.frozen(kw_only=True)
class OperationResult(ApiResponse):
    """The answer of a call that changes a context and returns nothing else
    (`ContextService.update`, `ContextService.delete`)."""

    success: bool
    context_id: str = ""
    """The context the call was about."""
    error_message: str = ""


CLEARING_STATES = frozenset({"clearing", "pre-available"})
"""The states of a context whose data is still being cleared."""


@attrs.frozen(kw_only=True)
class ClearContextResult(ApiResponse):
    """Where the clearing of a context's data stands.

    ``status`` is the context's state: ``clearing`` (or ``pre-available``)
    while its data is being cleared, ``available`` once it is done.
    """

    success: bool
    context_id: str = ""
    status: str = ""
    error_message: str = ""

    @property
    def is_clearing(self) -> bool:
        """Whether the data is still being cleared."""
        return self.status in CLEARING_STATES


@attrs.frozen(kw_only=True)
class FileUrlResult(ApiResponse):
    """A presigned URL for one file of a context (`ContextService.get_file_upload_url`,
    `ContextService.get_file_download_url`).

    ``url`` needs no API key: ``PUT`` the bytes there (upload) or ``GET`` it
    (download) before ``expire_time`` (seconds since the Unix epoch).
    """

    success: bool
    url: str = ""
    expire_time: int | None = None
    error_message: str = ""


@attrs.frozen(kw_only=True)
class ContextFileEntry:
    """A file or folder of a context, as `ContextService.list_files` reports it."""

    file_id: str = ""
    file_name: str = ""
    file_path: str = ""
    file_type: str = ""
    """``file`` or ``folder``."""
    gmt_create: str = ""
    gmt_modified: str = ""
    size: int = 0
    """Bytes; 0 for a folder."""
    status: str = ""

    @property
    def is_folder(self) -> bool:
        """Whether the entry is a folder."""
        return self.file_type == "folder"


@attrs.frozen(kw_only=True)
class ContextFileListResult(ApiResponse):
    """One page of `ContextService.list_files`: ``entries`` and ``count`` (all of them)."""

    success: bool
    entries: tuple[ContextFileEntry, ...] = ()
    count: int | None = None
    error_message: str = ""


@attrs.frozen(kw_only=True)
class FileTransferResult(ApiResponse):
    """The outcome of `ContextService.upload_file` or `ContextService.download_file`.

    ``size`` is the number of bytes moved (checked against what the other
    side said); ``attempts`` how many times the transfer was tried.
    """

    success: bool
    context_id: str = ""
    file_path: str = ""
    local_path: str = ""
    size: int = 0
    attempts: int = 0
    error_message: str = ""


@attrs.frozen(kw_only=True)
class FolderTransferResult(ApiResponse):
    """The outcome of `ContextService.upload_dir` or `ContextService.download_dir`.

    ``files`` holds each file's own result; ``success`` only when every file
    moved. ``size`` is the bytes moved in all. On failure ``error_kind``,
    ``http_status``, ``error_code`` and ``request_id`` are those of the first
    failed file (so ``raise_for_status`` raises its class), and ``retryable``
    says whether every failed file may move if tried again.
    """

    success: bool
    files: tuple[FileTransferResult, ...] = ()
    size: int = 0
    error_message: str = ""
