"""Fixtures of the command-line tests: an emulator on 127.0.0.1 and a way to run the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support import CLI_CONTEXT_ID, CLI_MOUNT, Run, RunCli, base_env, run_cli

from agb_context.emulator import Emulator


@pytest.fixture
def cli_emulator(agb_clean_emulator: Emulator) -> Emulator:
    """The plugin's clean emulator, its tasks taking 0.1 s (a live view sees them run)."""
    agb_clean_emulator.set_task_delay(0.1)
    return agb_clean_emulator


@pytest.fixture
def cli(cli_emulator: Emulator) -> RunCli:
    """Run the CLI with ``AGB_ENDPOINT`` and ``AGB_API_KEY`` pointing at the emulator."""

    def run(*args: str, timeout: float = 60, **env: str) -> Run:
        environment = base_env(
            AGB_ENDPOINT=cli_emulator.endpoint, AGB_API_KEY=cli_emulator.api_key
        )
        environment.update(env)
        return run_cli(*args, env=environment, timeout=timeout)

    return run


@pytest.fixture
def cli_session_id(cli_emulator: Emulator) -> str:
    """A new session with ``CLI_CONTEXT_ID`` mounted at ``CLI_MOUNT`` and one file in it."""
    sid = cli_emulator.create_session(mounts={CLI_CONTEXT_ID: CLI_MOUNT})
    mount = cli_emulator.session_path(sid, CLI_MOUNT)
    mount.mkdir(parents=True, exist_ok=True)
    (mount / "hello.txt").write_text("hello from the CLI tests\n")
    return sid


@pytest.fixture
def mount_of(cli_emulator: Emulator) -> Callable[[str], Path]:
    """The folder of a session's `CLI_MOUNT`."""
    return lambda sid: cli_emulator.session_path(sid, CLI_MOUNT)
