"""A context's files through `ContextService`: URLs, listing, deleting and whole transfers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gzip
import itertools
import json
import logging
import os
import signal
import socket
import stat
import threading
import uuid
from collections.abc import Callable
from pathlib import Path, PureWindowsPath
from typing import Any

import pytest
from support import CannedServer, drain_background, wait_until

from agb_context import (
    ContextFileListError,
    ContextManager,
    ContextService,
    FileUrlResult,
    NotFoundError,
)
from agb_context._service_files import local_target
from agb_context.emulator import Emulator


@pytest.fixture
def cid(service: ContextService) -> str:
    return service.create(f"files-{uuid.uuid4().hex}").context_id


def test_upload_then_download_with_progress(service: ContextService, cid: str, tmp_path: Path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(1_500_000))
    seen: list[tuple[int, int]] = []
    up = service.upload_file(
        cid, source, "/data/source.bin", progress=lambda d, t: seen.append((d, t))
    )
    assert up.success, up.error_message
    assert (up.size, up.attempts, up.file_path) == (1_500_000, 1, "/data/source.bin")
    assert seen[-1] == (1_500_000, 1_500_000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) > 2, "progress is reported chunk by chunk"
    seen.clear()
    target = tmp_path / "copy.bin"
    down = service.download_file(
        cid, "data/source.bin", target, progress=lambda d, t: seen.append((d, t))
    )
    assert down.success, down.error_message
    assert target.read_bytes() == source.read_bytes()
    assert seen[-1] == (1_500_000, 1_500_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.bin", "source.bin"]


def test_httpx_logs_a_transfer_without_its_url_signature(
    service: ContextService, cid: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A presigned URL lets anyone who holds it read or write the file: httpx's own
    request lines (INFO) name the request, not the URL's query."""
    source = tmp_path / "source.txt"
    source.write_text("secret plans")
    caplog.set_level(logging.INFO, logger="httpx")
    assert service.upload_file(cid, source, "/data/plans.txt").success
    assert service.download_file(cid, "/data/plans.txt", tmp_path / "copy.txt").success
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    transfers = [line for line in lines if "/presigned/file" in line]
    assert len(transfers) == 2, lines
    assert all("signature=" not in line and "expires=" not in line for line in transfers), lines
    assert ["PUT" in transfers[0], "GET" in transfers[1]] == [True, True], transfers


