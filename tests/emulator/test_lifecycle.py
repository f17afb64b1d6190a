"""In-process use: start and stop are clean, and the facade never needs the emulator."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support import API_KEY, Api, client_for, wait_final, wait_until
from support.watch import EMULATOR_THREADS

from agb_context.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]


def emulator_fds(emulator: Emulator, port: int) -> list[str] | None:
    """The file descriptors of this process that are the emulator's: files in its data
    folder, and TCP sockets on its port (None where /proc does not tell).

    Only those: another test's leftover thread may open or close files and
    connections of its own meanwhile.
    """
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return None
    inodes = _socket_inodes_on_port(port)
    data = str(emulator.data_dir)
    found = []
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor, say)
        socket_inode = re.fullmatch(r"socket:\[(\d+)\]", target)
        if target.startswith(data) or (socket_inode and socket_inode[1] in inodes):
            found.append(target)
    return sorted(found)


def _socket_inodes_on_port(port: int) -> set[str]:
    """The inodes of the TCP sockets (v4 and v6) whose local port is ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def refused(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def emulator_threads(before: set[threading.Thread]) -> list[str]:
    """The emulator's threads started since ``before``.

    Only those: a thread another test left working (a sync still on the SDK's
    background loop, say) may start or end a thread of its own meanwhile.
    """
    return sorted(
        t.name
        for t in threading.enumerate()
        if t not in before and t.name.startswith(EMULATOR_THREADS)
    )


def test_start_and_stop_leave_nothing_behind(tmp_path: Path):
    before = set(threading.enumerate())
    emulator = Emulator(data_dir=tmp_path)
    emulator.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.endpoint)
    port = int(emulator.endpoint.rsplit(":", 1)[1])
    assert port > 0
    with client_for(emulator, emulator.api_key) as client:
        api = Api(client)
        sid = emulator.create_session(mounts={"ctx-a": "/home/data"})
        (emulator.session_path(sid, "/home/data") / "f").write_text("x")
        api.sync(sid)
        wait_final(emulator, sid)
        assert api.admin("GET", "health").json()["status"] == "ok"
        held = emulator_fds(emulator, port)
        # the listening socket, the data folder's lock, the connection: seen when there
        assert held is None or len(held) >= 3, held
    assert "agb-context-emulator" in emulator_threads(before)
    loop = emulator._loop
    assert loop is not None
    assert not loop.is_closed()
    emulator.stop()
    emulator.stop()
    assert emulator_threads(before) == []
    assert loop.is_closed()
    if held is not None:
        wait_until(lambda: emulator_fds(emulator, port) == [], 30, "no descriptor left open")
    assert refused(port)


def test_a_new_emulator_can_take_the_same_port_at_once(tmp_path: Path):
    with Emulator(data_dir=tmp_path, api_key=API_KEY) as first, client_for(first) as client:
        port = int(first.endpoint.rsplit(":", 1)[1])
        sid = first.create_session(mounts={})
        for _ in range(3):
            assert Api(client).info(sid).status_code == 200
    with Emulator(data_dir=tmp_path, api_key=API_KEY, port=port) as second:
        assert second.endpoint == f"http://127.0.0.1:{port}"
        with client_for(second) as client:
            assert Api(client).info(sid).status_code == 200


def test_the_same_object_can_start_again_after_stop(tmp_path: Path):
    emulator = Emulator(data_dir=tmp_path, api_key=API_KEY)
    with emulator:
        sid = emulator.create_session(mounts={"a": "/a"})
    assert not emulator.running
    with emulator, client_for(emulator) as client:
        assert Api(client).info(sid).status_code == 200


def test_start_twice_is_an_error_and_use_before_start_is_explained():
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = emulator.endpoint
    with pytest.raises(RuntimeError, match="start"):
        emulator.create_session(mounts={})
    with pytest.raises(RuntimeError, match="start"):
        emulator.context_path("a")
    emulator.stop()
    with emulator, pytest.raises(RuntimeError, match="already running"):
        emulator.start()


def test_a_temporary_data_dir_is_removed_on_stop():
    with Emulator() as emulator:
        data = emulator.data_dir
        sid = emulator.create_session(mounts={"a": "/a"})
        (emulator.session_path(sid, "/a") / "f").write_text("x")
        assert data.is_dir()
    assert not data.exists()


