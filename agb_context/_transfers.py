"""Moving one file's bytes through a presigned URL: streamed, with progress, retried.

The bytes go in chunks, so memory does not grow with the file. The URL
carries its own authority: the API key is never sent to it. A dropped
connection is tried again (a download resumes where it stopped, with
``Range``); a URL refused with 403 (expired) is replaced by a fresh one. A
download is written beside its target under a temporary name and renamed
over it only once complete and of the announced size, so a failed download
leaves no partial file and keeps any older one.

Each try runs on a thread of its own with a blocking client that its owner
keeps (`ClientPool.transfers`), so the disk and the socket never hold up an
event loop and connections serve file after file; progress is reported on
the event loop that runs the transfer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import secrets
import stat
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import attrs
import httpx

from agb_context._config import Settings
from agb_context._results import FileUrlResult
from agb_context._threads import leave_signals_to_main_thread

logger = logging.getLogger("agb_context")

CHUNK = 256 * 1024
"""Bytes read or written at a time."""
MAX_ATTEMPTS = 4
"""Tries of one transfer (a dropped connection or an expired URL uses one)."""
_RETRY_PAUSE = 0.2
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

NoAnswer = Literal["timeout", "not_sent", "no_response"]
"""How a try got no answer: it ran out of time, never reached the server, or was cut off."""

Progress = Callable[[int, int], object]
"""Called with (bytes done, bytes in all) as a transfer goes on."""
GetUrl = Callable[[], Awaitable[FileUrlResult]]


@attrs.frozen(kw_only=True)
class Moved:
    """How a transfer ended: bytes moved, tries made, and why it failed (``""`` if it did not)."""

    size: int
    attempts: int
    error: str = ""
    url_failure: FileUrlResult | None = None
    """The failed URL request, when that is why the transfer failed."""
    http_status: int | None = None
    """The status the URL last answered with, when a refusal is why the transfer failed."""
    error_code: str = ""
    """The ``code`` of that refusal's body, ``""`` when it had none."""
    local: bool = False
    """Whether the local file is why it failed (it changed while it was sent)."""
    no_answer: NoAnswer = "no_response"
    """Why the last try got no answer, when that is why the transfer failed."""


class Reporter:
    """Calls the progress callback; one that raises is logged once and not called again."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            return
        try:
            self._progress(done, total)
        except Exception:
            logger.exception(
                "the progress callback %r raised; it is not called again", self._progress
            )
            self._progress = None


_presigned: weakref.WeakSet[httpx.URL] = weakref.WeakSet()
"""The URLs of the requests sent to presigned URLs: their query is a credential."""


def _note_presigned(request: httpx.Request) -> None:
    _presigned.add(request.url)


class _HidePresignedQuery(logging.Filter):
    """httpx logs each request's URL at INFO: for a presigned URL, without its query
    (the signature lets anyone who reads the log move the file until it expires)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], httpx.URL):
            url = args[1]
            if url.query and url in _presigned:
                record.args = (args[0], f"{url.copy_with(query=None)}?<query hidden>", *args[2:])
        return True


logging.getLogger("httpx").addFilter(_HidePresignedQuery())


def blocking_transfer_client(settings: Settings) -> httpx.Client:
    """A client for presigned URLs: the settings' TLS trust, proxy and timeouts, no API key.

    Blocking: the tries run on threads of their own. httpx's log lines name its
    requests without the URLs' query. It asks for bodies as they
    are stored (``Accept-Encoding: identity``): a download writes the bytes it
    receives, and resumes by byte offset, so a body compressed on the way would
    be stored compressed.
    """
    return httpx.Client(
        verify=settings.tls.context,
        proxy=settings.proxy,
        timeout=settings.timeout,
        trust_env=False,
        follow_redirects=False,
        headers={"Accept-Encoding": "identity"},
        event_hooks={"request": [_note_presigned]},
    )


async def upload(
    http: httpx.Client, get_url: GetUrl, source: Path, progress: Progress | None
) -> Moved:
    """``PUT`` the file ``source`` to a presigned URL.

    Each try reads the file and sends it on a thread of its own with the
    blocking client ``http``, as a download does; ``progress`` is called on
    the event loop.
    """
    tell = _teller(progress)
    size = (await asyncio.to_thread(source.stat)).st_size
    attempts = 0
    url: str | None = None
    last_error = ""
    no_answer: NoAnswer = "no_response"
    refused: _Try | None = None  # the last try, when the URL refused it
    while attempts < MAX_ATTEMPTS:
        if url is None:
            got = await get_url()
            if not got.success:
                return Moved(size=0, attempts=attempts, error=got.error_message, url_failure=got)
            url = got.url
        attempts += 1
        step = await _on_own_thread(functools.partial(_put_once, http, url, source, size, tell))
        refused = None
        if step.changed:
            return Moved(
                size=0,
                attempts=attempts,
                error=f"the file changed while it was sent: it no longer has the {size} "
                "bytes it had when the upload began",
                local=True,
            )
        if step.error:
            last_error, no_answer = step.error, step.no_answer
            logger.debug("upload try %d: %s", attempts, last_error)
            await asyncio.sleep(_RETRY_PAUSE)
            continue
        if step.status == 403:
            last_error = f"the URL was refused (HTTP 403: {step.reason})"
            refused = step
            url = None  # expired or refused: ask for a fresh one
            continue
        if not 200 <= step.status < 300:
            return _refused(
                step, attempts, f"the upload was refused (HTTP {step.status}: {step.reason})"
            )
        return Moved(size=size, attempts=attempts)
    return _gave_up(attempts, last_error, refused, no_answer)


