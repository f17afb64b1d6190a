"""``agb-context files``: ls, put, get and rm of a context's files, as tables or JSON."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from support import RunCli, assert_cli_words


@pytest.fixture
def context_id(cli: RunCli) -> str:
    run = cli("contexts", "create", f"cli-files-{uuid.uuid4().hex[:10]}", "--json")
    assert run.code == 0, run.err
    return str(json.loads(run.out)["context"]["id"])


def test_put_ls_get_rm(cli: RunCli, context_id: str, tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(200_000))
    put = cli("files", "put", context_id, "/data/a.bin", str(local), "--json")
    assert put.code == 0, put.err
    sent = json.loads(put.out)
    assert (sent["success"], sent["size"], sent["file_path"]) == (True, 200_000, "/data/a.bin")

    listing = cli("files", "ls", context_id, "/data")
    assert listing.code == 0, listing.err
    assert "/data/a.bin" in listing.out
    assert "200,000" in listing.out
    as_json = json.loads(cli("files", "ls", context_id, "--json").out)
    assert [e["file_path"] for e in as_json["entries"]] == ["/data"]

    copy = tmp_path / "copy.bin"
    got = cli("files", "get", context_id, "/data/a.bin", str(copy))
    assert got.code == 0, got.err
    assert "Downloaded /data/a.bin (200,000 bytes)" in got.out
    assert copy.read_bytes() == local.read_bytes()

    removed = cli("files", "rm", context_id, "/data/a.bin")
    assert removed.code == 0, removed.err
    gone = cli("files", "get", context_id, "/data/a.bin", str(copy))
    assert gone.code == 1
    assert "404" in gone.error_line()
    assert copy.read_bytes() == local.read_bytes(), "a failed download keeps the older file"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("files", "put", "SdkCtx-1", "/../x", "README.md"), 2, "argument PATH: "),
        (("files", "get", "SdkCtx-1", "/a\x07"), 2, "U+0007"),
        (("files", "ls", "SdkCtx-nope"), 1, "404"),
        (("files", "rm", "SdkCtx-nope", "/x"), 1, "404"),
        (("files",), 2, "choose a subcommand"),
        (("files", "put", "SdkCtx-1", "/x"), 2, "LOCAL"),
    ],
)
def test_failures_are_one_line(cli: RunCli, args: tuple[str, ...], code: int, words: str) -> None:
    run = cli(*args)
    assert run.code == code
    assert words in run.error_line()


@pytest.mark.parametrize(
    ("command", "local"),
    [("put", "no-such-file.bin"), ("get", "no-such-folder/copy.bin"), ("get", ".")],
)
def test_a_bad_local_path_is_named_as_the_command_line_names_it(
    cli: RunCli, context_id: str, tmp_path: Path, command: str, local: str
) -> None:
    run = cli("files", command, context_id, "/data/a.bin", str(tmp_path / local))
    assert run.code == 1
    line = run.error_line()
    assert "LOCAL" in line
    assert_cli_words(line)
