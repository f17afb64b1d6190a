"""The network under the SDK's asyncio clients, built on the event loop's own transports.

httpcore reaches the network through a backend it lets a pool be given
(`httpcore.AsyncNetworkBackend`); by default that backend is anyio's. Each of
anyio's reads and writes opens a cancel scope with a timer, maps exceptions
through a generator-based context manager and yields to the loop once more:
measured under the SDK, about 40% of the CPU of a small request
(encode/httpx#3215 tells the same). This backend does the same work with a
protocol that buffers what arrives, a future per wait and a timer only when
there is a timeout, and raises the same httpcore exceptions, so httpx and
the SDK's error reporting see no difference. It serves asyncio only, which
is all the SDK's asyncio clients run on.
"""

# ruff: noqa: ASYNC109 - httpcore's interface passes each call's timeout as an argument

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any, cast

import httpcore
import httpx

_PAUSE_AT = 256 * 1024
"""Bytes waiting to be read at which the socket stops being read from..."""
_RESUME_AT = 64 * 1024
"""...and below which it is read from again."""


class _Connection(asyncio.Protocol):
    """Buffers what a connection receives and wakes the one reader or writer waiting."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False
        self.error: BaseException | None = None
        self.reading = True
        self.waiting: asyncio.Future[None] | None = None
        self.draining: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the methods without being `asyncio.Transport`s
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.reading and len(self.buffer) >= _PAUSE_AT and self.transport is not None:
            self.reading = False
            self.transport.pause_reading()
        self._wake("waiting")

    def eof_received(self) -> bool:
        self.ended = True
        self._wake("waiting")
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake("waiting")
        self._wake("draining")

    def pause_writing(self) -> None:
        if self.draining is None:
            self.draining = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake("draining")

    def _wake(self, which: str) -> None:
        future: asyncio.Future[None] | None = getattr(self, which)
        setattr(self, which, None)
        if future is not None and not future.done():
            future.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if not self.reading and len(self.buffer) < _RESUME_AT and self.transport is not None:
            self.reading = True
            self.transport.resume_reading()
        return data


async def _wait(future: asyncio.Future[None], limit: float | None) -> bool:
    """Wait for ``future``; False if ``limit`` seconds passed first."""
    if limit is None:
        await future
        return True
    loop = asyncio.get_running_loop()
    timer = loop.call_later(limit, _expire, future)
    try:
        await future
    except TimeoutError:
        return False
    finally:
        timer.cancel()
    return True


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (plain, or TLS once `start_tls` returned)."""

    def __init__(self, connection: _Connection, transport: asyncio.Transport) -> None:
        self._connection = connection
        self._transport = transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if not connection.buffer and not connection.ended:
            waiting = connection.waiting = asyncio.get_running_loop().create_future()
            if not await _wait(waiting, timeout):
                raise httpcore.ReadTimeout(f"no data within {timeout}s")
        if connection.buffer:
            return connection.take(max_bytes)
        if connection.error is not None:
            raise httpcore.ReadError(str(connection.error)) from connection.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        if connection.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        draining = connection.draining
        if draining is not None and not await _wait(draining, timeout):
            raise httpcore.WriteTimeout(f"could not send within {timeout}s")
        if connection.error is not None:
            raise httpcore.WriteError(str(connection.error)) from connection.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._connection,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout}s") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._connection.transport = transport
        return AsyncioStream(self._connection, self._connection.transport)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle connection that did: the server closed it
            return bool(self._connection.buffer) or self._connection.ended
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info in ("ssl_object", "socket"):
            return self._transport.get_extra_info(info)
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections made by the running asyncio loop (see the module's docs)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        opening = asyncio.get_running_loop().create_connection(
            _Connection,
            host,
            port,
            local_addr=None if local_address is None else (local_address, 0),
        )
        return await _connect(opening, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        opening = asyncio.get_running_loop().create_unix_connection(_Connection, path)
        return await _connect(opening, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _reason(error: OSError) -> str:
    """Why a connection failed, as the blocking client says it ("[Errno 111] Connection
    refused"), not asyncio's "Connect call failed (address)"."""
    if error.errno:
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return str(error)


async def _connect(
    opening: Awaitable[tuple[asyncio.BaseTransport, _Connection]],
    timeout: float | None,
    socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
) -> AsyncioStream:
    """The stream of a connection being opened, its failures as httpcore's."""
    try:
        async with asyncio.timeout(timeout):
            transport, connection = await opening
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"no connection within {timeout}s") from exc
    except OSError as exc:
        raise httpcore.ConnectError(_reason(exc)) from exc
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is not None:
        for option in socket_options or ():
            sock.setsockopt(*option)
    return AsyncioStream(connection, cast(asyncio.Transport, transport))


def use_asyncio_network(transport: httpx.AsyncHTTPTransport) -> bool:
    """Make ``transport``'s connection pool (direct, or through its proxy) use
    `AsyncioBackend`; False if this httpx keeps its pool where this cannot see it."""
    pool = getattr(transport, "_pool", None)
    if not isinstance(getattr(pool, "_network_backend", None), httpcore.AsyncNetworkBackend):
        return False
    pool._network_backend = AsyncioBackend()  # type: ignore[union-attr]
    return True
