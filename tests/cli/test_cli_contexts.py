"""``agb-context contexts``: list, get, create, rename, delete and clear, as tables or JSON."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable

import pytest
from support import RunCli, base_env, interrupt_when, run_cli, wait_until
from support.cli import start_cli

from agb_context.emulator import Emulator


def unique(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def created(cli: RunCli, name: str) -> dict[str, str]:
    run = cli("contexts", "create", name, "--json")
    assert run.code == 0, run.err
    context: dict[str, str] = json.loads(run.out)["context"]
    return context


def test_create_get_rename_delete_as_json(cli: RunCli, cli_emulator: Emulator) -> None:
    name = unique()
    context = created(cli, name)
    assert set(context) == {"id", "name", "created_at", "last_used_at", "state"}
    assert (context["name"], context["state"]) == (name, "available")
    assert created(cli, name) == context, "create is idempotent by name"

    by_name = json.loads(cli("contexts", "get", name, "--json").out)
    assert by_name["context"] == context
    assert by_name["success"] is True
    assert by_name["request_id"]
    by_id = json.loads(cli("contexts", "get", "--id", context["id"], "--json").out)
    assert by_id["context"] == context

    new_name = unique("renamed")
    renamed = cli("contexts", "rename", context["id"], new_name, "--json")
    assert renamed.code == 0, renamed.err
    assert json.loads(renamed.out)["success"] is True
    assert (
        json.loads(cli("contexts", "get", new_name, "--json").out)["context"]["id"]
        == (context["id"])
    )

    deleted = cli("contexts", "delete", context["id"], "--json")
    assert deleted.code == 0, deleted.err
    gone = cli("contexts", "get", "--id", context["id"], "--json")
    assert gone.code == 1
    assert json.loads(gone.out)["success"] is False
    assert "404" in gone.error_line()


def test_tables_for_people(cli: RunCli) -> None:
    name = unique("table")
    run = cli("contexts", "create", name)
    assert run.code == 0, run.err
    assert name in run.out
    assert "available" in run.out
    listing = cli("contexts", "list")
    assert listing.code == 0, listing.err
    assert name in listing.out
    assert re.search(r"\d+ of \d+ contexts?\.", listing.out), listing.out
    context = created(cli, name)
    renamed = cli("contexts", "rename", context["id"], unique("t2"))
    assert renamed.code == 0
    assert "renamed to" in renamed.out
    deleted = cli("contexts", "delete", context["id"])
    assert deleted.code == 0
    assert "deleted" in deleted.out


def test_an_80_column_table_keeps_each_id_whole_on_one_line(cli: RunCli) -> None:
    ids = [created(cli, unique("a-rather-long-context-name"))["id"] for _ in range(2)]
    listing = cli("contexts", "list", COLUMNS="80")
    assert listing.code == 0, listing.err
    lines = listing.out.splitlines()
    assert max(map(len, lines)) <= 80, listing.out
    for context_id in ids:
        assert any(context_id in line for line in lines), listing.out


def test_list_follows_every_page_or_shows_one(cli: RunCli) -> None:
    names = [unique("page") for _ in range(3)]
    ids = [created(cli, name)["id"] for name in names]
    everything = json.loads(cli("contexts", "list", "--json").out)
    assert everything["next_token"] is None
    listed = [c["id"] for c in everything["contexts"]]
    assert len(listed) == len(set(listed)) == everything["total_count"]
    assert set(ids) <= set(listed)
    first = json.loads(cli("contexts", "list", "--max-results", "1", "--json").out)
    assert len(first["contexts"]) == 1
    assert first["next_token"]
    second = cli("contexts", "list", "--max-results", "1", "--next-token", first["next_token"])
    assert second.code == 0, second.err
    assert "Next page: --next-token" in second.out


def test_clear_waits_until_the_data_is_gone(cli: RunCli, cli_emulator: Emulator) -> None:
    context = created(cli, unique("clear"))
    stored = cli_emulator.context_path(context["id"])
    stored.mkdir()
    (stored / "f.txt").write_text("x")
    run = cli("contexts", "clear", context["id"], "--interval", "0.05", "--json")
    assert run.code == 0, run.err
    shown = json.loads(run.out)
    assert shown["success"] is True
    assert shown["context_id"] == context["id"]
    assert shown["status"] == "available"
    assert shown["error_kind"] is None
    assert not stored.exists()
    table = cli("contexts", "clear", context["id"], "--interval", "0.05", FORCE_COLOR="1")
    assert table.code == 0, table.err
    assert f"Context {context['id']} cleared in" in table.out
    assert "state available" in table.out


def test_a_clear_still_going_at_the_timeout_exits_1(cli: RunCli, cli_emulator: Emulator) -> None:
    context = created(cli, unique("clear"))
    # A deadline long enough for the first call of a fresh process (it imports the
    # HTTP stack first) to start the clear and send a look, which then outlasts it.
    cli_emulator.faults.set_latency("GetContext", 2, count=None)
    run = cli("contexts", "clear", context["id"], "--timeout", "1", "--json")
    assert run.code == 1
    assert json.loads(run.out)["error_kind"] == "still_running"
    # A look given up on is answered once its latency is over: let it land here, not in
    # another test's request log. On a busy machine the CLI may give up before it sends
    # one; then there is nothing to wait for.
    with contextlib.suppress(AssertionError):
        wait_until(
            lambda: [
                r
                for r in cli_emulator.requests
                if r.path == "/sdk/GetContext" and r.query.get("id") == context["id"]
            ],
            10,
            "the abandoned look",
        )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("contexts", "get", "--id", "SdkCtx-nope"), "404"),
        (("contexts", "delete", "SdkCtx-nope"), "404"),
        (("contexts", "clear", "SdkCtx-nope"), "404"),
    ],
)
def test_failures_are_one_line_and_exit_1(cli: RunCli, args: tuple[str, ...], words: str) -> None:
    run = cli(*args)
    assert run.code == 1
    assert words in run.error_line()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("contexts", "create", "a/b"), "'/'"),
        (("contexts", "create", "x" * 300), "300 characters"),
        (("contexts", "create", "bell\x07"), "U+0007"),
        (("contexts", "rename", "SdkCtx-nope", ".."), "'..'"),
    ],
)
def test_a_name_the_sdk_would_refuse_is_a_usage_error_before_any_request(
    cli: RunCli, cli_emulator: Emulator, args: tuple[str, ...], words: str
) -> None:
    cli_emulator.clear_requests()
    run = cli(*args)
    assert run.code == 2
    assert words in run.error_line()
    assert "argument name: " in run.error_line()
    assert cli_emulator.requests == [], "refused before any request"


@pytest.mark.parametrize(
    "args",
    [
        ("contexts",),
        ("contexts", "get"),
        ("contexts", "get", "a", "--id", "b"),
        ("contexts", "list", "--max-results", "0"),
        ("contexts", "create", "  "),
        ("contexts", "rename", "only-an-id"),
    ],
)
def test_usage_errors_exit_2(cli: RunCli, args: tuple[str, ...]) -> None:
    run = cli(*args)
    assert run.code == 2
    assert run.error_line()


def test_a_wrong_key_is_one_line(cli: RunCli) -> None:
    run = cli("contexts", "list", AGB_API_KEY="wrong-key")
    assert run.code == 1
    assert "401" in run.error_line()
    assert "wrong-key" not in run.err


def test_ctrl_c_in_a_json_clear_prints_an_interrupted_document(
    make_emulator: Callable[..., Emulator],
) -> None:
    # An emulator of the test's own: the look the command leaves waiting is let go when
    # it stops, instead of landing later in another test's request log.
    emulator = make_emulator()
    env = base_env(AGB_ENDPOINT=emulator.endpoint, AGB_API_KEY=emulator.api_key)
    made = run_cli("contexts", "create", unique("clear"), "--json", env=env)
    assert made.code == 0, made.err
    context = json.loads(made.out)["context"]
    # Every look at the context outlasts the test: the command stays waiting for the clear.
    emulator.faults.set_latency("GetContext", 60, count=None)
    process = start_cli("contexts", "clear", context["id"], "--json", env=env)
    out, err = interrupt_when(
        process,
        lambda: any(r.path == "/sdk/ClearContext" for r in emulator.requests),
        what="the clear to be started",
    )
    assert process.returncode == 130, err
    document = json.loads(out)
    assert document["interrupted"] is True
    assert document["success"] is False
    assert document["error_kind"] == "cancelled"
    assert document["context_id"] == context["id"]
    assert "interrupted" in document["error_message"]
    assert err.strip().splitlines() == [
        "agb-context contexts clear: error: " + document["error_message"]
    ]


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_json_is_whole_on_a_stdout_that_cannot_encode_the_names(
    cli: RunCli, encoding: str
) -> None:
    # As on a console or a redirect whose encoding is not UTF-8 (Windows' cp1252).
    name = unique("données-数据")
    run = cli("contexts", "create", name, "--json", PYTHONIOENCODING=encoding)
    assert run.code == 0, run.err
    assert run.err == ""
    assert json.loads(run.out)["context"]["name"] == name


def test_a_table_is_shown_on_a_stdout_that_cannot_encode_the_names(cli: RunCli) -> None:
    context = created(cli, unique("données-数据"))
    run = cli("contexts", "get", context["name"], PYTHONIOENCODING="ascii")
    assert run.code == 0, run.err
    assert run.err == ""
    assert context["id"] in run.out


def test_a_table_in_a_pipe_keeps_every_cell_on_one_line(
    cli: RunCli, cli_emulator: Emulator
) -> None:
    # No COLUMNS: a pipe has no width, and `| grep NAME` must find the whole row.
    name = unique("n" * 230)
    context = created(cli, name)
    env = base_env(AGB_ENDPOINT=cli_emulator.endpoint, AGB_API_KEY=cli_emulator.api_key)
    del env["COLUMNS"]
    for args in (("contexts", "list"), ("contexts", "get", name)):
        run = run_cli(*args, env=env)
        assert run.code == 0, run.err
        row = [line for line in run.out.splitlines() if name in line]
        assert len(row) == 1, run.out
        assert context["id"] in row[0]
        assert "available" in row[0]