def test_a_random_key_is_made_when_none_is_given():
    first, second = Emulator(), Emulator()
    assert len(first.api_key) >= 32
    assert first.api_key != second.api_key
    assert first.api_key not in repr(first)
    assert Emulator(api_key="given").api_key == "given"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "bad\nkey"}, "api_key"),
        ({"api_key": " padded "}, "api_key"),
        ({"api_key": "clé"}, "api_key"),
        ({"task_delay": -1}, "task_delay"),
        ({"task_delay": float("nan")}, "task_delay"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"data_dir": ""}, "data_dir"),
        ({"data_dir": "  "}, "data_dir"),
        ({"data_dir": 5}, "data_dir"),
        ({"host": None}, "host"),
        ({"host": ""}, "host"),
        ({"host": " 127.0.0.1"}, "host"),
        ({"host": b"127.0.0.1"}, "host"),
    ],
)
def test_bad_arguments_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Emulator(**kwargs)


def test_stop_is_prompt_while_tasks_hang_and_a_request_waits(tmp_path: Path):
    before = set(threading.enumerate())
    emulator = Emulator(data_dir=tmp_path, api_key=API_KEY)
    emulator.start()
    sid = emulator.create_session(mounts={"a": "/a", "b": "/b"})
    emulator.faults.hang_tasks(count=None)
    with client_for(emulator) as client:
        Api(client).sync(sid)
        wait_until(
            lambda: all(t.status == "Running" for t in emulator.tasks(sid)), what="hung tasks"
        )
    emulator.faults.set_latency("GetContextInfo", 30, count=None)
    sent = threading.Event()
    outcome: list[object] = []

    def slow_request() -> None:
        hooks = {"request": [lambda request: sent.set()]}
        auth = {"authorization": API_KEY}
        with httpx.Client(base_url=emulator.endpoint, headers=auth, event_hooks=hooks) as client:
            try:
                outcome.append(Api(client).info(sid).status_code)
            except httpx.HTTPError as exc:
                outcome.append(exc)

    waiting = threading.Thread(target=slow_request)
    waiting.start()
    assert sent.wait(10)
    wait_until(lambda: not emulator.wait_idle(0), what="the request to be held by the emulator")
    started = time.monotonic()
    emulator.stop()
    # far below the 30 s the request is held for: stopping does not wait for it
    assert time.monotonic() - started < 20
    waiting.join(10)
    assert outcome, "the waiting request did not end"
    assert outcome[0] == 503
    assert not waiting.is_alive()
    assert emulator_threads(before) == []


def test_the_facade_never_imports_the_emulator():
    code = (
        "import sys, agb_context\n"
        "assert 'agb_context.emulator' not in sys.modules\n"
        "assert 'starlette' not in sys.modules and 'uvicorn' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    for module in (ROOT / "agb_context").glob("_*.py"):
        assert "emulator" not in module.read_text(), f"{module.name} mentions the emulator"


@pytest.mark.parametrize("missing", ["starlette", "uvicorn"])
def test_without_the_extra_the_import_error_says_what_to_install(missing: str):
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "import agb_context.emulator  # the package loads: its pytest plugin is in it\n"
        "try:\n"
        "    from agb_context.emulator import Emulator\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "pip install 'agb-context[emulator]'" in run.stdout
    assert missing in run.stdout


def test_the_api_key_in_the_environment_is_not_needed():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGB_")}
    code = "from agb_context.emulator import Emulator\nwith Emulator() as e: print(e.endpoint)"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout.startswith("http://127.0.0.1:")


def test_reset_gives_presigned_urls_their_default_lifetime_again():
    with Emulator(api_key=API_KEY) as emulator:
        default = emulator.url_lifetime
        emulator.url_lifetime = 0.5
        httpx.post(
            f"{emulator.endpoint}/emulator/reset", headers={"authorization": API_KEY}
        ).raise_for_status()
        assert emulator.url_lifetime == default
        emulator.url_lifetime = 0.5
        emulator.reset()
        assert emulator.url_lifetime == default


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf"), True, "60"])
def test_a_url_lifetime_that_is_not_a_positive_number_of_seconds_is_refused(seconds: object):
    emulator = Emulator()
    with pytest.raises(ValueError, match="url_lifetime"):
        emulator.url_lifetime = seconds  # type: ignore[assignment]
    assert emulator.url_lifetime == 3600


@pytest.mark.parametrize("timeout", [-1, float("nan"), None, "1"])
def test_a_wait_idle_timeout_that_is_not_seconds_is_refused(timeout: object):
    with pytest.raises(ValueError, match="timeout"):
        Emulator().wait_idle(timeout)  # type: ignore[arg-type]
