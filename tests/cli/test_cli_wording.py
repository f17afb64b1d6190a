"""CLI messages speak in flags and environment variables, never in the SDK's Python names."""

from __future__ import annotations

import pytest
from support import RunCli, assert_cli_words, base_env, run_cli


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, (), "set the AGB_API_KEY environment variable, or pass --api-key"),
        ({}, ("--api-key", " "), "--api-key is blank"),
        ({"AGB_API_KEY": "  "}, (), "AGB_API_KEY is blank"),
        ({"AGB_API_KEY": "k"}, ("--endpoint", "http://203.0.113.9"), "--allow-insecure-http"),
        ({"AGB_API_KEY": "k", "AGB_ENDPOINT": "http://203.0.113.9"}, (), "AGB_ENDPOINT: "),
        ({"AGB_API_KEY": "k"}, ("--endpoint", "ftp://x"), "--endpoint: invalid endpoint"),
        ({"AGB_API_KEY": "k"}, ("--endpoint", ""), "argument --endpoint: must not be blank"),
        ({"AGB_API_KEY": "k"}, ("--session", "s" * 5000), "argument --session: "),
        ({"AGB_API_KEY": "k"}, ("--path", "p" * 5000), "argument --path: "),
        ({"AGB_TIMEOUT_MS": "soon", "AGB_API_KEY": "k"}, (), "AGB_TIMEOUT_MS"),
    ],
)
@pytest.mark.parametrize("command", ["info", "sync"])
def test_configuration_errors_name_flags_and_variables(
    command: str, env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    if "--session" not in args:
        args = ("--session", "s-1", *args)
    # 127.0.0.1:9 is never reached: every case fails before a request.
    environment = base_env(**{"AGB_ENDPOINT": "http://127.0.0.1:9", **env})
    run = run_cli(command, *args, env=environment)
    assert run.code == 2, run
    line = run.error_line()
    assert expected in line
    assert_cli_words(line)
    assert run.out == ""


def test_usage_errors_of_sync_speak_in_flags(cli: RunCli) -> None:
    run = cli("sync", "--session", "s-1", "--path", "/home/x")
    assert run.code == 2
    line = run.error_line()
    assert "--context-id" in line
    assert_cli_words(line)


@pytest.mark.parametrize(
    ("args", "prog"),
    [
        (("info", "--session", "s-1", "--bogus"), "agb-context info"),
        (("contexts", "list", "--bogus"), "agb-context contexts list"),
        (("contexts", "list", "--endpoint", "ftp://x"), "agb-context contexts list"),
        (("files", "ls", "SdkCtx-1", "--proxy", "ftp://x"), "agb-context files ls"),
    ],
)
def test_an_error_line_names_the_subcommand_that_failed(args: tuple[str, ...], prog: str) -> None:
    run = run_cli(*args, env=base_env(AGB_ENDPOINT="http://127.0.0.1:9", AGB_API_KEY="k"))
    assert run.code == 2, run
    line = run.error_line()
    assert line.startswith(f"{prog}: error: "), line
    if "--bogus" in args:
        assert f"see '{prog} --help'" in line


def test_an_option_before_its_subcommand_is_said_to_go_after_it() -> None:
    run = run_cli("contexts", "--json", "list", env=base_env(AGB_API_KEY="k"))
    assert run.code == 2, run
    assert "--json goes after the subcommand" in run.error_line()
