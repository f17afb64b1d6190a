"""``agb-context sync --json`` when the sync does not end by itself: timeout and Ctrl-C."""

from __future__ import annotations

import json

from support import CLI_CONTEXT_ID, CLI_MOUNT, RunCli, base_env, interrupt_when
from support.cli import start_cli

from agb_context.emulator import Emulator


def test_a_timeout_in_json_carries_the_tasks_seen(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    cli_emulator.faults.hang_tasks(count=None, session_id=cli_session_id)
    # 3 s: time for a fresh process on a busy machine to get the sync accepted
    run = cli(
        "sync", "--session", cli_session_id, "--interval", "0.05", "--timeout", "3", "--json"
    )
    assert run.code == 1
    document = json.loads(run.out)
    assert document["success"] is False
    assert "timed out" in document["error_message"]
    tasks = document["context_status_data"]
    assert [(t["context_id"], t["path"], t["task_type"]) for t in tasks] == [
        (CLI_CONTEXT_ID, CLI_MOUNT, "upload")
    ]
    assert tasks[0]["status"] in ("Pending", "Running")


def test_ctrl_c_in_json_prints_an_interrupted_document(
    cli_emulator: Emulator, cli_session_id: str
) -> None:
    cli_emulator.faults.hang_tasks(count=None, session_id=cli_session_id)
    cli_emulator.clear_requests()
    env = base_env(AGB_ENDPOINT=cli_emulator.endpoint, AGB_API_KEY=cli_emulator.api_key)
    process = start_cli(
        "sync", "--session", cli_session_id, "--interval", "0.05", "--json", env=env
    )
    # Once the status polls have begun, the command is waiting for the sync.
    out, err = interrupt_when(
        process,
        lambda: any(
            r.path.endswith("GetContextInfo") and r.query.get("sessionId") == cli_session_id
            for r in cli_emulator.requests
        ),
        what="the first status poll",
    )
    assert process.returncode == 130, err
    document = json.loads(out)
    assert document["interrupted"] is True
    assert document["success"] is False
    assert document["error_kind"] == "cancelled"
    assert document["session_id"] == cli_session_id
    assert "interrupted" in document["error_message"]
    assert err.strip().splitlines() == ["agb-context sync: error: " + document["error_message"]]
    assert cli_emulator.api_key not in out + err
