"""Network pieces for the tests, all on 127.0.0.1: a TLS front for the emulator, a proxy,
a listener that never accepts, a port that refuses, and a server of canned answers.

The TLS front and the proxy run on one asyncio loop in a thread of their own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import attrs


class ServerLoop:
    """An asyncio loop in a daemon thread, for small servers the tests start and stop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        """Cancel what still runs (relays of kept-alive connections), then stop."""

        async def cancel_the_rest() -> None:
            rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()


async def _relay(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    try:
        await asyncio.gather(_pump(client[0], upstream[1]), _pump(upstream[0], client[1]))
    finally:
        # Not awaited: a TLS transport may wait for the peer's close_notify forever.
        for writer in (client[1], upstream[1]):
            writer.close()


class _Server:
    """A server on 127.0.0.1 whose connection handlers are held (so none is collected
    while it waits) and cancelled by `close`."""

    def __init__(self, runner: ServerLoop) -> None:
        self._runner = runner
        self._handlers: set[asyncio.Task[None]] = set()
        self.port: int = runner.run(self._start())

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._held, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _held(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)  # type: ignore[arg-type]
        try:
            await self._handle(reader, writer)
        finally:
            self._handlers.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            handlers = list(self._handlers)
            for handler in handlers:
                handler.cancel()
            if handlers:
                await asyncio.wait(handlers, timeout=10)

        self._runner.run(stop())


class TlsFront(_Server):
    """Serves TLS on 127.0.0.1 with ``context`` and relays the plain bytes to ``target``."""

    def __init__(
        self, runner: ServerLoop, context: ssl.SSLContext, target: tuple[str, int]
    ) -> None:
        self._context = context
        self._target = target
        self.connections = 0
        """TCP connections accepted (each one a TLS handshake attempted)."""
        self.failed_handshakes = 0
        super().__init__(runner)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await writer.start_tls(self._context, ssl_handshake_timeout=10)
        except (ssl.SSLError, ConnectionError, TimeoutError):
            self.failed_handshakes += 1
            writer.close()
            return
        upstream = await asyncio.open_connection(*self._target)
        await _relay((reader, writer), upstream)


@attrs.define
class ProxiedRequest:
    """The head of one request the proxy received."""

    request_line: str
    headers: dict[str, str]


class Proxy(_Server):
    """A small HTTP proxy: ``CONNECT`` tunnels, and plain requests in absolute form.

    ``route(host, port)`` says where a tunnel or request really goes (so a
    made-up host name reaches a server on 127.0.0.1). With ``credentials``
    ("user:password") a request without the matching ``Proxy-Authorization``
    gets 407. The first ``refuse_tunnels`` CONNECT requests get 503.
    """

    def __init__(
        self,
        runner: ServerLoop,
        route: Callable[[str, int], tuple[str, int]],
        credentials: str | None = None,
        refuse_tunnels: int = 0,
    ) -> None:
        self._route = route
        self.refuse_tunnels = refuse_tunnels
        self._expected = (
            None
            if credentials is None
            else "Basic " + base64.b64encode(credentials.encode()).decode()
        )
        self.requests: list[ProxiedRequest] = []
        super().__init__(runner)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        request_line = lines[0]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        self.requests.append(ProxiedRequest(request_line, headers))
        if self._expected is not None and headers.get("proxy-authorization") != self._expected:
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        method, target, version = request_line.split(" ", 2)
        if method == "CONNECT" and self.refuse_tunnels > 0:
            self.refuse_tunnels -= 1
            writer.write(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = await asyncio.open_connection(*self._route(host.strip("[]"), int(port)))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _relay((reader, writer), upstream)
            return
        # A plain request in absolute form: send it on in origin form, then relay.
        scheme_host, _, rest = target.partition("://")[2].partition("/")
        host, _, port = scheme_host.rpartition(":")
        upstream = await asyncio.open_connection(*self._route(host, int(port or 80)))
        kept = [
            line
            for line in lines[1:]
            if line and not line.lower().startswith(("proxy-authorization:", "proxy-connection:"))
        ]
        new_head = "\r\n".join([f"{method} /{rest} {version}", *kept]) + "\r\n\r\n"
        upstream[1].write(new_head.encode("latin-1"))
        await _relay((reader, writer), upstream)


@contextlib.contextmanager
def never_accepting_listener() -> Iterator[int]:
    """A port on 127.0.0.1 that takes no new connection: its backlog is full and
    nothing accepts, so a connection attempt waits until the client gives up."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        # Fill the accept queue; once it is full the kernel drops new SYNs.
        for _ in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


API_HOST = "api.example.test"
"""A name the proxies route to a TLS front; this machine never resolves it."""

NETWORK_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "AGB_TIMEOUT_MS",
    "AGB_CONNECT_TIMEOUT_MS",
    "AGB_MAX_RETRIES",
    "AGB_USER_AGENT_SUFFIX",
)
"""Variables that change how requests travel: the tests set them themselves."""


def tls_server_context(ca: Any) -> ssl.SSLContext:
    """A server context with a certificate of ``ca`` (a ``trustme.CA``) for localhost and
    `API_HOST`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", API_HOST).configure_cert(context)
    return context


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 signed by its own key: (cert, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "self-signed.pem", directory / "self-signed.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def refusing_endpoint() -> Iterator[str]:
    """An endpoint on 127.0.0.1 whose port refuses connections.

    The port is held by a bound socket that never listens, so nothing else
    can take it meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def free_port() -> int:
    """A port that was free a moment ago (for an emulator restarted on a fixed port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CannedServer:
    """A real HTTP server on 127.0.0.1 that answers with canned responses, one per method.

    For what the emulator cannot be made to send (any body at all); the SDK
    talks to it over real HTTP, as to the cloud.
    """

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests = 0
        self.answer(200, b"{}")
        canned = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                canned.requests += 1
                status, body = canned.answers[self.command]
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.send_header("x-request-id", "canned-request-id")
                self.send_header("connection", "close")  # no answer can spill into the next
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client closing its connection is not news here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="canned-http-server", daemon=True
        )

    def answer(self, status: int, body: bytes, method: str | None = None) -> None:
        """Answer requests of ``method`` (both GET and POST when None) with this."""
        for name in (method,) if method else ("GET", "POST"):
            self.answers[name] = (status, body)

    def __enter__(self) -> CannedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
