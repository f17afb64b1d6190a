"""The command line never prints an API key: not in output, errors, logs or help.

Each key here is used nowhere else, given as a flag and through ``AGB_API_KEY``,
in both output modes, with the SDK logging to stderr, and with the emulator's
own command line logging every request.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import CLI_CONTEXT_ID, CLI_MOUNT, base_env, run_cli

CLI = (sys.executable, "-m", "agb_context.cli")
KEY = "cli-secret-key-8d2f61"
OTHER_KEY = "someone-elses-key-77a0c3"


@pytest.fixture
def verbose_emulator(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``agb-context emulator -v`` with `KEY`, logging each request to stderr."""
    server = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--data-dir", str(tmp_path), "--api-key", KEY, "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=base_env(),
    )
    assert server.stdout is not None
    announced = server.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:[0-9]+", announced)
    try:
        assert found, announced
        yield found.group(), server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=30)


def test_the_command_line_never_prints_a_key(
    verbose_emulator: tuple[str, subprocess.Popen[str]],
) -> None:
    endpoint, server = verbose_emulator
    outputs: list[str] = []
    common = ("--endpoint", endpoint, "--verbose")
    # Someone else's key, as a flag and from the environment, in both output modes:
    # refused (401) in one line, shown nowhere.
    refused = run_cli("info", "--session", "s-1", "--api-key", OTHER_KEY, *common, env=base_env())
    assert refused.code == 1
    assert "401" in refused.out + refused.err
    outputs.append(refused.out + refused.err)
    quiet = run_cli(
        "sync", "--session", "s-1", "--endpoint", endpoint, env=base_env(AGB_API_KEY=OTHER_KEY)
    )
    assert quiet.code == 1
    assert "401" in quiet.error_line()
    outputs.append(quiet.out + quiet.err)
    as_json = run_cli(
        "sync", "--session", "s-1", "--json", *common, env=base_env(AGB_API_KEY=OTHER_KEY)
    )
    assert (as_json.code, json.loads(as_json.out)["success"]) == (1, False)
    outputs.append(as_json.out + as_json.err)
    # The right key, as a flag, in both output modes, with the SDK logging to stderr.
    created = httpx.post(
        f"{endpoint}/emulator/sessions",
        json={"mounts": {CLI_CONTEXT_ID: CLI_MOUNT}},
        headers={"authorization": KEY},
        timeout=10,
    )
    sid = created.json()["sessionId"]
    for mode in ((), ("--json",)):
        args = ("sync", "--session", sid, "--interval", "0.05", "--api-key", KEY)
        run = run_cli(*args, *common, *mode, env=base_env())
        assert run.code == 0, run.err
        assert "agb_context" in run.err, "the SDK's log went to stderr"
        assert "sync accepted" in run.err
        outputs.append(run.out + run.err)
    # Configuration and usage errors with the key given.
    for args in (
        ("info", "--session", "s", "--api-key", KEY, "--endpoint", "http://203.0.113.9"),
        ("sync", "--session", "s", "--api-key", KEY, "--endpoint", "ftp://x"),
        ("sync", "--session", "s", "--api-key", KEY, "--mode", "sideways"),
    ):
        run = run_cli(*args, env=base_env(AGB_API_KEY=OTHER_KEY))
        assert run.code == 2
        outputs.append(run.out + run.err)
    server.send_signal(signal.SIGINT)
    out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "GetContextInfo" in err, "the emulator logged the requests"
    outputs.append(out + err)
    for key in (KEY, OTHER_KEY):
        shown = [text for text in outputs if key in text]
        assert shown == [], f"the key shows in: {shown[0][:300] if shown else ''}"


@pytest.mark.parametrize(
    "command", [(), ("info",), ("sync",), ("emulator",), ("demo",)], ids=lambda c: " ".join(c)
)
def test_help_at_every_level_never_shows_the_key(command: tuple[str, ...]) -> None:
    secret = "help-must-not-show-this-key"
    run = run_cli(*command, "--help", env=base_env(AGB_API_KEY=secret))
    assert run.code == 0, run.err
    assert run.out.startswith("usage: agb-context")
    assert secret not in run.out + run.err
    assert run.err == ""
