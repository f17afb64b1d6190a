"""``agb-context emulator``: the emulator's own command line, mounted as a subcommand."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import CLI_CONTEXT_ID, CLI_MOUNT, base_env, run_cli

CLI = (sys.executable, "-m", "agb_context.cli")


def test_emulator_subcommand_serves_the_api_until_interrupted(tmp_path: Path) -> None:
    key = "local-test-key-for-the-emulator"
    data = str(tmp_path / "data")
    server = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--data-dir", data, "--api-key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base_env(),
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:[0-9]+", first)
        assert found, f"no endpoint announced: {first!r}"
        endpoint = found.group()
        created = httpx.post(
            f"{endpoint}/emulator/sessions",
            json={"mounts": {CLI_CONTEXT_ID: CLI_MOUNT}},
            headers={"authorization": key},
            timeout=10,
        )
        assert created.status_code == 200, created.text
        sid = created.json()["sessionId"]
        env = base_env(AGB_ENDPOINT=endpoint, AGB_API_KEY=key)
        run = run_cli("sync", "--session", sid, "--interval", "0.05", "--json", env=env)
        assert run.code == 0, run.err
        assert json.loads(run.out)["success"] is True
        run = run_cli("info", "--session", sid, env=env)
        assert run.code == 0, run.err
        assert "Success" in run.out
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "Traceback" not in err
    assert key not in first + out + err


# --- what the user got wrong, in one line each ------------------------------------------------


def test_a_data_dir_that_is_a_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data.txt"
    not_a_folder.write_text("x")
    run = run_cli("emulator", "--data-dir", str(not_a_folder))
    assert run.code == 2
    line = run.error_line()
    assert line.startswith("agb-context emulator: error: --data-dir:")
    assert f"{not_a_folder} is a file, not a folder" in line
    assert "listen" not in line


@pytest.mark.parametrize("data_dir", ["", " "])
def test_a_blank_data_dir_is_a_usage_error_not_the_current_folder(
    tmp_path: Path, data_dir: str
) -> None:
    # As `--data-dir "$UNSET_VARIABLE"` gives it: the current folder is not meant.
    done = subprocess.run(
        [*CLI, "emulator", "--port", "0", "--data-dir", data_dir],
        capture_output=True,
        text=True,
        env=base_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert "--data-dir" in done.stderr
    assert "blank" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", [" padded ", "tab\tkey", "ключ"])
def test_a_bad_api_key_is_a_usage_error(key: str) -> None:
    run = run_cli("emulator", "--api-key", key)
    assert run.code == 2
    line = run.error_line()
    assert "--api-key" in line
    assert "printable ASCII" in line
    assert "unexpected" not in line


@pytest.mark.parametrize(("value", "words"), [("", "is blank"), ("bad key ü", "printable")])
def test_a_bad_agb_api_key_is_a_usage_error_naming_it(value: str, words: str) -> None:
    run = run_cli("emulator", env=base_env(AGB_API_KEY=value))
    assert run.code == 2
    line = run.error_line()
    assert "AGB_API_KEY" in line
    assert words in line


def test_a_data_dir_in_use_names_the_emulator_holding_it(tmp_path: Path) -> None:
    from agb_context.emulator import Emulator

    with Emulator(data_dir=tmp_path / "data") as holder:
        run = run_cli("emulator", "--data-dir", str(tmp_path / "data"))
    assert run.code == 1
    line = run.error_line()
    assert "in use by another emulator" in line
    assert holder.endpoint in line


def test_the_key_comes_from_agb_api_key_and_requests_are_logged(tmp_path: Path) -> None:
    key = "key-from-the-environment"
    server = subprocess.Popen(
        [*CLI, "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base_env(AGB_API_KEY=key),
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:[0-9]+", first)
        assert found, first
        endpoint = found.group()
        health = httpx.get(f"{endpoint}/emulator/health", timeout=10)
        assert health.status_code == 200
        refused = httpx.get(f"{endpoint}/sdk/GetContextInfo", params={"sessionId": "s-1"})
        assert refused.status_code == 401
        unknown = httpx.get(
            f"{endpoint}/sdk/GetContextInfo",
            params={"sessionId": "session-0"},
            headers={"authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert unknown.status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "api key" not in first + out
    assert key not in first + out + err
    lines = [line for line in err.splitlines() if " -> " in line]
    assert len(lines) == 3, err
    assert lines[0].endswith(f"GET /emulator/health -> 200 ({health.headers['x-request-id']})")
    assert "GET /sdk/GetContextInfo session=s-1 -> 401 InvalidApiKey: no API key" in lines[1]
    assert "session=session-0 -> 404 SessionNotFound: no session" in lines[2]


def test_quiet_logs_no_request(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base_env(),
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:[0-9]+", first)
        assert found, first
        assert httpx.get(f"{found.group()}/emulator/health", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert err == ""


def test_help_lists_every_admin_route_and_fault() -> None:
    from agb_context.emulator import FAULTS
    from agb_context.emulator._admin import ADMIN_ROUTES

    run = run_cli("emulator", "--help")
    assert run.code == 0
    for method, path, _ in ADMIN_ROUTES:
        assert f"{method} {path}" in run.out
    for name in FAULTS:
        assert f"  {name}  " in run.out
    assert "AGB_API_KEY" in run.out
    assert "--quiet" in run.out
