"""A reader that stops early (``agb-context ... | head -1``): the command ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import base_env

from agb_context.emulator import Emulator


def _run_into_closed_pipe(
    args: tuple[str, ...], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run the command line with a stdout whose reading end is closed before it starts:
    its first write fails, as it does once `head -1` has read its line and gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "agb_context.cli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("contexts", "list", "--json"),
        ("contexts", "list"),
        ("contexts", "create", "closed-stdout", "--json"),
    ],
)
def test_a_closed_stdout_ends_the_command_without_a_traceback_or_an_error(
    cli_emulator: Emulator, args: tuple[str, ...]
) -> None:
    done = _run_into_closed_pipe(
        args, base_env(AGB_ENDPOINT=cli_emulator.endpoint, AGB_API_KEY=cli_emulator.api_key)
    )
    assert done.stderr == ""
    assert done.returncode == 1, "what was asked for could not be shown"


@pytest.mark.parametrize(
    "args",
    [
        ("contexts", "list", "--max-results", "0", "--json"),
        ("info", "--json"),
        ("files", "ls", "SdkCtx-1", "--json", "--endpoint", "ftp://x"),
    ],
)
def test_a_failure_document_to_a_closed_stdout_keeps_the_failure(args: tuple[str, ...]) -> None:
    done = _run_into_closed_pipe(args, base_env(AGB_API_KEY="k"))
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.returncode == 2, "the usage or configuration error, as without the pipe"
