"""Start and drive the server processes of `_server.py` from the benchmark process."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

SERVER_SCRIPT = Path(__file__).with_name("_server.py")
START_TIMEOUT = 60.0
REPLY_TIMEOUT = 30.0


class ServerError(RuntimeError):
    """A server process failed to start or to answer."""


class ServerProcess:
    """One `_server.py` process: its address, and its emulator's state on request."""

    def __init__(self, kind: str, *, task_delay: float = 0.0) -> None:
        self.kind = kind
        self._proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, str(SERVER_SCRIPT), kind, "--task-delay", repr(task_delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.endpoint = ""
        self.api_key = ""
        self.path: str | None = None

    def wait_ready(self) -> Self:
        """Block until the server accepts connections (start several, then wait for each)."""
        info = self._read(START_TIMEOUT)
        self.endpoint, self.api_key, self.path = info["endpoint"], info["api_key"], info["path"]
        return self

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerError(f"the {self.kind} server did not answer within {timeout:g}s")
            ready, _, _ = select.select([self._proc.stdout], [], [], left)
            if ready:
                line = self._proc.stdout.readline()
                if not line:
                    raise ServerError(f"the {self.kind} server exited ({self._proc.wait()})")
                reply: dict[str, Any] = json.loads(line)
                return reply

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        with open(f"/proc/{self._proc.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def call(self, op: str, **args: Any) -> Any:
        """Run one command in the server process and return its value."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._proc.stdin.flush()
        reply = self._read(REPLY_TIMEOUT)
        if not reply["ok"]:
            raise ServerError(f"{op} failed in the {self.kind} server: {reply['error']}")
        return reply.get("value")

    def create_session(self, mounts: dict[str, str]) -> str:
        """A new emulator session with these mounts (context id -> path); its id."""
        return str(self.call("create_session", mounts=mounts))

    def tasks(self, session_id: str) -> list[dict[str, Any]]:
        """The emulator's task records of a session."""
        return list(self.call("tasks", sid=session_id))

    def info_requests(self, session_id: str) -> int:
        """How many ``GetContextInfo`` requests for this session the emulator received."""
        return int(self.call("info_requests", sid=session_id))

    def close(self) -> None:
        """Stop the server and reap its process."""
        if self._proc.poll() is None:
            with contextlib.suppress(ServerError, OSError, ValueError):
                self.call("stop")
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
