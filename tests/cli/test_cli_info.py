"""``agb-context info``: the session's sync tasks as a table or as JSON."""

from __future__ import annotations

import asyncio
import json

from support import CLI_CONTEXT_ID, CLI_MOUNT, RunCli

from agb_context import ContextManager, ContextSyncResult
from agb_context.emulator import Emulator


def _upload(emulator: Emulator, session_id: str) -> None:
    """An upload through the SDK, awaited (no background thread is left running)."""

    async def upload() -> ContextSyncResult:
        key, endpoint = emulator.api_key, emulator.endpoint
        async with ContextManager(session_id, api_key=key, endpoint=endpoint) as cm:
            return await cm.sync(CLI_CONTEXT_ID, CLI_MOUNT, mode="upload", retry_interval=20)

    result = asyncio.run(upload())
    assert result.success, result.error_message


def test_table_lists_the_sync_tasks(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    _upload(cli_emulator, cli_session_id)
    run = cli("info", "--session", cli_session_id)
    assert run.code == 0, run.err
    assert run.err == ""
    row = next(line for line in run.out.splitlines() if CLI_CONTEXT_ID in line)
    for cell in (CLI_MOUNT, "upload", "Success"):
        assert cell in row, run.out
    assert cli_session_id in run.out
    assert cli_emulator.api_key not in run.out


def test_json_is_the_only_output_and_mirrors_the_result(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    _upload(cli_emulator, cli_session_id)
    run = cli(
        "info",
        "--session",
        cli_session_id,
        "--context-id",
        CLI_CONTEXT_ID,
        "--path",
        CLI_MOUNT,
        "--json",
    )
    assert run.code == 0, run.err
    assert run.err == ""
    document = json.loads(run.out)
    assert document["success"] is True
    assert document["session_id"] == cli_session_id
    assert document["request_id"]
    assert document["error_message"] == ""
    (task,) = document["context_status_data"]
    assert task["context_id"] == CLI_CONTEXT_ID
    assert task["path"] == CLI_MOUNT
    assert task["task_type"] == "upload"
    assert task["status"] == "Success"
    assert task["start_time"] > 0
    assert task["finish_time"] >= task["start_time"]


def test_task_type_filter_is_applied(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    _upload(cli_emulator, cli_session_id)
    run = cli("info", "--session", cli_session_id, "--task-type", "download", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["context_status_data"] == []


def test_flags_work_without_environment_variables(
    cli_emulator: Emulator, cli_session_id: str, cli: RunCli
) -> None:
    run = cli(
        "info",
        "--session",
        cli_session_id,
        "--endpoint",
        cli_emulator.endpoint,
        "--api-key",
        cli_emulator.api_key,
        AGB_ENDPOINT="",
        AGB_API_KEY="",
    )
    assert run.code == 0, run.err
    assert f"No tasks reported for session {cli_session_id}" in run.out
    assert cli_emulator.api_key not in run.out + run.err
