"""Moving one file's bytes through a presigned URL: streamed, with progress, retried.

The bytes go in chunks, so memory does not grow with the file. The URL
carries its own authority: the API key is never sent to it. A dropped
connection is tried again (a download resumes where it stopped, with
``Range``); a URL refused with 403 (expired) is replaced by a fresh one. A
download is written beside its target under a temporary name and renamed
over it only once complete and of the announced size, so a failed download
leaves no partial file and keeps any older one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import attrs
import httpx

from agb_context._config import Settings
from agb_context._results import FileUrlResult

logger = logging.getLogger("agb_context")

CHUNK = 256 * 1024
"""Bytes read or written at a time."""
MAX_ATTEMPTS = 4
"""Tries of one transfer (a dropped connection or an expired URL uses one)."""
_RETRY_PAUSE = 0.2
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

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


class _Reporter:
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


def transfer_client(settings: Settings) -> httpx.AsyncClient:
    """A client for presigned URLs: the settings' TLS trust, proxy and timeouts, no API key."""
    return httpx.AsyncClient(
        verify=settings.tls.context,
        proxy=settings.proxy,
        timeout=settings.timeout,
        trust_env=False,
        follow_redirects=False,
    )


async def upload(
    http: httpx.AsyncClient, get_url: GetUrl, source: Path, progress: Progress | None
) -> Moved:
    """``PUT`` the file ``source`` to a presigned URL."""
    report = _Reporter(progress)
    size = (await asyncio.to_thread(source.stat)).st_size
    attempts = 0
    url: str | None = None
    last_error = ""
    while attempts < MAX_ATTEMPTS:
        if url is None:
            got = await get_url()
            if not got.success:
                return Moved(size=0, attempts=attempts, error=got.error_message, url_failure=got)
            url = got.url
        attempts += 1
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            with source.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    sent += len(chunk)
                    report(min(sent, size), size)
                    yield chunk

        try:
            response = await http.put(url, content=body(), headers={"Content-Length": str(size)})
        except httpx.TransportError as exc:
            last_error = f"the connection failed ({type(exc).__name__}: {exc})"
            logger.debug("upload try %d: %s", attempts, last_error)
            await asyncio.sleep(_RETRY_PAUSE)
            continue
        if response.status_code == 403:
            last_error = f"the URL was refused (HTTP 403: {_reason(response)})"
            url = None  # expired or refused: ask for a fresh one
            continue
        if not 200 <= response.status_code < 300:
            return Moved(
                size=0,
                attempts=attempts,
                error=f"the upload was refused (HTTP {response.status_code}: {_reason(response)})",
            )
        if sent != size:
            return Moved(
                size=sent,
                attempts=attempts,
                error=f"the file changed while it was sent ({sent} bytes sent, {size} expected)",
            )
        return Moved(size=size, attempts=attempts)
    return Moved(size=0, attempts=attempts, error=f"gave up after {attempts} tries: {last_error}")


async def download(
    http: httpx.AsyncClient, get_url: GetUrl, target: Path, progress: Progress | None
) -> Moved:
    """``GET`` a presigned URL into ``target``, replacing it only once the file is complete."""
    report = _Reporter(progress)
    scratch = target.with_name(f".{target.name}.part-{secrets.token_hex(4)}")
    attempts = 0
    url: str | None = None
    last_error = ""
    written = 0
    total: int | None = None
    try:
        with scratch.open("wb") as out:
            while True:
                if attempts >= MAX_ATTEMPTS:
                    return Moved(
                        size=0,
                        attempts=attempts,
                        error=f"gave up after {attempts} tries: {last_error}",
                    )
                if url is None:
                    got = await get_url()
                    if not got.success:
                        return Moved(
                            size=0, attempts=attempts, error=got.error_message, url_failure=got
                        )
                    url = got.url
                attempts += 1
                headers = {"Range": f"bytes={written}-"} if written else {}
                try:
                    async with http.stream("GET", url, headers=headers) as response:
                        if response.status_code == 403:
                            await response.aread()
                            last_error = f"the URL was refused (HTTP 403: {_reason(response)})"
                            url = None
                            continue
                        if response.status_code == 416 and total is not None and written == total:
                            break
                        if response.status_code == 200:
                            out.seek(0)
                            out.truncate()
                            written = 0
                            length = response.headers.get("content-length")
                            total = int(length) if length and length.isdigit() else None
                        elif response.status_code == 206:
                            total = _range_total(response) or total
                        else:
                            await response.aread()
                            return Moved(
                                size=0,
                                attempts=attempts,
                                error=f"the download was refused (HTTP {response.status_code}: "
                                f"{_reason(response)})",
                            )
                        async for chunk in response.aiter_raw(CHUNK):
                            out.write(chunk)
                            written += len(chunk)
                            report(written, total if total is not None else written)
                except httpx.TransportError as exc:
                    last_error = f"the connection failed ({type(exc).__name__}: {exc})"
                    logger.debug("download try %d: %s", attempts, last_error)
                    await asyncio.sleep(_RETRY_PAUSE)
                    continue
                if total is not None and written < total:
                    last_error = f"the connection ended after {written} of {total} bytes"
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


def _range_total(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if match is None or match.group(3) == "*":
        return None
    return int(match.group(3))


def _reason(response: httpx.Response) -> str:
    """What a refusal said: the envelope's message, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return response.text[:200]
