"""``agb-context sync``: progress, outcome, exit codes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from support import CLI_CONTEXT_ID, CLI_MOUNT, RunCli

from agb_context.emulator import Emulator


def test_upload_succeeds_and_the_files_reach_the_context(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    run = cli(
        "sync",
        "--session",
        cli_session_id,
        "--context-id",
        CLI_CONTEXT_ID,
        "--path",
        CLI_MOUNT,
        "--mode",
        "upload",
        "--interval",
        "0.05",
    )
    assert run.code == 0, run.err
    assert run.err == ""
    row = next(line for line in run.out.splitlines() if CLI_CONTEXT_ID in line)
    assert "upload" in row
    assert "Success" in row
    assert "sync succeeded" in run.out
    stored = cli_emulator.context_path(CLI_CONTEXT_ID) / "hello.txt"
    assert stored.read_text() == "hello from the CLI tests\n"


def test_json_upload_then_download_into_a_second_session(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str, mount_of: Callable[[str], Path]
) -> None:
    (mount_of(cli_session_id) / "data.bin").write_bytes(bytes(range(256)) * 64)
    up = cli("sync", "--session", cli_session_id, "--interval", "0.05", "--json")
    assert up.code == 0, up.err
    assert up.err == ""
    document = json.loads(up.out)
    assert document["success"] is True
    assert document["request_id"]
    assert document["elapsed_seconds"] >= 0
    assert [t["status"] for t in document["context_status_data"]] == ["Success"]

    other = cli_emulator.create_session(mounts={CLI_CONTEXT_ID: CLI_MOUNT})
    down = cli(
        "sync",
        "--session",
        other,
        "--context-id",
        CLI_CONTEXT_ID,
        "--path",
        CLI_MOUNT,
        "--mode",
        "download",
        "--interval",
        "0.05",
        "--json",
    )
    assert down.code == 0, down.err
    assert json.loads(down.out)["context_status_data"][0]["task_type"] == "download"
    assert (mount_of(other) / "data.bin").read_bytes() == bytes(range(256)) * 64
    assert (mount_of(other) / "hello.txt").read_bytes() == (
        mount_of(cli_session_id) / "hello.txt"
    ).read_bytes()


def test_a_failed_sync_exits_1_with_the_reason(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    cli_emulator.faults.fail_tasks(message="disk full", count=None)
    run = cli("sync", "--session", cli_session_id, "--interval", "0.05")
    assert run.code == 1
    assert "disk full" in run.error_line()
    assert "Failed" in run.out


def test_a_failed_sync_in_json_still_gives_a_json_result(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    cli_emulator.faults.fail_tasks(message="disk full", count=None)
    run = cli("sync", "--session", cli_session_id, "--interval", "0.05", "--json")
    assert run.code == 1
    document = json.loads(run.out)
    assert document["success"] is False
    assert "disk full" in document["error_message"]
    assert "disk full" in run.error_line()


def test_timeout_exits_1_quickly(cli: RunCli, cli_emulator: Emulator, cli_session_id: str) -> None:
    cli_emulator.faults.hang_tasks(count=None)
    started = time.monotonic()
    # 3 s: time for a fresh process on a busy machine to get the sync accepted
    run = cli("sync", "--session", cli_session_id, "--interval", "0.05", "--timeout", "3")
    assert run.code == 1
    line = run.error_line()
    # the time waited, as measured: 3.0 s or a little more on a busy machine; a machine
    # busy enough may even spend the 3 s before the sync is accepted
    waited = re.search(r"timed out after (\d+\.\d)s", line)
    assert waited or "the 3s deadline ran out" in line, line
    assert waited is None or float(waited[1]) >= 3.0
    assert time.monotonic() - started < 45  # the tasks hang: without the timeout it never ends


def test_the_live_view_sends_no_polls_of_its_own(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    """The view shows what the sync's own polls saw: no second polling loop.

    A fixed interval fits at most ``timeout / interval + 1`` polls in the
    deadline, plus the one read a sync makes before it starts; a view polling
    on its own would double that. A loaded machine only makes fewer polls.
    """
    cli_emulator.faults.hang_tasks(count=None)
    timeout, interval = 3.0, 0.1  # 3 s: room for a fresh process to start the sync under load
    run = cli(
        "sync",
        "--session",
        cli_session_id,
        "--context-id",
        CLI_CONTEXT_ID,
        "--path",
        CLI_MOUNT,
        "--interval",
        str(interval),
        "--timeout",
        str(timeout),
        FORCE_COLOR="1",  # a terminal for rich: the live view runs
    )
    assert run.code == 1, run.err
    assert "still running on the server" in run.err
    assert "Running" in run.out  # the live view showed the task the sync's polls saw
    polls = [
        r
        for r in cli_emulator.requests
        if r.path == "/sdk/GetContextInfo" and r.query.get("sessionId") == cli_session_id
    ]
    assert 2 <= len(polls) <= 1 + int(timeout / interval) + 1
