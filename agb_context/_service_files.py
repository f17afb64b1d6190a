"""The files of a context, as `ContextService` methods: URLs, listing, deleting, transfers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import stat
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from agb_context import _validation as check
from agb_context._background import background_loop
from agb_context._errors import AgbContextError
from agb_context._results import (
    ContextFileEntry,
    ContextFileListResult,
    FileTransferResult,
    FileUrlResult,
    FolderTransferResult,
    OperationResult,
)
from agb_context._retry import RETRY_STATUSES
from agb_context._threads import leave_signals_to_main_thread

if TYPE_CHECKING:
    import httpx

    from agb_context._config import Settings
    from agb_context._context_calls import Call, ContextCalls
    from agb_context._http import ClientPool
    from agb_context._transfers import Moved, Progress

R = TypeVar("R")


class ContextFileListError(AgbContextError):
    """A page of `ContextService.iter_files` could not be listed; ``result`` says why."""

    def __init__(self, result: ContextFileListResult) -> None:
        # getattr: unpickling calls this with the message, then restores ``result``
        super().__init__(getattr(result, "error_message", result))
        self.result = result


Refused = TypeVar(
    "Refused",
    FileUrlResult,
    OperationResult,
    ContextFileListResult,
    FileTransferResult,
    FolderTransferResult,
)


AnyPath = TypeVar("AnyPath", bound=PurePath)


def local_target(root: AnyPath, relative: str) -> AnyPath | None:
    """Where the stored file ``relative`` (``/``-separated, checked) goes under ``root``;
    None if it would land outside (on Windows, a segment such as ``D:`` names a drive)."""
    target = root.joinpath(*relative.lstrip("/").split("/"))
    return target if root in target.parents else None


def _local_failure(
    exc: OSError, context_id: str, file_path: str, local: Path, verb: str
) -> FileTransferResult:
    """The result of a transfer that the local file failed (unreadable, a full disk,
    gone since it was checked), as every other failure of a transfer is a result."""
    why = f"local_path {str(local)!r} could not be {verb}: {exc.strerror or exc}"
    return _refused_transfer(check.InvalidArgument(why), context_id, file_path, local)


def _refused_transfer(
    exc: check.InvalidArgument, context_id: object, file_path: object, local_path: object
) -> FileTransferResult:
    """The result of a transfer refused for its arguments or its local file: it names the
    files as given (in a folder transfer, that is how a program tells which file it was)."""
    local = os.fspath(local_path) if isinstance(local_path, str | os.PathLike) else ""
    return FileTransferResult(
        success=False,
        context_id=context_id if isinstance(context_id, str) else "",
        file_path=file_path if isinstance(file_path, str) else "",
        local_path=local if isinstance(local, str) else "",
        error_kind="invalid_argument",
        error_message=str(exc),
    )


def _invalid(kind: type[Refused], exc: check.InvalidArgument) -> Refused:
    """The result for arguments refused before any request."""
    return kind(success=False, error_message=str(exc), error_kind="invalid_argument")


class ContextFiles:
    """What `ContextService` does with the files of a context (mixed into it)."""

    _settings: Settings
    _clients: ClientPool
    _transfer_tasks: TransferTasks

    @property
    def _calls(self) -> ContextCalls:
        raise NotImplementedError

    def _send(self, prepared: Call[R] | R) -> R:
        raise NotImplementedError

    async def _send_async(self, build: Callable[[], Call[R] | R]) -> R:
        raise NotImplementedError

    # -- URLs, listing, deleting ---------------------------------------------

    def get_file_upload_url(self, context_id: str, file_path: str) -> FileUrlResult:
        """A presigned URL to ``PUT`` one file of a context to (no API key needed there).

        ``file_path`` is the file's path from the context's root, e.g.
        ``/data/a.csv``. `upload_file` does the whole upload.
        """
        return self._send(self._url_call("put", context_id, file_path))

    async def get_file_upload_url_async(self, context_id: str, file_path: str) -> FileUrlResult:
        """The non-blocking `get_file_upload_url`."""
        return await self._send_async(lambda: self._url_call("put", context_id, file_path))

    def get_file_download_url(self, context_id: str, file_path: str) -> FileUrlResult:
        """A presigned URL to ``GET`` one file of a context from (no API key needed there)."""
        return self._send(self._url_call("get", context_id, file_path))

    async def get_file_download_url_async(self, context_id: str, file_path: str) -> FileUrlResult:
        """The non-blocking `get_file_download_url`."""
        return await self._send_async(lambda: self._url_call("get", context_id, file_path))

    def delete_file(self, context_id: str, file_path: str) -> OperationResult:
        """Delete one file of a context."""
        return self._send(self._delete_file_call(context_id, file_path))

    async def delete_file_async(self, context_id: str, file_path: str) -> OperationResult:
        """The non-blocking `delete_file`."""
        return await self._send_async(lambda: self._delete_file_call(context_id, file_path))

    def list_files(
        self,
        context_id: str,
        parent_folder_path: str | None = None,
        page_number: int = 1,
        page_size: int = 50,
    ) -> ContextFileListResult:
        """One page of the files and folders directly in a folder of a context.

        Args:
            context_id: The context.
            parent_folder_path: The folder, e.g. ``/data``; the root when None.
            page_number: The page, from 1.
            page_size: Entries per page, 1 to 500.

        Returns:
            A `ContextFileListResult`: ``entries`` and ``count`` (how many in
            all). `iter_files` goes through every page.
        """
        return self._send(
            self._list_files_call(context_id, parent_folder_path, page_number, page_size)
        )

    async def list_files_async(
        self,
        context_id: str,
        parent_folder_path: str | None = None,
        page_number: int = 1,
        page_size: int = 50,
    ) -> ContextFileListResult:
        """The non-blocking `list_files`."""
        return await self._send_async(
            lambda: self._list_files_call(context_id, parent_folder_path, page_number, page_size)
        )

    def iter_files(
        self, context_id: str, parent_folder_path: str | None = None, page_size: int = 50
    ) -> Iterator[ContextFileEntry]:
        """Every entry directly in a folder of a context, page after page.

        Pages shorter than ``page_size`` are followed while the server's
        ``count`` says more entries remain (a server may serve fewer per page
        than asked).

        Raises:
            ContextFileListError: A page could not be listed, or the pages
                cannot give the whole folder (they end short of ``count``, or
                repeat); ``result`` says why.
        """
        pages = _Pages(page_size)
        while True:
            page = self.list_files(context_id, parent_folder_path, pages.number, page_size)
            last = pages.take(page)
            yield from page.entries
            if last:
                return

    async def iter_files_async(
        self, context_id: str, parent_folder_path: str | None = None, page_size: int = 50
    ) -> AsyncIterator[ContextFileEntry]:
        """The asynchronous `iter_files`."""
        pages = _Pages(page_size)
        while True:
            page = await self.list_files_async(
                context_id, parent_folder_path, pages.number, page_size
            )
            last = pages.take(page)
            for entry in page.entries:
                yield entry
            if last:
                return

    # -- transfers -------------------------------------------------------------

    def upload_file(
        self,
        context_id: str,
        local_path: str | os.PathLike[str],
        file_path: str,
        progress: Progress | None = None,
    ) -> FileTransferResult:
        """Upload the local file ``local_path`` to ``file_path`` of a context.

        A file already stored at ``file_path`` is replaced. The bytes are
        streamed in chunks to a presigned URL; ``progress(done, total)`` is
        called as they go (once, with ``(0, 0)``, for an empty file). A
        dropped connection is tried again, and an expired URL replaced by a
        fresh one. Blocks until done (runs on the SDK's background thread); in
        async code use `upload_file_async`.

        Args:
            context_id: The context.
            local_path: The file to send (``str`` or ``os.PathLike``; a leading
                ``~`` is the home folder). A symbolic link is followed.
            file_path: Where in the context, ``/``-separated from its root.
            progress: Called with (bytes sent, bytes in all); one that raises
                is logged once and not called again.

        Returns:
            A `FileTransferResult` (``size``, ``attempts``). A local file that
            cannot be read, or changes size while it is sent, fails it with
            ``error_kind="invalid_argument"``; so do invalid arguments, before
            any request.

        Called on a thread that runs an event loop (in a callback, which runs
        on that background thread, or from async code) it runs on a loop of
        its own on a new thread and works, but the caller's loop, and with
        the background one the SDK's other syncs and callbacks, wait until
        it returns: for a big file, start a thread, or schedule
        `upload_file_async` on the running loop (``asyncio.ensure_future``).
        The same holds for `download_file`, `upload_dir` and `download_dir`.
        """
        return self._blocking(self.upload_file_async(context_id, local_path, file_path, progress))

    async def upload_file_async(
        self,
        context_id: str,
        local_path: str | os.PathLike[str],
        file_path: str,
        progress: Progress | None = None,
    ) -> FileTransferResult:
        """The non-blocking `upload_file`."""
        from agb_context._transfers import upload

        try:
            cid, path, source = self._transfer_args(context_id, file_path, local_path)
            if not source.is_file():
                raise check.InvalidArgument(f"local_path {str(source)!r} is not a file")
            callback = _progress(progress)
        except check.InvalidArgument as exc:
            return _refused_transfer(exc, context_id, file_path, local_path)
        return await self._move(
            cid,
            path,
            source,
            "upload",
            lambda http: upload(
                http, lambda: self.get_file_upload_url_async(cid, path), source, callback
            ),
        )

    def download_file(
        self,
        context_id: str,
        file_path: str,
        local_path: str | os.PathLike[str],
        progress: Progress | None = None,
    ) -> FileTransferResult:
        """Download ``file_path`` of a context to the local file ``local_path``.

        Streamed in chunks from a presigned URL, with ``progress(done, total)``.
        The file is written under a temporary name beside ``local_path`` and
        renamed over it only once complete and of the announced size: a
        failed download leaves no partial file and keeps an older one. A
        dropped connection resumes where it stopped. The bytes are received
        and written on a thread of the transfer's own; ``progress`` is called
        on the event loop that runs the transfer. Blocks until done; in async
        code use `download_file_async`. In a callback, see `upload_file`.

        Args:
            context_id: The context.
            file_path: The stored file, ``/``-separated from the context's root.
            local_path: Where to write it (``str`` or ``os.PathLike``; a leading
                ``~`` is the home folder); its folder must exist. A file there
                is replaced, keeping its permissions; a symbolic link there is
                replaced itself, not written through.
            progress: Called with (bytes received, bytes in all); one that
                raises is logged once and not called again.

        Returns:
            A `FileTransferResult` (``size``, ``attempts``); a failure at the
            storage is typed as an API call's (``http_status``, ``timeout``...).
        """
        return self._blocking(
            self.download_file_async(context_id, file_path, local_path, progress)
        )

    async def download_file_async(
        self,
        context_id: str,
        file_path: str,
        local_path: str | os.PathLike[str],
        progress: Progress | None = None,
    ) -> FileTransferResult:
        """The non-blocking `download_file`."""
        from agb_context._transfers import download

        try:
            cid, path, target = self._transfer_args(context_id, file_path, local_path)
            if target.is_dir():
                raise check.InvalidArgument(f"local_path {str(target)!r} is a folder")
            if not target.parent.is_dir():
                raise check.InvalidArgument(
                    f"local_path {str(target)!r}: its folder does not exist"
                )
            callback = _progress(progress)
        except check.InvalidArgument as exc:
            return _refused_transfer(exc, context_id, file_path, local_path)
        return await self._move(
            cid,
            path,
            target,
            "download",
            lambda http: download(
                http, lambda: self.get_file_download_url_async(cid, path), target, callback
            ),
        )

    async def _move(
        self,
        cid: str,
        path: str,
        local: Path,
        verb: Literal["upload", "download"],
        move: Callable[[httpx.Client], Awaitable[Moved]],
    ) -> FileTransferResult:
        """One transfer with the kept blocking client, watched (a close cancels it)."""
        with self._transfer_tasks.watching():
            http = await asyncio.to_thread(self._clients.transfers)
            try:
                moved = await move(http)
            except TimeoutError:
                raise  # an OSError too, but a deadline's, not the local file's
            except OSError as exc:
                return _local_failure(
                    exc, cid, path, local, "read" if verb == "upload" else "written"
                )
        return _transfer_result(moved, cid, path, local, verb)

    # -- folder trees --------------------------------------------------------------

    def upload_dir(
        self,
        context_id: str,
        local_dir: str | os.PathLike[str],
        folder_path: str = "/",
        concurrency: int = 4,
        progress: Progress | None = None,
    ) -> FolderTransferResult:
        """Upload every regular file under ``local_dir`` to ``folder_path`` of a context.

        ``local_dir/a/b.txt`` becomes ``folder_path/a/b.txt``, replacing a file
        stored there. At most ``concurrency`` (1 to 64) files move at once;
        ``progress(done, total)`` counts the bytes of the whole tree.
        Symbolic links (to files or folders) and special files (FIFOs,
        sockets, devices) are left out; empty folders are not stored.

        Returns:
            A `FolderTransferResult`: ``success`` only when every file moved;
            ``files`` holds each file's result, sorted by ``file_path``. A
            file that cannot be sent (unreadable, gone, a name the context
            refuses) and a sub-folder that cannot be listed are failed entries
            there, never left out silently.
        """
        return self._blocking(
            self.upload_dir_async(context_id, local_dir, folder_path, concurrency, progress)
        )

    async def upload_dir_async(
        self,
        context_id: str,
        local_dir: str | os.PathLike[str],
        folder_path: str = "/",
        concurrency: int = 4,
        progress: Progress | None = None,
    ) -> FolderTransferResult:
        """The non-blocking `upload_dir`."""
        self._clients.check_open()  # as the blocking twin: a closed service raises
        try:
            cid = check.context_id(context_id)
            folder = check.context_file_path(folder_path, "folder_path", folder=True)
            limit = check.whole_number(concurrency, "concurrency", 1, 64)
            callback = _progress(progress)
            root = check.local_path(local_dir, "local_dir")
            tree = await asyncio.to_thread(_LocalTree.read, root)
        except check.InvalidArgument as exc:
            return _invalid(FolderTransferResult, exc)
        prefix = "" if folder == "/" else folder

        def stored_as(local: Path) -> str:
            relative = local.relative_to(root).as_posix()
            return folder if relative == "." else f"{prefix}/{relative}"

        tally = _Tally(sum(size for _, size in tree.files), callback)

        async def one(source: Path) -> FileTransferResult:
            return await self.upload_file_async(
                cid, source, stored_as(source), tally.for_file(str(source))
            )

        async def not_read(local: Path, exc: OSError) -> FileTransferResult:
            return _local_failure(exc, cid, stored_as(local), local, "read")

        jobs = sorted(
            [(stored_as(source), functools.partial(one, source)) for source, _ in tree.files]
            + [(stored_as(p), functools.partial(not_read, p, exc)) for p, exc in tree.unread],
            key=lambda pair: pair[0],
        )
        return await _run_all([job for _, job in jobs], limit)

    def download_dir(
        self,
        context_id: str,
        folder_path: str,
        local_dir: str | os.PathLike[str],
        concurrency: int = 4,
        progress: Progress | None = None,
    ) -> FolderTransferResult:
        """Download every file under ``folder_path`` of a context into ``local_dir``.

        ``folder_path/a/b.txt`` becomes ``local_dir/a/b.txt``: sub-folders are
        followed and made as needed (``local_dir`` too), local files of the
        same name are replaced, and other local files are left as they are.
        Each file is renamed into place only once complete. At most
        ``concurrency`` (1 to 64) files move at once; ``progress(done,
        total)`` counts the bytes of the whole tree.

        Returns:
            A `FolderTransferResult`: ``success`` only when every file moved;
            ``files`` holds each file's result, sorted by ``file_path``. A
            stored file whose path cannot be written here (a ``\\``, a control
            character) is a failed entry there, never left out. A folder that
            cannot be listed fails the whole call before any file moves; a
            ``local_dir`` that is a file is an invalid argument.
        """
        return self._blocking(
            self.download_dir_async(context_id, folder_path, local_dir, concurrency, progress)
        )

    async def download_dir_async(
        self,
        context_id: str,
        folder_path: str,
        local_dir: str | os.PathLike[str],
        concurrency: int = 4,
        progress: Progress | None = None,
    ) -> FolderTransferResult:
        """The non-blocking `download_dir`."""
        self._clients.check_open()  # as the blocking twin: a closed service raises
        try:
            cid = check.context_id(context_id)
            folder = check.context_file_path(folder_path, "folder_path", folder=True)
            limit = check.whole_number(concurrency, "concurrency", 1, 64)
            callback = _progress(progress)
            root = check.local_path(local_dir, "local_dir")
            if await asyncio.to_thread(lambda: root.exists() and not root.is_dir()):
                raise check.InvalidArgument(f"local_dir {str(root)!r} is not a folder")
        except check.InvalidArgument as exc:
            return _invalid(FolderTransferResult, exc)
        try:
            entries, refused = await self._tree(cid, folder)
        except ContextFileListError as exc:
            return FolderTransferResult(
                success=False,
                request_id=exc.result.request_id,
                http_status=exc.result.http_status,
                error_kind=exc.result.error_kind,
                error_code=exc.result.error_code,
                retryable=exc.result.retryable,
                error_message=exc.result.error_message,
            )
        prefix = "" if folder == "/" else folder
        tally = _Tally(sum(entry.size for entry in entries), callback)

        async def one(entry: ContextFileEntry) -> FileTransferResult:
            target = local_target(root, entry.file_path[len(prefix) :])
            if target is None:
                return await not_written(entry, "its path would lead out of local_dir")
            try:
                await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            except OSError as exc:  # e.g. a file where a folder has to be
                return FileTransferResult(
                    success=False,
                    context_id=cid,
                    file_path=entry.file_path,
                    local_path=str(target),
                    error_kind="invalid_argument",
                    error_message=f"local_path {str(target)!r}: its folder could not be made "
                    f"({exc.strerror or exc})",
                )
            return await self.download_file_async(
                cid, entry.file_path, target, tally.for_file(entry.file_path)
            )

        async def not_written(entry: ContextFileEntry, why: str) -> FileTransferResult:
            return FileTransferResult(
                success=False,
                context_id=cid,
                file_path=entry.file_path,
                error_kind="invalid_argument",
                error_message=f"{entry.file_path!r} was not downloaded: {why}",
            )

        jobs = sorted(
            [(e.file_path, functools.partial(one, e)) for e in entries]
            + [(e.file_path, functools.partial(not_written, e, why)) for e, why in refused],
            key=lambda pair: pair[0],
        )
        return await _run_all([job for _, job in jobs], limit)

    async def _tree(
        self, cid: str, folder: str
    ) -> tuple[list[ContextFileEntry], list[tuple[ContextFileEntry, str]]]:
        """Every file under ``folder`` (sub-folders followed), with paths checked; and
        the entries whose path cannot be written locally, with why.

        Each folder is followed and each path kept once, however often it is
        listed (a page shifted by a file added meanwhile repeats an entry; a
        folder listed inside itself would be followed for ever).
        """
        found: dict[str, ContextFileEntry] = {}
        refused: dict[str, tuple[ContextFileEntry, str]] = {}
        pending = [folder]
        followed = {folder}
        prefix = "" if folder == "/" else folder
        while pending:
            where = pending.pop()
            async for entry in self.iter_files_async(cid, where, page_size=500):
                try:
                    path = check.context_file_path(entry.file_path, "its path")
                except check.InvalidArgument as exc:
                    why = f"it cannot be written under local_dir ({exc})"
                    refused.setdefault(entry.file_path, (entry, why))
                    continue
                if not path.startswith(prefix + "/"):
                    continue
                if not entry.is_folder:
                    found.setdefault(path, attrs.evolve(entry, file_path=path))
                elif path not in followed:
                    followed.add(path)
                    pending.append(path)
        return sorted(found.values(), key=lambda e: e.file_path), list(refused.values())

    # -- internals -------------------------------------------------------------

    def _blocking(self, work: Coroutine[Any, Any, R]) -> R:
        """Run ``work`` on the SDK's background loop and wait for it.

        On a thread that runs an event loop (a callback runs on one: the
        SDK's background loop, or the loop of a transfer run this way) that
        wait could be a wait for the caller's own loop, which would never
        end: the work runs on a loop of its own on a new thread instead.
        A wait interrupted (Ctrl-C) cancels the work: it does not go on
        moving bytes behind the caller's back.
        """
        try:
            self._clients.check_open()
        except BaseException:
            work.close()  # never to run: no "never awaited" warning
            raise
        if _loop_running():
            with ThreadPoolExecutor(
                1,
                thread_name_prefix="agb-context-blocking",
                initializer=leave_signals_to_main_thread,
            ) as pool:
                return pool.submit(asyncio.run, work).result()
        future = asyncio.run_coroutine_threadsafe(work, background_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def _url_call(
        self, op: str, context_id: object, file_path: object
    ) -> Call[FileUrlResult] | FileUrlResult:
        self._clients.check_open()
        try:
            cid = check.context_id(context_id)
            path = check.context_file_path(file_path)
        except check.InvalidArgument as exc:
            return _invalid(FileUrlResult, exc)
        return self._calls.file_url(op, cid, path)

    def _delete_file_call(
        self, context_id: object, file_path: object
    ) -> Call[OperationResult] | OperationResult:
        self._clients.check_open()
        try:
            cid = check.context_id(context_id)
            path = check.context_file_path(file_path)
        except check.InvalidArgument as exc:
            return _invalid(OperationResult, exc)
        return self._calls.delete_file(cid, path)

    def _list_files_call(
        self, context_id: object, folder: object, page_number: object, page_size: object
    ) -> Call[ContextFileListResult] | ContextFileListResult:
        self._clients.check_open()
        try:
            cid = check.context_id(context_id)
            where = (
                None
                if folder is None
                else check.context_file_path(folder, "parent_folder_path", folder=True)
            )
            number = check.whole_number(page_number, "page_number", 1)
            size = check.whole_number(page_size, "page_size", 1, check.MAX_FILE_PAGE_SIZE)
        except check.InvalidArgument as exc:
            return _invalid(ContextFileListResult, exc)
        return self._calls.list_files(cid, None if where == "/" else where, number, size)

    def _transfer_args(
        self, context_id: object, file_path: object, local_path: object
    ) -> tuple[str, str, Path]:
        self._clients.check_open()
        cid = check.context_id(context_id)
        path = check.context_file_path(file_path)
        return cid, path, check.local_path(local_path)


def _loop_running() -> bool:
    """Whether this thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class TransferTasks:
    """The transfers running, each its task on its loop: all cancelled when the service
    closes, so that none fails on the connections the closing takes away."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Count the running task among the transfers while the block runs.

        Raises:
            asyncio.CancelledError: The service was closed meanwhile.
        """
        task = asyncio.current_task()
        if task is None:  # not run as a task: nothing to cancel it by
            yield
            return
        with self._lock:
            if self._closed:
                raise asyncio.CancelledError
            self._tasks.add(task)
        try:
            yield
        finally:
            with self._lock:
                self._tasks.discard(task)

    def cancel_all(self) -> None:
        """Cancel the running transfers (from any thread), and any started from now on."""
        with self._lock:
            self._closed = True
            tasks = list(self._tasks)
        for task in tasks:
            with contextlib.suppress(RuntimeError):  # its loop is closed: it is over
                task.get_loop().call_soon_threadsafe(task.cancel)


class _Tally:
    """Adds up the bytes of several transfers into one ``progress(done, total)``; a
    ``progress`` that raises is logged once and not called again, for the whole tree."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        from agb_context._transfers import Reporter

        self._total = total
        self._done: dict[str, int] = {}
        self._sum = 0
        self._report = Reporter(progress) if progress is not None else None

    def for_file(self, key: str) -> Progress | None:
        report = self._report
        if report is None:
            return None

        def tell(done: int, _: int) -> None:
            self._sum += done - self._done.get(key, 0)
            self._done[key] = done
            report(self._sum, self._total)

        return tell


async def _run_all(
    jobs: list[Callable[[], Awaitable[FileTransferResult]]], limit: int
) -> FolderTransferResult:
    """Run the transfers, ``limit`` at a time, and sum them up.

    ``limit`` tasks take the jobs in turn: a tree of many files holds no task
    (and no coroutine) for each file waiting its turn.
    """
    done: list[FileTransferResult | None] = [None] * len(jobs)
    turns = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in turns:  # shared: each job is taken by one worker
            done[index] = await job()

    await asyncio.gather(*(worker() for _ in range(min(limit, len(jobs)))))
    results = tuple(r for r in done if r is not None)
    size = sum(r.size for r in results)
    failed = [r for r in results if not r.success]
    if not failed:
        return FolderTransferResult(success=True, files=results, size=size)
    first = failed[0]
    return FolderTransferResult(
        success=False,
        files=results,
        size=size,
        error_message=f"{len(failed)} of {len(results)} files failed: "
        + "; ".join(r.error_message for r in failed[:5]),
        # typed as the first failed file, so that raise_for_status raises its class
        error_kind=first.error_kind,
        http_status=first.http_status,
        error_code=first.error_code,
        request_id=first.request_id,
        retryable=all(r.retryable for r in failed),
    )


@attrs.frozen
class _LocalTree:
    """The regular files under a folder, with their sizes, and what could not be read."""

    files: list[tuple[Path, int]]
    unread: list[tuple[Path, OSError]]
    """Folders that could not be listed and files that could not be looked at, with why:
    each is a failed file of the upload, never silently left out."""

    @classmethod
    def read(cls, root: Path) -> _LocalTree:
        """Walk ``root``: links and special files (FIFOs, sockets, devices) are left out."""
        if not root.is_dir():
            raise check.InvalidArgument(f"local_dir {str(root)!r} is not a folder")
        files: list[tuple[Path, int]] = []
        unread: list[tuple[Path, OSError]] = []

        def failed(exc: OSError) -> None:
            unread.append((Path(exc.filename) if exc.filename else root, exc))

        for folder, _, names in os.walk(root, onerror=failed):
            for name in names:
                path = Path(folder) / name
                try:
                    found = path.lstat()  # a link itself: neither followed nor sent
                except OSError as exc:
                    unread.append((path, exc))
                    continue
                if stat.S_ISREG(found.st_mode):
                    files.append((path, found.st_size))
        return cls(sorted(files), unread)


class _Pages:
    """Follows the pages of one folder's listing: which to ask for next, and when it ends."""

    def __init__(self, size: int) -> None:
        self.number = 1
        """The page to ask for next."""
        self._size = size
        self._listed = 0
        self._previous: tuple[str, ...] = ()

    def take(self, page: ContextFileListResult) -> bool:
        """Check page `number` and count it in; whether it is the last.

        Raises:
            ContextFileListError: The page was not listed, is the previous one
                again (a server that ignores ``pageNumber`` would be followed for
                ever), or is empty while the server counts entries not yet listed.
        """
        if not page.success:
            raise ContextFileListError(page)
        number = self.number
        paths = tuple(entry.file_path for entry in page.entries)
        if paths and paths == self._previous:
            raise _unreadable_page(
                page,
                f"the server gave page {number} the same entries as page {number - 1}: "
                "following it would never end, so listing stops here",
            )
        self._previous = paths
        self._listed += len(paths)
        self.number += 1
        if page.count is None:
            return len(paths) < self._size
        if self._listed >= page.count:
            return True
        if not paths:
            raise _unreadable_page(
                page,
                f"page {number} is empty, but the server counts {page.count} entries and "
                f"{self._listed} were listed: the listing would be incomplete",
            )
        return False  # shorter than asked, perhaps, but more are counted


def _unreadable_page(page: ContextFileListResult, why: str) -> ContextFileListError:
    return ContextFileListError(
        ContextFileListResult(
            success=False,
            request_id=page.request_id,
            http_status=page.http_status,
            error_kind="unreadable_response",
            error_message=why,
        )
    )


def _progress(progress: object) -> Progress | None:
    if progress is not None and not callable(progress):
        raise check.InvalidArgument(
            f"progress must be callable (done, total) or None, not {type(progress).__name__}"
        )
    return progress


def _transfer_result(
    moved: Moved, context_id: str, file_path: str, local: Path, verb: str
) -> FileTransferResult:
    where: dict[str, Any] = {
        "context_id": context_id,
        "file_path": file_path,
        "local_path": str(local),
    }
    if moved.url_failure is not None:
        failure = moved.url_failure
        return FileTransferResult(
            success=False,
            attempts=moved.attempts,
            request_id=failure.request_id,
            http_status=failure.http_status,
            error_kind=failure.error_kind,
            error_code=failure.error_code,
            retryable=failure.retryable,
            error_message=failure.error_message,
            **where,
        )
    if moved.local:
        return FileTransferResult(
            success=False,
            attempts=moved.attempts,
            error_kind="invalid_argument",
            error_message=f"local_path {str(local)!r}: {moved.error}",
            **where,
        )
    if moved.error:
        refused = moved.http_status is not None
        return FileTransferResult(
            success=False,
            attempts=moved.attempts,
            http_status=moved.http_status,
            error_code=moved.error_code,
            error_kind="http_status" if refused else moved.no_answer,
            retryable=moved.http_status in RETRY_STATUSES if refused else True,
            error_message=f"the {verb} of {file_path} of context {context_id} failed: "
            f"{moved.error}",
            **where,
        )
    return FileTransferResult(success=True, size=moved.size, attempts=moved.attempts, **where)
