"""The asyncio clients' own network backend (`AsyncioBackend`), against real sockets.

Small servers on 127.0.0.1 do what the emulator cannot be made to do: close
an idle connection, stall, answer with a body bigger than the read buffer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from support import wait_until_async

from agb_context._asyncio_network import use_asyncio_network

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
T = TypeVar("T")


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Runs a coroutine on a new loop of the standard kind, or of uvloop's."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if request.param == "uvloop":
        factory = pytest.importorskip("uvloop").new_event_loop

    def on_loop(coroutine: Coroutine[Any, Any, T]) -> T:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coroutine)

    return on_loop


def test_every_transport_the_sdk_makes_takes_the_backend() -> None:
    """Fails if a new httpx keeps its pool elsewhere (the clients would silently fall
    back to anyio's backend)."""
    assert use_asyncio_network(httpx.AsyncHTTPTransport())
    assert use_asyncio_network(httpx.AsyncHTTPTransport(proxy="http://127.0.0.1:9"))


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _answer(body: bytes, *, close: bool = False) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def _serve(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        # Not `wait_closed()`: from Python 3.12 it also waits for the handlers, and a
        # handler that stalls on purpose is cancelled when the test's loop ends.
        server.close()


def _client(**options: object) -> httpx.AsyncClient:
    # Idle connections are kept for a minute: only a close can end them during a test.
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(keepalive_expiry=60))
    assert use_asyncio_network(transport)
    return httpx.AsyncClient(transport=transport, **options)  # type: ignore[arg-type]


def test_a_body_bigger_than_the_read_buffer_arrives_whole(run: Callable[..., Any]) -> None:
    body = os.urandom(3 * 1024 * 1024)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_answer(body, close=True))
        await writer.drain()
        writer.close()

    async def main() -> bytes:
        async for url in _serve(handler):
            async with _client() as client:
                chunks = []
                async with client.stream("GET", url) as response:
                    async for chunk in response.aiter_raw():
                        chunks.append(chunk)
                        await asyncio.sleep(0)  # a slow reader: the socket is paused, then resumed
                return b"".join(chunks)
        raise AssertionError("not served")

    assert run(main()) == body


def test_an_idle_connection_the_server_closed_is_not_used_again(run: Callable[..., Any]) -> None:
    connections: list[int] = []

    async def main() -> list[bytes]:
        release = asyncio.Event()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(len(connections))
            await _read_request(reader)
            writer.write(_answer(b"first"))  # keep-alive...
            await writer.drain()
            await release.wait()  # ...until the connection is idle in the client's pool
            writer.close()

        async for url in _serve(handler):
            async with _client() as client:
                first = (await client.get(url)).content
                [idle] = client._transport._pool.connections  # type: ignore[attr-defined]
                assert not idle.has_expired()
                release.set()
                await wait_until_async(idle.has_expired, within=5.0, what="the close to arrive")
                release.clear()
                task = asyncio.ensure_future(client.get(url))
                await wait_until_async(lambda: len(connections) == 2, what="a new connection")
                release.set()
                second = (await task).content
                return [first, second]
        raise AssertionError("not served")

    assert run(main()) == [b"first", b"first"]
    assert len(connections) == 2


@pytest.mark.parametrize("stall", ["headers", "connect_refused"])
def test_failures_are_the_httpx_exceptions_the_sdk_reports(
    stall: str, run: Callable[..., Any]
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)  # never answers in time
        writer.close()

    async def main() -> type[BaseException]:
        async for url in _serve(handler):
            if stall == "connect_refused":
                url = "http://127.0.0.1:9/"
            async with _client(timeout=httpx.Timeout(5, read=0.2)) as client:
                try:
                    await client.get(url)
                except httpx.HTTPError as exc:
                    return type(exc)
                raise AssertionError("no failure")
        raise AssertionError("not served")

    expected = {"headers": httpx.ReadTimeout, "connect_refused": httpx.ConnectError}[stall]
    assert run(main()) is expected