def test_the_async_twins(
    service: ContextService, cid: str, tmp_path: Path, agb_clean_emulator: Emulator
):
    source = tmp_path / "a.txt"
    source.write_text("async")

    async def story() -> list[str]:
        async with ContextService(
            api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as svc:
            assert (await svc.upload_file_async(cid, source, "/a.txt")).success
            url = await svc.get_file_download_url_async(cid, "/a.txt")
            assert url.success
            assert url.expire_time
            assert (await svc.get_file_upload_url_async(cid, "/b.txt")).success
            result = await svc.download_file_async(cid, "/a.txt", tmp_path / "b.txt")
            assert result.success, result.error_message
            assert (await svc.list_files_async(cid)).count == 1
            names = [e.file_name async for e in svc.iter_files_async(cid)]
            assert (await svc.delete_file_async(cid, "/a.txt")).success
            return names

    assert asyncio.run(story()) == ["a.txt"]
    assert (tmp_path / "b.txt").read_text() == "async"


def test_listing_reaches_every_page(service: ContextService, cid: str, tmp_path: Path):
    source = tmp_path / "f"
    source.write_text("x")
    for n in range(7):
        assert service.upload_file(cid, source, f"/many/f{n}").success
    first = service.list_files(cid, "/many", page_number=1, page_size=3)
    assert (first.count, [e.file_name for e in first.entries]) == (7, ["f0", "f1", "f2"])
    third = service.list_files(cid, "/many/", page_number=3, page_size=3)
    assert [e.file_name for e in third.entries] == ["f6"]
    assert [e.file_name for e in service.iter_files(cid, "/many", page_size=2)] == [
        f"f{n}" for n in range(7)
    ]
    [folder] = service.list_files(cid).entries
    assert folder.is_folder
    with pytest.raises(ContextFileListError, match="404"):
        list(service.iter_files(cid, "/missing"))


def test_a_server_that_gives_the_same_page_again_ends_the_listing_as_a_failure():
    """Page after page the same full page, and no count: iterating would never end."""
    entries = [
        {"fileName": name, "filePath": f"/{name}", "fileType": "file", "size": 1}
        for name in ("a.txt", "b.txt")
    ]
    with (
        CannedServer() as canned,
        ContextService(api_key="k-canned", endpoint=canned.endpoint) as service,
    ):
        canned.answer(200, json.dumps({"success": True, "data": entries}).encode(), "POST")
        with pytest.raises(ContextFileListError) as raised:
            list(itertools.islice(service.iter_files("SdkCtx-x", page_size=2), 100))

        async def iterate() -> list[str]:
            return [e.file_path async for e in service.iter_files_async("SdkCtx-x", page_size=2)]

        with pytest.raises(ContextFileListError) as raised_async:
            asyncio.run(asyncio.wait_for(iterate(), 30))
    for error in (raised.value, raised_async.value):
        assert error.result.error_kind == "unreadable_response"
        assert "same entries" in str(error)


def test_a_failed_download_leaves_no_partial_file_and_keeps_the_old(
    service: ContextService, cid: str, tmp_path: Path
):
    target = tmp_path / "kept.txt"
    target.write_text("older")
    result = service.download_file(cid, "/not-there.txt", target)
    assert not result.success
    assert "404" in result.error_message
    assert target.read_text() == "older"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_a_download_to_a_name_as_long_as_the_disk_allows(
    service: ContextService, cid: str, tmp_path: Path
):
    source = tmp_path / "s.txt"
    source.write_text("long name")
    assert service.upload_file(cid, source, "/s.txt").success
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    target = tmp_path / ("é" * ((longest - 4) // 2) + ".txt")  # two bytes a character
    assert len(target.name.encode()) > longest - 2
    down = service.download_file(cid, "/s.txt", target)
    assert down.success, down.error_message
    assert target.read_text() == "long name"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["s.txt", target.name])


def test_a_download_over_a_file_keeps_its_permissions(
    service: ContextService, cid: str, tmp_path: Path
):
    """A file made private stays private when a download replaces its content."""
    source = tmp_path / "s.txt"
    source.write_text("new secret")
    assert service.upload_file(cid, source, "/s.txt").success
    target = tmp_path / "private.txt"
    target.write_text("old secret")
    target.chmod(0o600)
    assert service.download_file(cid, "/s.txt", target).success
    assert target.read_text() == "new secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_an_expired_url_is_replaced_by_a_fresh_one(
    service: ContextService,
    cid: str,
    tmp_path: Path,
    agb_clean_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
):
    source = tmp_path / "s.txt"
    source.write_text("fresh")
    asked: list[str] = []

    def first_expired(name: str) -> Callable[..., Any]:
        original = getattr(service, name)

        async def ask(*args: str) -> FileUrlResult:
            agb_clean_emulator.url_lifetime = 0.001 if not asked else 3600
            asked.append(name)
            try:
                return await original(*args)  # type: ignore[no-any-return]
            finally:
                agb_clean_emulator.url_lifetime = 3600

        return ask

    for name in ("get_file_upload_url_async", "get_file_download_url_async"):
        monkeypatch.setattr(service, name, first_expired(name))
    up = service.upload_file(cid, source, "/s.txt")
    assert up.success, up.error_message
    assert up.attempts == 2
    asked.clear()
    down = service.download_file(cid, "/s.txt", tmp_path / "t.txt")
    assert down.success, down.error_message
    assert down.attempts == 2
    assert (tmp_path / "t.txt").read_text() == "fresh"


def test_a_refusal_at_the_url_is_reported_with_its_status(
    service: ContextService, cid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The storage answers 404: the file (or the context) went away after its URL was
    given. That is an answer, with a status: not a network failure worth trying again."""
    source = tmp_path / "s.txt"
    source.write_text("soon gone")
    assert service.upload_file(cid, source, "/s.txt").success
    get_download_url = service.get_file_download_url_async
    get_upload_url = service.get_file_upload_url_async

    async def url_then_delete_the_file(*args: str) -> FileUrlResult:
        got = await get_download_url(*args)
        assert (await service.delete_file_async(cid, "/s.txt")).success
        return got

    async def url_then_delete_the_context(*args: str) -> FileUrlResult:
        got = await get_upload_url(*args)
        assert (await service.delete_async(cid)).success
        return got

    monkeypatch.setattr(service, "get_file_download_url_async", url_then_delete_the_file)
    monkeypatch.setattr(service, "get_file_upload_url_async", url_then_delete_the_context)
    target = tmp_path / "t.txt"
    down = service.download_file(cid, "/s.txt", target)
    up = service.upload_file(cid, source, "/s.txt")
    for result, code in ((down, "FileNotFound"), (up, "ContextNotFound")):
        assert not result.success
        assert (result.error_kind, result.http_status, result.error_code) == (
            "http_status",
            404,
            code,
        )
        assert not result.retryable
        with pytest.raises(NotFoundError):
            result.raise_for_status()
    assert down.attempts == up.attempts == 1
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt"]


@pytest.mark.parametrize(
    "url", ["::not a url::", "http://[::1/x", "ftp://127.0.0.1/x", "/relative", "http:///x"]
)
def test_a_url_that_is_not_an_http_url_is_an_unreadable_answer(url: str, tmp_path: Path):
    """Whatever URL the server gives, the calls and the transfers return a result."""
    source = tmp_path / "s.txt"
    source.write_text("x")
    body = {"success": True, "data": {"url": url, "expireTime": 1}}
    with (
        CannedServer() as canned,
        ContextService(api_key="k-canned", endpoint=canned.endpoint) as service,
    ):
        canned.answer(200, json.dumps(body).encode(), "POST")
        results = [
            service.get_file_upload_url("SdkCtx-x", "/s.txt"),
            service.get_file_download_url("SdkCtx-x", "/s.txt"),
            service.upload_file("SdkCtx-x", source, "/s.txt"),
            service.download_file("SdkCtx-x", "/s.txt", tmp_path / "t.txt"),
        ]
    for result in results:
        assert not result.success
        assert result.error_kind == "unreadable_response", result.error_message
        assert "URL" in result.error_message
        assert result.request_id == "canned-request-id"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt"]


@pytest.mark.parametrize("change", ["grows", "shrinks"])
def test_a_file_that_changes_during_its_upload_fails_saying_so(
    service: ContextService,
    cid: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    agb_clean_emulator: Emulator,
    change: str,
):
    source = tmp_path / "app.log"
    source.write_bytes(b"line\n" * 100_000)
    get_url = service.get_file_upload_url_async

    async def url_then_change(*args: str) -> FileUrlResult:  # after the size was taken
        got = await get_url(*args)
        if change == "grows":
            with source.open("ab") as log:
                log.write(b"one more line\n")
        else:
            os.truncate(source, 1000)
        return got

    monkeypatch.setattr(service, "get_file_upload_url_async", url_then_change)
    result = service.upload_file(cid, source, "/app.log")
    assert not result.success
    assert "changed while it was sent" in result.error_message
    # the local file's doing, as an unreadable one is: no answer went missing
    assert (result.error_kind, result.http_status) == ("invalid_argument", None)
    assert str(source) in result.error_message
    assert result.attempts == 1
    assert not agb_clean_emulator.context_path(cid).joinpath("app.log").exists()


def _read_head(conn: socket.socket, pending: bytes) -> tuple[str, dict[str, str], bytes] | None:
    """The next request's line and headers (names in lower case), and the bytes read
    after them; None if the client closed first."""
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    line, *fields = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (f.split(":", 1) for f in fields)}
    return line, headers, rest


def _files_at(service: ContextService, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``service`` move every file through ``url`` (a test server's), as if the API
    had handed it out."""

    async def handed_out(*_: str) -> FileUrlResult:
        return FileUrlResult(success=True, url=url, expire_time=None)

    monkeypatch.setattr(service, "get_file_download_url_async", handed_out)
    monkeypatch.setattr(service, "get_file_upload_url_async", handed_out)


class _OneAtATimeServer:
    """A real HTTP server on 127.0.0.1 answering one connection at a time (`_answer`)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/object"

    def close(self) -> None:
        # closing alone does not wake a thread blocked in accept() on Linux; shutting
        # the listening socket down does
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)
        assert not self._thread.is_alive(), "the server thread did not end"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        raise NotImplementedError


class _FlakyServer(_OneAtATimeServer):
    """A real HTTP server on 127.0.0.1 that breaks the first transfer off half-way.

    The emulator's presigned URLs cannot be made to drop a connection in the
    middle of a body, so this small server stands in for the storage service.
    """

    def __init__(self, content: bytes, *, honour_range: bool = True) -> None:
        self.content = content
        self.honour_range = honour_range
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.received = b""
        super().__init__()

    def _answer(self, conn: socket.socket) -> None:
        request = _read_head(conn, b"")
        if request is None:
            return
        line, headers, rest = request
        self.requests.append(line)
        self.headers.append(headers)
        first = len(self.requests) == 1
        if line.startswith("PUT"):
            length = int(headers.get("content-length", "0"))
            if first:
                return  # cut off before answering
            body = rest
            while len(body) < length:
                body += conn.recv(65536)
            self.received = body
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        size = len(self.content)
        start = int(headers["range"].split("=")[1].rstrip("-")) if "range" in headers else 0
        if first:
            half = size // 2
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode()
                + self.content[:half]
            )
            return
        if not self.honour_range:
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode()
                + self.content
            )
            return
        part = self.content[start:]
        conn.sendall(
            f"HTTP/1.1 206 Partial Content\r\nContent-Length: {len(part)}\r\n"
            f"Content-Range: bytes {start}-{size - 1}/{size}\r\nConnection: close\r\n\r\n".encode()
            + part
        )


def test_a_dropped_connection_is_tried_again_and_a_download_resumes(
    service: ContextService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    content = os.urandom(400_000)
    server = _FlakyServer(content)

    _files_at(service, server.url(), monkeypatch)
    try:
        target = tmp_path / "resumed.bin"
        down = service.download_file("SdkCtx-x", "/object", target)
        assert down.success, down.error_message
        assert down.attempts == 2
        assert target.read_bytes() == content
        assert server.requests[1].startswith("GET")
        assert server.headers[1]["range"] == f"bytes={len(content) // 2}-"  # not from 0
        source = tmp_path / "up.bin"
        source.write_bytes(content[:1000])
        server.requests.clear()
        up = service.upload_file("SdkCtx-x", source, "/object")
        assert up.success, up.error_message
        assert up.attempts == 2
        assert server.received == content[:1000]
    finally:
        server.close()


def test_a_resumed_download_starts_over_when_the_server_ignores_range(
    service: ContextService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    content = os.urandom(400_000)
    server = _FlakyServer(content, honour_range=False)

    _files_at(service, server.url(), monkeypatch)
    try:
        target = tmp_path / "whole.bin"
        down = service.download_file("SdkCtx-x", "/object", target)
        assert down.success, down.error_message
        assert (down.attempts, down.size) == (2, len(content))
        assert target.read_bytes() == content  # the first try's half is not kept before it
        assert "range" in server.headers[1]
    finally:
        server.close()


class _CompressingServer(_OneAtATimeServer):
    """A real HTTP server on 127.0.0.1 that gzips a body when the request accepts gzip,
    as a storage front with compression on does (the emulator never compresses)."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.accepted: list[str] = []
        super().__init__()

    def _answer(self, conn: socket.socket) -> None:
        request = _read_head(conn, b"")
        if request is None:
            return
        accepted = request[1].get("accept-encoding", "")
        self.accepted.append(accepted)
        body, encoding = self.content, b""
        if "gzip" in accepted:
            body, encoding = gzip.compress(self.content), b"Content-Encoding: gzip\r\n"
        conn.sendall(
            b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (encoding, len(body), body)
        )


def test_a_download_is_the_file_itself_even_where_the_server_would_compress_it(
    service: ContextService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    content = b"a line that compresses well\n" * 20_000
    server = _CompressingServer(content)

    _files_at(service, server.url(), monkeypatch)
    target = tmp_path / "text.txt"
    try:
        down = service.download_file("SdkCtx-x", "/text.txt", target)
    finally:
        server.close()
    assert down.success, down.error_message
    assert target.read_bytes() == content
    assert down.size == len(content)
    assert server.accepted == ["identity"]


class _StallingServer:
    """A real HTTP server on 127.0.0.1 that sends half of a body, then waits for ``go``.

    It holds a download in the middle of its body, which the emulator never does.
    """

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.go = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/object"

    def close(self) -> None:
        self.go.set()
        self._sock.close()
        self._thread.join(5)

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        with conn:
            while b"\r\n\r\n" not in conn.recv(65536):
                pass
            size, half = len(self.content), len(self.content) // 2
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode()
                + self.content[:half]
            )
            self.go.wait(60)
            with contextlib.suppress(OSError):  # the client may have gone: that is the point
                conn.sendall(self.content[half:])


class _KeepAliveServer:
    """A real HTTP server on 127.0.0.1 that keeps connections open and counts them.

    The emulator's server does not say how many connections its clients opened.
    """

    def __init__(self) -> None:
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/object"

    def close(self) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self._sock.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            serve = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            serve.start()
            self._threads.append(serve)

    def _serve(self, conn: socket.socket) -> None:
        pending = b""
        with conn:
            while (request := _read_head(conn, pending)) is not None:
                line, headers, pending = request
                length = int(headers.get("content-length", "0"))
                while len(pending) < length:
                    pending += conn.recv(65536)
                pending = pending[length:]
                body = b"" if line.startswith("PUT") else b"content"
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )


def test_transfers_use_their_connections_again(
    service: ContextService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    server = _KeepAliveServer()

    _files_at(service, server.url(), monkeypatch)
    source = tmp_path / "s.txt"
    source.write_text("up")
    try:
        for n in range(3):
            assert service.upload_file("SdkCtx-x", source, "/o").success
            got = service.download_file("SdkCtx-x", "/o", tmp_path / f"{n}.txt")
            assert got.success, got.error_message
        assert (tmp_path / "2.txt").read_text() == "content"
        assert server.connections == 1, "each transfer opened a connection of its own"
    finally:
        service.close()
        server.close()


def test_a_cancelled_download_stops_its_thread_and_leaves_nothing(
    service: ContextService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    server = _StallingServer(os.urandom(4 * 2**20))

    _files_at(service, server.url(), monkeypatch)
    target = tmp_path / "never.bin"

    async def cancel_half_way() -> None:
        task: asyncio.Task[Any] | None = None

        def progress(done: int, total: int) -> None:
            assert task is not None
            task.cancel()
            server.go.set()  # the rest of the body comes; the transfer must stop anyway

        task = asyncio.create_task(service.download_file_async("SdkCtx-x", "/o", target, progress))
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(cancel_half_way())
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == [], "no partial file, no target"
    wait_until(
        lambda: not [t for t in threading.enumerate() if t.name == "agb-context-transfer"],
        what="the transfer thread ended",
    )


def test_a_blocking_download_stopped_by_ctrl_c_stops_and_leaves_nothing(
    service: ContextService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C reaches the main thread only")
    server = _StallingServer(os.urandom(4 * 2**20))

    _files_at(service, server.url(), monkeypatch)
    target = tmp_path / "never.bin"
    pressed = threading.Event()

    def progress(done: int, total: int) -> None:  # half the body is in: press Ctrl-C once
        if not pressed.is_set():
            pressed.set()
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    try:
        with pytest.raises(KeyboardInterrupt):
            service.download_file("SdkCtx-x", "/o", target, progress)
        server.go.set()  # the rest of the body comes: the download must have stopped anyway
        wait_until(
            lambda: not [t for t in threading.enumerate() if t.name == "agb-context-transfer"],
            what="the transfer thread ended",
        )
        drain_background()
        wait_until(lambda: not list(tmp_path.iterdir()), what="no partial file, no target")
    finally:
        server.close()


@pytest.mark.parametrize("style", ["blocking", "awaited"])
def test_closing_the_service_cancels_its_transfers_and_leaves_nothing(
    make_service: Callable[..., ContextService],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    style: str,
):
    """As a closing cancels the syncs being watched: no error of a client closed under
    a transfer, no partial file, no thread left."""
    service = make_service()
    server = _StallingServer(os.urandom(4 * 2**20))

    _files_at(service, server.url(), monkeypatch)
    target = tmp_path / "never.bin"
    half_way = threading.Event()
    outcome: list[BaseException | object] = []

    def download() -> None:
        def progress(done: int, total: int) -> None:
            half_way.set()

        try:
            if style == "blocking":
                outcome.append(service.download_file("SdkCtx-x", "/o", target, progress))
            else:
                outcome.append(
                    asyncio.run(service.download_file_async("SdkCtx-x", "/o", target, progress))
                )
        except BaseException as exc:  # what the caller sees is the point
            outcome.append(exc)

    caller = threading.Thread(target=download)
    caller.start()
    try:
        assert half_way.wait(30), "the download never started"
        service.close()
        server.go.set()  # the rest of the body comes: the download must have stopped anyway
        caller.join(30)
    finally:
        server.close()
    assert not caller.is_alive()
    (seen,) = outcome
    assert isinstance(seen, asyncio.CancelledError | concurrent.futures.CancelledError), seen
    wait_until(
        lambda: not [t for t in threading.enumerate() if t.name == "agb-context-transfer"],
        what="the transfer thread ended",
    )
    drain_background()
    wait_until(lambda: not list(tmp_path.iterdir()), what="no partial file, no target")


@pytest.mark.parametrize(
    "path", ["../x", "/a/../../x", "/a/./b", "a\\b", "/a\x00", "/a\nb", "/" + "x" * 1100, "/", ""]
)
def test_hostile_paths_are_refused_before_any_request(
    service: ContextService, agb_clean_emulator: Emulator, tmp_path: Path, path: str
):
    agb_clean_emulator.clear_requests()
    results = [
        service.get_file_upload_url("SdkCtx-1", path),
        service.get_file_download_url("SdkCtx-1", path),
        service.delete_file("SdkCtx-1", path),
        service.upload_file("SdkCtx-1", tmp_path, path),
        service.download_file("SdkCtx-1", path, tmp_path / "x"),
    ]
    for result in results:
        assert not result.success
        assert result.error_kind == "invalid_argument"
        assert "file_path" in result.error_message or "local_path" in result.error_message
    assert agb_clean_emulator.requests == []


def test_bad_transfer_arguments_are_results(service: ContextService, cid: str, tmp_path: Path):
    missing = service.upload_file(cid, tmp_path / "nope", "/x")
    assert "is not a file" in missing.error_message
    no_folder = service.download_file(cid, "/x", tmp_path / "no" / "such" / "x")
    assert "folder does not exist" in no_folder.error_message
    (tmp_path / "f").write_text("x")
    bad = service.upload_file(cid, tmp_path / "f", "/x", progress=42)  # type: ignore[arg-type]
    assert "progress must be callable" in bad.error_message
    page = service.list_files(cid, page_number=0)
    assert "page_number" in page.error_message
    size = service.list_files(cid, page_size=501)
    assert "page_size" in size.error_message


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_local_dir_is_refused_not_read_as_the_working_directory(
    service: ContextService,
    cid: str,
    agb_clean_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    blank: str,
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "private.txt").write_text("not to be uploaded")
    agb_clean_emulator.clear_requests()
    for result in (service.upload_dir(cid, blank), service.download_dir(cid, "/", blank)):
        assert not result.success
        assert result.error_kind == "invalid_argument"
        assert "local_dir" in result.error_message
    assert agb_clean_emulator.requests == []


def test_a_progress_callback_that_raises_does_not_stop_the_transfer(
    service: ContextService, cid: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    source = tmp_path / "s.bin"
    source.write_bytes(os.urandom(600_000))
    calls: list[int] = []

    def broken(done: int, total: int) -> None:
        calls.append(done)
        raise ValueError("broken callback")

    result = service.upload_file(cid, source, "/s.bin", progress=broken)
    assert result.success, result.error_message
    assert len(calls) == 1
    assert "broken callback" in caplog.text or "progress callback" in caplog.text


def _tree_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_folder_tree_goes_up_and_comes_back(service: ContextService, cid: str, tmp_path: Path):
    source = tmp_path / "tree"
    files = {f"d{n % 3}/sub{n % 2}/f{n}.bin": os.urandom(5000 + n) for n in range(12)}
    for name, content in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    (source / "link").symlink_to(source / "d0", target_is_directory=True)
    seen: list[tuple[int, int]] = []
    up = service.upload_dir(
        cid, source, "/backup", concurrency=3, progress=lambda d, t: seen.append((d, t))
    )
    assert up.success, up.error_message
    assert len(up.files) == 12, "symbolic links are not followed"
    assert up.size == sum(map(len, files.values()))
    assert seen[-1] == (up.size, up.size)
    back = tmp_path / "back"
    down = service.download_dir(cid, "/backup", back, concurrency=3)
    assert down.success, down.error_message
    assert _tree_of(back) == files


def test_a_folder_transfer_reports_each_failure(service: ContextService, cid: str, tmp_path: Path):
    missing = service.download_dir(cid, "/nothing-here", tmp_path / "x")
    assert not missing.success
    assert "404" in missing.error_message
    assert (missing.http_status, missing.error_code) == (404, "FolderNotFound")
    no_context = service.download_dir("SdkCtx-none", "/", tmp_path / "x")
    assert (no_context.error_kind, no_context.error_code) == ("http_status", "ContextNotFound")
    assert no_context.request_id
    assert not service.upload_dir(cid, tmp_path / "no-such-dir").success
    assert "concurrency" in service.upload_dir(cid, tmp_path, concurrency=0).error_message


def test_an_unreadable_local_file_fails_that_file_only(
    service: ContextService,
    cid: str,
    tmp_path: Path,
    agb_clean_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
):
    source = tmp_path / "tree"
    source.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (source / name).write_text(name)
    # Tests run as root, who reads any file: the refusal another user gets is simulated.
    opened = Path.open

    def refusing(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "b.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing)
    up = service.upload_dir(cid, source, "/up", concurrency=1)
    assert not up.success
    assert [(Path(f.local_path).name, f.success) for f in up.files] == [
        ("a.txt", True),
        ("b.txt", False),
        ("c.txt", True),
    ]
    refused = up.files[1]
    assert (refused.error_kind, refused.retryable) == ("invalid_argument", False)
    assert "could not be read: Permission denied" in refused.error_message
    stored = agb_clean_emulator.context_path(cid) / "up"
    assert sorted(p.name for p in stored.iterdir()) == ["a.txt", "c.txt"]
    one = service.upload_file(cid, source / "b.txt", "/up/b.txt")
    assert (one.success, one.error_kind) == (False, "invalid_argument")


def test_a_local_file_in_the_way_of_a_folder_fails_that_file_only(
    service: ContextService, cid: str, tmp_path: Path
):
    source = tmp_path / "s.txt"
    source.write_text("x")
    for path in ("/d/x.txt", "/e.txt", "/z/y.txt"):
        assert service.upload_file(cid, source, path).success
    out = tmp_path / "out"
    out.mkdir()
    (out / "d").write_text("in the way")
    result = service.download_dir(cid, "/", out)
    assert not result.success
    assert [(r.file_path, r.success) for r in result.files] == [
        ("/d/x.txt", False),
        ("/e.txt", True),
        ("/z/y.txt", True),
    ]
    assert result.files[0].error_kind == "invalid_argument"
    assert str(out / "d") in result.files[0].error_message
    assert _tree_of(out) == {"d": b"in the way", "e.txt": b"x", "z/y.txt": b"x"}


def test_a_listed_file_that_cannot_be_written_locally_is_a_failure_not_left_out(
    service: ContextService, cid: str, agb_clean_emulator: Emulator, tmp_path: Path
):
    """Files another client stored under names this one refuses to write: each is
    reported failed, so that the result never passes part of the tree off as all of it."""
    stored = agb_clean_emulator.context_path(cid)
    stored.mkdir(parents=True, exist_ok=True)
    (stored / "ok.txt").write_text("ok")
    (stored / "a\\b.txt").write_text("a name with a backslash")
    (stored / "dir\tab").mkdir()
    (stored / "dir\tab" / "inner.txt").write_text("under a folder with a tab in its name")
    out = tmp_path / "out"
    result = service.download_dir(cid, "/", out)
    assert not result.success
    assert "2 of 3 files failed" in result.error_message
    assert [(r.file_path, r.success) for r in result.files] == [
        ("/a\\b.txt", False),
        ("/dir\tab", False),
        ("/ok.txt", True),
    ]
    assert all(r.error_kind == "invalid_argument" for r in result.files[:2])
    assert _tree_of(out) == {"ok.txt": b"ok"}


def test_blocking_calls_inside_a_sync_callback_finish(
    service: ContextService, cid: str, agb_clean_emulator: Emulator, tmp_path: Path
):
    """A sync's callback runs on the SDK's own loop thread: blocking calls made there
    must not wait for that loop (they would wait forever)."""
    sid = agb_clean_emulator.create_session(mounts={cid: "/home/data"})
    source = tmp_path / "up"
    source.mkdir()
    (source / "a.txt").write_text("made in a callback")
    seen: dict[str, Any] = {}
    calls: list[bool] = []
    done = threading.Event()

    def on_done(success: bool) -> None:
        calls.append(success)
        try:
            seen["thread"] = threading.current_thread().name
            seen["info"] = cm.info().success
            seen["up"] = service.upload_file(cid, source / "a.txt", "/cb/a.txt").success
            back = service.download_file(cid, "/cb/a.txt", tmp_path / "back.txt")
            seen["down"] = back.success
            seen["listed"] = [e.file_path for e in service.iter_files(cid, "/cb")]
            seen["up_dir"] = service.upload_dir(cid, source, "/tree").success
            seen["down_dir"] = service.download_dir(cid, "/tree", tmp_path / "tree").success
            # one level deeper: a blocking call in the progress callback of that upload
            seen["nested"] = service.upload_file(
                cid, source / "a.txt", "/cb/b.txt", progress=nested
            ).success
        finally:
            done.set()

    def nested(done: int, total: int) -> None:
        if "nested_down" not in seen:
            seen["nested_down"] = service.download_file(
                cid, "/cb/a.txt", tmp_path / "nested.txt"
            ).success

    with ContextManager(
        sid, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    ) as cm:
        cm.sync(cid, "/home/data", callback=on_done)
        assert done.wait(60), "a blocking call inside the callback never returned"
    assert calls == [True]
    assert seen == {
        "thread": "agb-context-loop",
        "info": True,
        "up": True,
        "down": True,
        "listed": ["/cb/a.txt"],
        "up_dir": True,
        "down_dir": True,
        "nested": True,
        "nested_down": True,
    }
    assert (tmp_path / "back.txt").read_text() == "made in a callback"
    assert (tmp_path / "tree" / "a.txt").read_text() == "made in a callback"


@pytest.mark.parametrize(
    ("relative", "inside"),
    [("a/b.txt", True), ("D:/x.txt", False), ("a/D:x", False), ("D:", False)],
)
def test_a_stored_path_never_leads_out_of_the_local_folder_on_windows(
    relative: str, inside: bool
) -> None:
    # On Windows a segment such as "D:" names a drive; this machine's paths cannot show it.
    root = PureWindowsPath("C:/downloads")
    target = local_target(root, relative)
    assert (target is not None) == inside
    if target is not None:
        assert root in target.parents
