"""The command line and fresh interpreters in a subprocess: run them, read what they
printed, check the errors.

The CLI always runs as a subprocess (``python -m agb_context.cli``), so what is
tested is what a user gets: exit codes, stdout, stderr.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import attrs

CLI_CONTEXT_ID = "ctx-cli"
CLI_MOUNT = "/home/cli"
"""The one mount of the command-line tests' ``session_id`` fixture."""


@attrs.frozen
class Run:
    """The outcome of one CLI run."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The single line an expected failure prints on stderr (asserted to be one line)."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{self.err}"
        assert lines[0].startswith("agb-context"), lines[0]
        return lines[0]


RunCli = Callable[..., Run]


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: no ``AGB_*`` from outside, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGB_")}
    env.update(COLUMNS="200", LINES="50", PYTHONIOENCODING="utf-8")
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Run:
    """Run ``agb-context ARGS`` in a subprocess and collect what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "agb_context.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=base_env() if env is None else env,
        timeout=timeout,
        check=False,
    )
    return Run(tuple(args), done.returncode, done.stdout, done.stderr)


PYTHON_NAMES = re.compile(
    r"\b(api_key|allow_insecure_http|session_id|context_id|task_type|retry_interval|"
    r"max_retries|request_timeout|local_path)\b|=True|=\.\.\."
)
"""The SDK's Python spellings, which no CLI message may use."""


def assert_cli_words(line: str) -> None:
    """``line`` speaks in flags and environment variables, not in the SDK's Python names."""
    assert not PYTHON_NAMES.search(line), line


ROOT = Path(__file__).resolve().parents[2]
"""The repository's root folder."""


def run_python(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in a fresh interpreter, from the repository's root; its output."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def interrupt_when(
    process: subprocess.Popen[str], ready: Callable[[], object], what: str
) -> tuple[str, str]:
    """Wait until ``ready()`` is true, press Ctrl-C in ``process`` (SIGINT), and give
    what it printed (stdout, stderr); it is killed if it does not end in 60 s."""
    from support.waiting import wait_until

    try:
        wait_until(ready, timeout=60, what=what)
        process.send_signal(signal.SIGINT)
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


class SilentEndpoint:
    """An HTTP endpoint on 127.0.0.1 that reads requests and never answers them, so a
    command stays waiting in its first request until the test is done with it.

    `received` counts the request heads that arrived. Closing it closes every
    connection (the client sees them drop) and ends its threads.
    """

    def __init__(self) -> None:
        self._requests = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        endpoint = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with endpoint._lock:
                    endpoint._connections.add(self.request)
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    received += chunk
                with endpoint._lock:
                    endpoint._requests += 1
                endpoint._closing.wait(120)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            block_on_close = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="silent-endpoint", daemon=True
        )

    def received(self) -> int:
        """How many request heads arrived so far."""
        with self._lock:
            return self._requests

    def __enter__(self) -> SilentEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(30)


def start_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``agb-context ARGS`` started in a subprocess, its stdout and stderr piped (for
    `interrupt_when`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "agb_context.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
