"""Ctrl-C in a command waiting for the server: exit code 130, one line on stderr and,
with ``--json``, one document marked ``"interrupted": true`` of the command's own shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import base_env, interrupt_when
from support.cli import SilentEndpoint, start_cli

KEY = "interrupt-test-key-5c1e9a"

COMMANDS = {
    "info": (("info", "--session", "s-1"), "context_status_data"),
    "contexts list": (("contexts", "list"), "contexts"),
    "contexts get": (("contexts", "get", "my-data"), "context"),
    "contexts create": (("contexts", "create", "my-data"), "context"),
    "contexts rename": (("contexts", "rename", "SdkCtx-1", "new-name"), "context_id"),
    "contexts delete": (("contexts", "delete", "SdkCtx-1"), "context_id"),
    "files ls": (("files", "ls", "SdkCtx-1", "/data"), "entries"),
    "files put": (("files", "put", "SdkCtx-1", "/data/a.txt", "{local}"), "file_path"),
    "files get": (("files", "get", "SdkCtx-1", "/data/a.txt", "{local}"), "file_path"),
    "files rm": (("files", "rm", "SdkCtx-1", "/data/a.txt"), "context_id"),
}


def interrupted_run(args: tuple[str, ...]) -> tuple[int, str, str]:
    """Run ``args`` against an endpoint that never answers; Ctrl-C once it has asked."""
    with SilentEndpoint() as endpoint:
        process = start_cli(*args, env=base_env(AGB_ENDPOINT=endpoint.url, AGB_API_KEY=KEY))
        out, err = interrupt_when(process, endpoint.received, what="the first request")
    return process.returncode, out, err


@pytest.mark.parametrize("command", COMMANDS)
def test_ctrl_c_in_json_prints_one_interrupted_document(command: str, tmp_path: Path) -> None:
    words, field = COMMANDS[command]
    local = tmp_path / "a.txt"
    local.write_text("some data\n")
    args = tuple(word.format(local=local) for word in words)
    code, out, err = interrupted_run((*args, "--json"))
    assert code == 130, err
    document = json.loads(out)
    assert document["interrupted"] is True
    assert document["success"] is False
    assert document["error_kind"] == "cancelled"
    assert document["error_message"].startswith("interrupted")
    assert field in document, "the command's own document, marked interrupted"
    assert err.splitlines() == [f"agb-context {command}: error: {document['error_message']}"]
    assert KEY not in out + err


def test_ctrl_c_without_json_is_one_line() -> None:
    code, out, err = interrupted_run(("contexts", "list"))
    assert code == 130, err
    assert out == ""
    assert err.splitlines() == ["agb-context contexts list: error: interrupted"]
