"""Standalone use: ``python -m agb_context.emulator`` serves until interrupted."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import tree, wait_until

from agb_context.emulator import _cli

ENDPOINT = re.compile(r"http://127\.0\.0\.1:\d+")


def start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGB_")}
    return subprocess.Popen(
        [sys.executable, "-m", "agb_context.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def announced(server: subprocess.Popen[str]) -> tuple[str, list[str]]:
    assert server.stdout is not None
    lines = [server.stdout.readline()]
    while not lines[-1].startswith("Press Ctrl-C"):
        assert lines[-1], (
            f"the emulator exited early: {server.stderr.read() if server.stderr else ''}"
        )
        lines.append(server.stdout.readline())
    found = ENDPOINT.search(lines[0])
    assert found, lines
    return found.group(), lines


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_interrupted_and_syncs_real_files(tmp_path: Path, stop_signal: int):
    key = "standalone-key-0123"
    data = tmp_path / "data"
    server = start(
        "--data-dir", str(data), "--port", "0", "--api-key", key, "--task-delay", "0.05"
    )
    try:
        endpoint, lines = announced(server)
        assert not any(key in line for line in lines)
        auth = {"authorization": key}
        with httpx.Client(base_url=endpoint, headers=auth, timeout=10) as client:
            created = client.post("/emulator/sessions", json={"mounts": {"cli-ctx": "/home/data"}})
            assert created.status_code == 200, created.text
            sid = created.json()["sessionId"]
            mount = Path(created.json()["mounts"][0]["localPath"])
            assert data in mount.parents
            (mount / "nested").mkdir()
            (mount / "nested" / "ü.txt").write_text("standalone")
            synced = client.post("/sdk/SyncContext", params={"sessionId": sid}, json={})
            assert synced.status_code == 200

            def finished() -> bool:
                tasks = client.get(f"/emulator/sessions/{sid}").json()["tasks"]
                return bool(tasks) and tasks[0]["status"] == "Success"

            wait_until(finished, what="the upload over HTTP")
            stored = client.get("/emulator/contexts/cli-ctx").json()
            assert stored["exists"] is True
            assert tree(Path(stored["localPath"])) == {
                "nested": None,
                "nested/ü.txt": b"standalone",
            }
    finally:
        server.send_signal(stop_signal)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err
    assert key not in out + err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{endpoint}/emulator/health", timeout=2)
    assert (data / "contexts" / "cli-ctx" / "nested" / "ü.txt").read_text() == "standalone"


def test_prints_a_generated_key_and_removes_its_temporary_folder():
    server = start()
    try:
        endpoint, lines = announced(server)
        key = next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("api key"))
        data = Path(
            next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("data"))
        )
        assert data.is_dir()
        health = httpx.get(
            f"{endpoint}/emulator/health", headers={"authorization": key}, timeout=10
        )
        assert health.json()["status"] == "ok"
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert not data.exists()


def test_a_taken_port_is_a_clear_error():
    with socket_on_free_port() as port:
        run = subprocess.run(
            [sys.executable, "-m", "agb_context.emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "70000"],
        ["--port", "x"],
        ["--task-delay", "-1"],
        ["--nope"],
        ["--host", ""],
        ["--host", " 127.0.0.1"],
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        _cli.main(args)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_the_options_can_be_mounted_in_another_parser():
    parser = argparse.ArgumentParser(prog="agb-context emulator")
    _cli.add_arguments(parser)
    args = parser.parse_args(
        ["--data-dir", "d", "--port", "8080", "--api-key", "k", "--task-delay", "0.5"]
    )
    assert (args.data_dir, args.port, args.api_key, args.task_delay, args.host) == (
        "d",
        8080,
        "k",
        0.5,
        "127.0.0.1",
    )
    assert callable(_cli.run)


class socket_on_free_port:
    """A port some other listener holds for the duration of a ``with``."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_a_stdout_closed_early_neither_stops_the_server_nor_ends_it_with_a_traceback(
    tmp_path: Path,
):
    """A script reads the first line (``| head -1``) and lets the server run: later lines
    have nowhere to go, and the server serves on and stops as usual."""
    server = start("--api-key", "closed-stdout-key", "--data-dir", str(tmp_path / "data"))
    try:
        assert server.stdout is not None
        found = ENDPOINT.search(server.stdout.readline())
        assert found, "no endpoint announced"
        server.stdout.close()
        health = httpx.get(f"{found.group()}/emulator/health", timeout=10)
        assert health.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        assert server.stderr is not None
        err = server.stderr.read()
        server.wait(30)
    assert server.returncode == 0, err
    assert "Traceback" not in err
    assert "BrokenPipe" not in err


README = Path(__file__).resolve().parents[2] / "README.md"
SERVER_EXAMPLE = "http://127.0.0.1:8765/emulator/sessions"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README example uses curl")
def test_the_readme_server_example_runs_as_written(tmp_path: Path):
    """Pasted into a shell, the example serves, creates a session and stops the server.

    Only the port (a free one, not 8765, which another program may hold) and the
    command's path (this interpreter's) are changed."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text("utf-8"), re.M | re.S)
    [example] = [block for block in blocks if SERVER_EXAMPLE in block]
    with socket_on_free_port() as port:
        pass  # free again for the example's server
    script = example.replace("8765", str(port)).replace(
        "agb-context ", f"{shlex.quote(sys.executable)} -m agb_context.cli "
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGB_")}
    shell = subprocess.Popen(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own: the server it starts ends with it
    )
    try:
        out, err = shell.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        # bash is not reaped yet, so its process group is still the example's own
        os.killpg(shell.pid, signal.SIGKILL)
        out, err = shell.communicate()
        raise AssertionError(f"the example did not end within 60 s: {out}{err}") from None
    assert shell.returncode == 0, out + err
    assert '"sessionId":"session-' in out, out
    assert "stopped" in out, out
    assert (tmp_path / "emulator-data" / "sessions").is_dir()
