"""Fixtures of the command-line tests: an emulator on 127.0.0.1 and a way to run the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import CLI_CONTEXT_ID, CLI_MOUNT, Run, RunCli, base_env, run_cli

from agb_context.emulator import Emulator


@pytest.fixture(scope="module")
def cli_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator per test module (stopped at its end: no server threads outlive it)."""
    with Emulator(data_dir=tmp_path_factory.mktemp("cli-emulator"), task_delay=0.1) as emu:
        yield emu


@pytest.fixture
def emulator(cli_emulator: Emulator) -> Iterator[Emulator]:
    """The shared emulator, without faults before and after the test."""
    cli_emulator.faults.clear()
    yield cli_emulator
    cli_emulator.faults.clear()


@pytest.fixture
def cli(emulator: Emulator) -> RunCli:
    """Run the CLI with ``AGB_ENDPOINT`` and ``AGB_API_KEY`` pointing at the emulator."""

    def run(*args: str, timeout: float = 60, **env: str) -> Run:
        environment = base_env(AGB_ENDPOINT=emulator.endpoint, AGB_API_KEY=emulator.api_key)
        environment.update(env)
        return run_cli(*args, env=environment, timeout=timeout)

    return run


@pytest.fixture
def session_id(emulator: Emulator) -> str:
    """A new session with ``CLI_CONTEXT_ID`` mounted at ``CLI_MOUNT`` and one file in it."""
    sid = emulator.create_session(mounts={CLI_CONTEXT_ID: CLI_MOUNT})
    mount = emulator.session_path(sid, CLI_MOUNT)
    mount.mkdir(parents=True, exist_ok=True)
    (mount / "hello.txt").write_text("hello from the CLI tests\n")
    return sid


@pytest.fixture
def mount_of(emulator: Emulator) -> Callable[[str], Path]:
    return lambda sid: emulator.session_path(sid, CLI_MOUNT)
