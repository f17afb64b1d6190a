"""Lean HTTP/1.1 clients on asyncio streams, that cost far less CPU than the server they call.

`throughput` keeps N keep-alive connections busy with one prepared request
each and reads each answer by its ``Content-Length``: the rate it sees is the
server's. `minimal_syncs` runs syncs the way the SDK does (SyncContext, then
GetContextInfo polls) with next to no client cost: the floor that the
emulator allows for B2.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit


class LoadError(RuntimeError):
    """The server answered something other than a 200 with a ``Content-Length``."""


def get_request(url: str, headers: dict[str, str]) -> tuple[str, int, bytes]:
    """Host, port and the bytes of a keep-alive GET of ``url``."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise LoadError(f"no Content-Length in {head[:200]!r}")


async def _run(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    deadline: float,
    max_requests: int,
) -> tuple[int, float]:
    """Requests answered on one connection, and when the last answer came."""
    done, last = 0, time.perf_counter()
    while done < max_requests and last < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if head[9:12] != b"200":
            raise LoadError(f"HTTP status {head[9:12]!r}: {head[:200]!r}")
        await reader.readexactly(_content_length(head))
        done, last = done + 1, time.perf_counter()
    return done, last


async def throughput(
    url: str,
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    max_requests: int = 1_000_000,
) -> float:
    """Requests per second ``connections`` clients get from ``url`` in about ``duration`` s.

    The connections are opened first; the clock runs from the first request
    to the last answer. Each connection stops at the deadline or after
    ``max_requests // connections`` requests, whichever comes first.
    """
    host, port, request = get_request(url, headers)
    per_connection = max(1, max_requests // connections)
    opened = [await asyncio.open_connection(host, port) for _ in range(connections)]
    try:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(
                _run(reader, writer, request, start + duration, per_connection)
                for reader, writer in opened
            )
        )
    finally:
        for _, writer in opened:
            writer.close()
        await asyncio.gather(
            *(writer.wait_closed() for _, writer in opened), return_exceptions=True
        )
    return sum(count for count, _ in results) / (max(last for _, last in results) - start)


# -- a minimal sync client: the floor B2 is compared with -----------------------

_FINAL = ("Success", "Failed")
_SYNC_TYPES = ("upload", "download")


class _Connection:
    """One keep-alive connection sending requests of the context API, one at a time."""

    def __init__(self, host: str, port: int, api_key: str) -> None:
        self._address = (host, port)
        self._head = f"Host: {host}:{port}\r\nauthorization: Bearer {api_key}\r\n"
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def call(self, method: str, target: str, body: bytes = b"") -> dict[str, Any]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._address)
        reader, writer = self._streams
        writer.write(
            f"{method} {target} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        document: dict[str, Any] = json.loads(await reader.readexactly(_content_length(head)))
        if head[9:12] != b"200" or document.get("success") is not True:
            raise LoadError(f"{method} {target}: {head[:12]!r} {document}")
        return document

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            await self._streams[1].wait_closed()


def _all_final(context_status: str) -> bool:
    tasks = [
        task
        for item in (json.loads(context_status) if context_status else [])
        if item.get("type") == "data"
        for task in json.loads(item["data"] or "[]")
    ]
    return all(t.get("status") in _FINAL for t in tasks if t.get("taskType") in _SYNC_TYPES)


async def _minimal_sync(
    connection: _Connection,
    session_id: str,
    mount: int,
    interval: float,
    max_polls: int,
    read_first: bool,
) -> None:
    query = urlencode(
        {"sessionId": session_id, "contextId": f"ctx-{mount}", "path": f"/home/data{mount}"}
    )
    if read_first:
        await connection.call("GET", f"/sdk/GetContextInfo?{query}")
    await connection.call("POST", f"/sdk/SyncContext?{query}", b"{}")
    for poll in range(max_polls):
        if poll:
            await asyncio.sleep(interval)
        answer = await connection.call("GET", f"/sdk/GetContextInfo?{query}")
        if _all_final(answer["data"]["contextStatus"]):
            return
    raise LoadError(f"sync of mount {mount} of {session_id} not over after {max_polls} polls")


async def minimal_syncs(
    endpoint: str,
    api_key: str,
    plan: list[tuple[str, int]],
    *,
    interval: float = 1.5,
    max_polls: int = 150,
    read_first: bool = False,
) -> float:
    """Seconds a bare client takes to run the syncs of ``plan`` at once, as the SDK polls.

    One connection per sync, opened on its first request; the first poll is
    immediate, then one every ``interval`` seconds. ``read_first`` also reads
    the tasks listed before each sync starts, as the SDK does to judge which
    tasks are the sync's own: the same requests as the SDK's.
    """
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connections = [_Connection(host, port, api_key) for _ in plan]
    try:
        start = time.perf_counter()
        await asyncio.gather(
            *(
                _minimal_sync(connection, sid, mount, interval, max_polls, read_first)
                for connection, (sid, mount) in zip(connections, plan, strict=True)
            )
        )
        return time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