def _refused(step: _Try, attempts: int, error: str) -> Moved:
    """A transfer ended by the URL's refusal ``step``."""
    return Moved(
        size=0, attempts=attempts, error=error, http_status=step.status, error_code=step.code
    )


def _gave_up(attempts: int, last_error: str, refused: _Try | None, no_answer: NoAnswer) -> Moved:
    """A transfer out of tries; ``refused``: the last try, when the URL refused it;
    ``no_answer``: else, how the last try got none."""
    error = f"gave up after {attempts} tries: {last_error}"
    if refused is not None:
        return _refused(refused, attempts, error)
    return Moved(size=0, attempts=attempts, error=error, no_answer=no_answer)


def _put_once(
    http: httpx.Client,
    url: str,
    source: Path,
    size: int,
    tell: Callable[[int, int | None], None],
    stop: threading.Event,
) -> _Try:
    """One ``PUT`` of the file to the URL, read a chunk at a time as it is sent."""
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        if not size:
            tell(0, 0)  # no chunk will say it: an empty file is done at once
        with source.open("rb") as stream:
            while True:
                chunk = stream.read(min(CHUNK, size - sent))
                if stop.is_set():
                    raise _Stopped
                if sent + len(chunk) == size and stream.read(1):
                    raise _Changed  # longer now: cut short, so that no part of it is stored
                if not chunk:
                    break
                sent += len(chunk)
                tell(sent, size)
                yield chunk
        if sent < size:
            raise _Changed  # shorter now

    try:
        response = http.put(url, content=body(), headers={"Content-Length": str(size)})
    except httpx.TransportError as exc:
        return _Try(error=_connection_failed(exc), no_answer=_no_answer(exc))
    except _Changed:
        return _Try(changed=True, written=sent)
    if 200 <= response.status_code < 300:
        return _Try(status=response.status_code, written=sent)
    reason, code = _refusal(response)
    return _Try(status=response.status_code, written=sent, reason=reason, code=code)


def _teller(progress: Progress | None) -> Callable[[int, int | None], None]:
    """``tell(done, total)`` for a try's thread: calls ``progress`` on the running loop."""
    report = Reporter(progress)
    loop = asyncio.get_running_loop()

    def tell(done: int, total: int | None) -> None:
        if progress is not None:  # else no need to wake the loop
            loop.call_soon_threadsafe(report, done, done if total is None else total)

    return tell


async def download(
    http: httpx.Client, get_url: GetUrl, target: Path, progress: Progress | None
) -> Moved:
    """``GET`` a presigned URL into ``target``, replacing it only once the file is complete.

    Each try streams the body to disk on a thread of its own with the blocking
    client ``http`` (an asyncio client spends twice the CPU per byte reading,
    and the writes would hold up the event loop); ``progress`` is called on
    the event loop.
    """
    tell = _teller(progress)
    # The start of the name only: the whole name may already be as long as the disk allows.
    scratch = target.with_name(f".{target.name[:50]}.part-{secrets.token_hex(4)}")
    attempts = 0
    url: str | None = None
    last_error = ""
    no_answer: NoAnswer = "no_response"
    refused: _Try | None = None  # the last try, when the URL refused it
    written = 0
    total: int | None = None
    try:
        scratch.touch()
        with contextlib.suppress(FileNotFoundError):  # a file it replaces keeps its mode
            os.chmod(scratch, stat.S_IMODE(os.stat(target).st_mode))
        while True:
            if attempts >= MAX_ATTEMPTS:
                return _gave_up(attempts, last_error, refused, no_answer)
            if url is None:
                got = await get_url()
                if not got.success:
                    return Moved(
                        size=0, attempts=attempts, error=got.error_message, url_failure=got
                    )
                url = got.url
            attempts += 1
            step = await _on_own_thread(
                functools.partial(_get_once, http, url, scratch, written, total, tell)
            )
            refused = None
            if step.error:
                last_error, no_answer = step.error, step.no_answer
                written, total = step.written, step.total  # the next try resumes there
                logger.debug("download try %d: %s", attempts, last_error)
                await asyncio.sleep(_RETRY_PAUSE)
                continue
            if step.status == 403:
                last_error = f"the URL was refused (HTTP 403: {step.reason})"
                refused = step
                url = None  # expired or refused: ask for a fresh one
                continue
            if step.status == 416 and total is not None and written == total:
                break
            if step.status not in (200, 206):
                return _refused(
                    step,
                    attempts,
                    f"the download was refused (HTTP {step.status}: {step.reason})",
                )
            written, total = step.written, step.total
            if total is not None and written < total:
                last_error = f"the connection ended after {written} of {total} bytes"
                no_answer = "no_response"
                continue
            break
        if total is not None and written != total:
            return Moved(
                size=0,
                attempts=attempts,
                error=f"the download has {written} bytes where {total} were announced",
            )
        os.replace(scratch, target)
        return Moved(size=written, attempts=attempts)
    finally:
        scratch.unlink(missing_ok=True)


