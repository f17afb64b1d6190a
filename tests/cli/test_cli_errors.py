"""Expected failures: one line on stderr, a non-zero exit code, never a traceback."""

from __future__ import annotations

import json

import pytest
from support import WRONG_KEY, RunCli, base_env, run_cli

from agb_context.emulator import Emulator


@pytest.mark.parametrize("command", ["info", "sync"])
def test_unreachable_endpoint(cli: RunCli, refused_endpoint: str, command: str) -> None:
    endpoint = refused_endpoint
    run = cli(command, "--session", "s-1", "--endpoint", endpoint)
    assert run.code == 1
    line = run.error_line()
    assert "could not reach" in line
    assert endpoint in line


@pytest.mark.parametrize("command", ["info", "sync"])
def test_unknown_session(cli: RunCli, command: str) -> None:
    run = cli(command, "--session", "no-such-session")
    assert run.code == 1
    assert "no-such-session" in run.error_line() or "not found" in run.error_line().lower()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "choose a command"),
        (("bogus",), "invalid choice"),
        (("info",), "--session"),
        (("info", "--session", "  "), "blank"),
        (("sync", "--session", "s-1", "--context-id", "c"), "--path"),
        (("sync", "--session", "s-1", "--mode", "sideways"), "invalid choice"),
        (("sync", "--session", "s-1", "--timeout", "-1"), "positive"),
        (("info", "--session", "s-1", "--endpoint", "http://203.0.113.9"), "plain http"),
        (("info", "--session", "s-1", "--endpoint", "ftp://x"), "invalid endpoint"),
    ],
)
def test_usage_errors_exit_2(cli: RunCli, args: tuple[str, ...], expected: str) -> None:
    run = cli(*args)
    assert run.code == 2, run
    assert expected in run.error_line()
    assert run.out == ""


def test_a_key_that_starts_with_a_dash_is_told_how_to_pass(
    cli: RunCli, cli_emulator: Emulator, cli_session_id: str
) -> None:
    key = "-dash-" + cli_emulator.api_key
    refused = cli("info", "--session", cli_session_id, "--api-key", key)
    assert refused.code == 2
    assert "--option=VALUE" in refused.error_line()
    assert key not in refused.out + refused.err
    accepted = cli("info", "--session", cli_session_id, f"--api-key={key}")
    assert accepted.code == 1, "taken as the key (a wrong one): refused by the server"
    assert "401" in accepted.error_line()


def test_missing_key_is_a_usage_error(cli_emulator: Emulator) -> None:
    run = run_cli("info", "--session", "s-1", "--endpoint", cli_emulator.endpoint, env=base_env())
    assert run.code == 2
    assert "AGB_API_KEY" in run.error_line()


def test_version() -> None:
    run = run_cli("--version")
    assert run.code == 0
    assert run.out.startswith("agb-context ")


def test_a_failure_in_json_mode_is_still_one_json_document(
    cli: RunCli, cli_session_id: str
) -> None:
    run = cli("info", "--session", cli_session_id, "--json", AGB_API_KEY=WRONG_KEY)
    assert run.code == 1
    document = json.loads(run.out)
    assert document["success"] is False
    assert "401" in document["error_message"]
    assert "401" in run.error_line()
    assert WRONG_KEY not in run.out + run.err
