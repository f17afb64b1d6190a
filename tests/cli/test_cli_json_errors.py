"""With ``--json``, a command line that cannot run still prints one JSON document.

Whatever ends the command (a usage error argparse finds, a configuration
error, a check of the command itself), a script reading stdout gets
``{"success": false, "error_kind": ..., "error_message": ...}`` and the exit
code; stderr gets the same message in one line, for people.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import Run, RunCli, base_env, run_cli

KEY = "json-errors-test-key-0b7d"
# 127.0.0.1:9 is never reached: every case here fails before a request.
ENV = base_env(AGB_ENDPOINT="http://127.0.0.1:9", AGB_API_KEY=KEY)


def failure_document(run: Run, kind: str) -> dict[str, object]:
    """The one JSON document of a failed run, checked against its stderr line."""
    document: dict[str, object] = json.loads(run.out)
    assert document["success"] is False
    assert document["error_kind"] == kind
    line = run.error_line()
    assert line.endswith(f": error: {document['error_message']}"), (line, document)
    return document


@pytest.mark.parametrize(
    ("args", "words"),
    [
        # the option is unknown, before or after --json
        (("info", "--session", "s-1", "--bogus", "--json"), "--bogus"),
        (("info", "--json", "--session", "s-1", "--bogus"), "--bogus"),
        # a bad value, a missing value, a missing argument
        (("info", "--session", "s-1", "--task-type", "sideways", "--json"), "--task-type"),
        (("sync", "--json", "--session", "s-1", "--timeout", "-1"), "--timeout"),
        (("info", "--json", "--session"), "--session"),
        (("info", "--json"), "--session"),
        # argparse has not reached --json when it stops
        (("contexts", "list", "--max-results", "0", "--json"), "--max-results"),
        (("contexts", "get", "--json"), "--id"),
        (("contexts", "rename", "only-an-id", "--json"), "name"),
        (("files", "ls", "--json"), "CONTEXT"),
        (("files", "put", "SdkCtx-1", "/x", "--json"), "LOCAL"),
        # --json abbreviated, as argparse allows
        (("contexts", "list", "--max-results", "0", "--js"), "--max-results"),
        # checks of the command itself
        (("sync", "--session", "s-1", "--context-id", "c", "--json"), "--path"),
    ],
)
def test_usage_errors_print_one_json_document(args: tuple[str, ...], words: str) -> None:
    run = run_cli(*args, env=ENV)
    assert run.code == 2, run
    document = failure_document(run, "usage")
    assert words in str(document["error_message"])


@pytest.mark.parametrize(
    "args",
    [
        ("contexts", "--json", "list"),
        ("files", "--json"),
        ("--json",),
        ("--json", "bogus"),
    ],
)
def test_json_before_its_command_still_gets_a_document(args: tuple[str, ...]) -> None:
    run = run_cli(*args, env=ENV)
    assert run.code == 2, run
    failure_document(run, "usage")


@pytest.mark.parametrize(
    ("env", "args", "words"),
    [
        ({"AGB_API_KEY": ""}, ("info", "--session", "s-1"), "AGB_API_KEY"),
        ({}, ("contexts", "list", "--endpoint", "ftp://x"), "--endpoint"),
        ({}, ("files", "ls", "SdkCtx-1", "--proxy", "ftp://x"), "--proxy"),
        ({"AGB_TIMEOUT_MS": "soon"}, ("sync", "--session", "s-1"), "AGB_TIMEOUT_MS"),
    ],
)
def test_configuration_errors_print_one_json_document(
    env: dict[str, str], args: tuple[str, ...], words: str
) -> None:
    run = run_cli(*args, "--json", env={**ENV, **env})
    assert run.code == 2, run
    document = failure_document(run, "configuration")
    assert words in str(document["error_message"])


def test_a_json_operand_after_a_double_dash_is_no_request_for_json() -> None:
    run = run_cli("contexts", "create", "--", "--json", "extra", env=ENV)
    assert run.code == 2, run
    assert run.out == ""
    assert "extra" in run.error_line()


@pytest.mark.parametrize("args", [("demo", "--json"), ("emulator", "--json")])
def test_commands_without_json_print_none(args: tuple[str, ...]) -> None:
    run = run_cli(*args, env=ENV)
    assert run.code == 2, run
    assert run.out == ""
    assert "--json" in run.error_line()


def test_the_key_is_not_in_the_document() -> None:
    # A mistyped flag with the key glued to it is echoed by argparse.
    run = run_cli("info", "--session", "s-1", f"--apikey={KEY}", "--json", env=base_env())
    assert run.code == 2, run
    failure_document(run, "usage")
    assert KEY not in run.out + run.err
    flag = run_cli("info", "--api-key", KEY, "--session", "s-1", KEY, "--json", env=base_env())
    assert flag.code == 2, flag
    failure_document(flag, "usage")
    assert KEY not in flag.out + flag.err


COMMON_FIELDS = {
    "success",
    "request_id",
    "http_status",
    "error_kind",
    "error_code",
    "retryable",
    "error_message",
}
"""What every result of the SDK carries, and so every command's document."""


@pytest.mark.parametrize(
    "args",
    [
        ("contexts", "get", "--id", "SdkCtx-nope"),
        ("contexts", "rename", "SdkCtx-nope", "new-name"),
        ("contexts", "delete", "SdkCtx-nope"),
        ("contexts", "clear", "SdkCtx-nope"),
        ("files", "ls", "SdkCtx-nope"),
        ("files", "rm", "SdkCtx-nope", "/x"),
        ("files", "get", "SdkCtx-nope", "/x", "{tmp}/copy.bin"),
        ("info", "--session", "no-such-session"),
    ],
    ids=" ".join,
)
def test_a_failed_result_has_the_same_fields_in_every_command(
    cli: RunCli, args: tuple[str, ...], tmp_path: Path
) -> None:
    run = cli(*(arg.format(tmp=tmp_path) for arg in args), "--json")
    assert run.code == 1, run
    document = json.loads(run.out)
    assert set(document) >= COMMON_FIELDS, sorted(document)
    assert (document["success"], document["error_kind"]) == (False, "http_status")
    assert document["http_status"] in (400, 404)
    assert document["error_message"] in run.error_line()