@attrs.frozen(kw_only=True)
class _Try:
    """How one ``GET`` went: its status, the bytes now in the scratch file, and the total."""

    status: int = 0
    written: int = 0
    total: int | None = None
    reason: str = ""
    """What a refusal said."""
    code: str = ""
    """The ``code`` of a refusal's body."""
    changed: bool = False
    """The file being sent changed size (then the try is not made again)."""
    error: str = ""
    """Why the connection failed (then the try is made again)."""
    no_answer: NoAnswer = "no_response"
    """How it failed, when it did."""


class _Stopped(Exception):
    """The task waiting for a try was cancelled: the try stops at its next chunk."""


class _Changed(Exception):
    """The file being uploaded is no longer of the size it had when the upload began."""


def _get_once(
    http: httpx.Client,
    url: str,
    scratch: Path,
    written: int,
    total: int | None,
    tell: Callable[[int, int | None], None],
    stop: threading.Event,
) -> _Try:
    """One ``GET`` of the URL (from byte ``written`` on), its body appended to ``scratch``."""
    headers = {"Range": f"bytes={written}-"} if written else {}
    try:
        with http.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 200:
                written = 0
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
            elif status == 206:
                total = _range_total(response) or total
            else:
                response.read()
                reason, code = _refusal(response)
                return _Try(status=status, written=written, total=total, reason=reason, code=code)
            told = written
            if _size_of(scratch) != written:
                os.truncate(scratch, written)
            # Appended, never truncated when nothing needs cutting: ext4 writes a
            # file truncated to zero back to disk as soon as it is closed
            # (auto_da_alloc), which took a third off the download rate.
            with scratch.open("ab") as out:
                try:
                    for piece in response.iter_raw():
                        if stop.is_set():
                            raise _Stopped
                        out.write(piece)
                        written += len(piece)
                        if written - told >= CHUNK:
                            told = written
                            tell(written, total)
                finally:
                    if written != told or not written:  # an empty body is done too
                        tell(written, total)
    except httpx.TransportError as exc:
        return _Try(
            written=_size_of(scratch),
            total=total,
            error=_connection_failed(exc),
            no_answer=_no_answer(exc),
        )
    return _Try(status=status, written=written, total=total)


def _connection_failed(exc: httpx.TransportError) -> str:
    return f"the connection failed ({type(exc).__name__}: {exc})"


def _no_answer(exc: httpx.TransportError) -> NoAnswer:
    """How a try got no answer: ran out of time, never connected, or was cut off."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return "not_sent"
    return "no_response"


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


T = TypeVar("T")


async def _on_own_thread(work: Callable[[threading.Event], T]) -> T:
    """``work(stop)`` on a new thread, awaited; ``stop`` is set if the caller is cancelled.

    A cancelled caller waits for the thread to stop (at its next chunk, or when
    its read times out) before the cancellation goes on, so nothing is left
    writing behind it.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    stop = threading.Event()

    def settle(outcome: Callable[[], T]) -> None:
        if done.done():
            return
        try:
            done.set_result(outcome())
        except BaseException as exc:  # handed to the awaiting task
            done.set_exception(exc)

    def run() -> None:
        leave_signals_to_main_thread()
        try:
            value = work(stop)
        except BaseException as exc:  # handed to the awaiting task
            failure = exc

            def outcome() -> T:
                raise failure
        else:

            def outcome() -> T:
                return value

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="agb-context-transfer", daemon=True).start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({done})
        if done.done() and not done.cancelled():
            done.exception()  # retrieved: the thread's _Stopped is no news
        raise


def _range_total(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if match is None or match.group(3) == "*":
        return None
    return int(match.group(3))


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """What a refusal said (the envelope's message, else the start of the body) and
    its ``code`` (``""`` when it has none)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase, ""
    if not isinstance(body, dict):
        return response.text[:200], ""
    code = body.get("code")
    code = code[:200] if isinstance(code, str) else ""
    message = body.get("message")
    return (message[:200] if isinstance(message, str) else response.text[:200]), code
