"""The servers the benchmarks talk to, each in a process of its own.

``python _server.py emulator --task-delay 0.2`` serves the emulator;
``python _server.py bare`` serves a Starlette app with one JSON route on
uvicorn, set up the way the emulator sets up its own server (the emulator's
``/emulator/health`` is not bare: its gateway checks the key and makes a
request id). Either prints
one JSON line (``endpoint``, ``api_key``, ``path``) once it accepts
connections, then answers one JSON command per line of standard input
(``create_session``, ``tasks``, ``request_count``, ``info_requests``, ``stop``)
until ``stop`` or the end of the input.

A process of its own keeps the server's CPU time and its GIL off the client
being measured: on two cores, client and server each get one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

BARE_PATH = "/bare"
BARE_BODY = {"success": True, "code": "", "message": "", "requestId": "bare"}


def _task_record(task: Any) -> dict[str, Any]:
    """The fields of an emulator `TaskRecord` the benchmarks read, as JSON."""
    fields = ("context_id", "path", "status", "task_type", "final_monotonic")
    return {name: getattr(task, name, None) for name in fields}


def _bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def bare(request: Request) -> JSONResponse:
        return JSONResponse(BARE_BODY)

    return Starlette(routes=[Route(BARE_PATH, bare, methods=["GET"])])


@contextmanager
def _serve_bare() -> Iterator[dict[str, Any]]:
    """The bare route served the way `Emulator` serves: same uvicorn settings and threading."""
    import uvicorn

    from agb_context.emulator._server import uvicorn_config

    config = uvicorn_config(_bare_app())
    server = uvicorn.Server(config)
    # IPPROTO_TCP as the emulator's getaddrinfo gives it: asyncio sets TCP_NODELAY
    # on accepted sockets only then (else each keep-alive answer waits ~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(server.serve(sockets=[sock]),),
        name="bare-server",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the bare server did not start")
        time.sleep(0.01)
    try:
        port = sock.getsockname()[1]
        yield {"endpoint": f"http://127.0.0.1:{port}", "api_key": "", "path": BARE_PATH}
    finally:
        loop.call_soon_threadsafe(setattr, server, "should_exit", True)
        thread.join(10)
        sock.close()


def _emulator(task_delay: float) -> AbstractContextManager[Any]:
    from agb_context.emulator import Emulator

    return Emulator(task_delay=task_delay)


def _commands(emu: Any) -> dict[str, Callable[[dict[str, Any]], Any]]:
    if emu is None:
        return {}
    return {
        "create_session": lambda cmd: emu.create_session(mounts=cmd["mounts"]),
        "tasks": lambda cmd: [_task_record(task) for task in emu.tasks(cmd["sid"])],
        "request_count": lambda cmd: len(emu.requests),
        "info_requests": lambda cmd: sum(
            1
            for request in emu.requests
            if request.path.endswith("/GetContextInfo")
            and request.query.get("sessionId") == cmd["sid"]
        ),
    }


def _answer(commands: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["op"] == "stop":
            print(json.dumps({"ok": True}), flush=True)
            return
        try:
            reply = {"ok": True, "value": commands[cmd["op"]](cmd)}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["emulator", "bare"])
    parser.add_argument("--task-delay", type=float, default=0.0)
    args = parser.parse_args()
    if args.kind == "bare":
        with _serve_bare() as info:
            print(json.dumps(info), flush=True)
            _answer({})
        return
    with _emulator(args.task_delay) as emu:
        info = {"endpoint": emu.endpoint, "api_key": emu.api_key, "path": None}
        print(json.dumps(info), flush=True)
        _answer(_commands(emu))


if __name__ == "__main__":
    main()
