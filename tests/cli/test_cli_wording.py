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


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("contexts", "create", "a/b"), "argument name: "),
        (("contexts", "get", "bell\x07"), "argument name: "),
        (("contexts", "get", "--id", "bell\x07"), "argument --id: "),
        (("contexts", "rename", "SdkCtx-1", ".."), "argument name: "),
        (("contexts", "rename", "bell\x07", "new-name"), "argument id: "),
        (("contexts", "delete", "bell\x07"), "argument id: "),
        (("contexts", "clear", "x" * 300), "argument id: "),
        (("files", "ls", "bell\x07"), "argument CONTEXT: "),
        (("files", "ls", "SdkCtx-1", "/a\x07"), "argument PATH: "),
        (("files", "put", "SdkCtx-1", "/../x", "README.md"), "argument PATH: "),
        (("files", "get", "SdkCtx-1", "/a/"), "argument PATH: "),
        (("files", "rm", "SdkCtx-1", "/"), "argument PATH: "),
        (("info", "--session", "s\x07"), "argument --session: "),
        (("sync", "--session", "s-1", "--context-id", "c\x07", "--path", "/p"), "--context-id: "),
        (("info", "--session", "s-1", "--path", "/p\x07"), "argument --path: "),
        (("contexts", "get", "--id", "SdkCtx-1", "--create"), "--create"),
        (("info", "--session", "s-1", "--max-retries", "\u00b2"), "argument --max-retries: "),
    ],
)
def test_a_value_the_sdk_would_refuse_is_a_usage_error_naming_the_operand(
    args: tuple[str, ...], named: str
) -> None:
    # 127.0.0.1:9 is never reached: a request would fail with exit code 1.
    run = run_cli(*args, env=base_env(AGB_ENDPOINT="http://127.0.0.1:9", AGB_API_KEY="k"))
    assert run.code == 2, run
    line = run.error_line()
    assert named in line
    assert_cli_words(line)
    assert "_" not in line.partition(": error: ")[2].split("(see")[0].replace("--", ""), line


def test_a_task_delay_of_zero_is_zero_however_written() -> None:
    # Parsed before the unknown option is reported: a refused 0.00 would be named instead.
    run = run_cli("demo", "--task-delay", "0.00", "--bogus", env=base_env())
    assert run.code == 2, run
    assert "--bogus" in run.error_line()
