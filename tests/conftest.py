"""Fixtures shared by the facade tests: an emulator on 127.0.0.1 and managers bound to it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from support import CONTEXT_ID, MOUNT, SECRETS, CallbackRecorder, MakeManager

from agb_context import ContextManager
from agb_context.emulator import Emulator


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Name the random order's seed last, where it shows even with ``-q``."""
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and isinstance(seed, int):
        terminalreporter.write_line(
            f"tests ran in random order; to repeat it: pytest -p randomly --randomly-seed={seed}"
        )


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        self.lines.append(text)


@pytest.fixture(autouse=True)
def _api_keys_are_never_logged(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs with all loggers at DEBUG; no record may show an API key."""
    if "agb_emulator" in request.fixturenames:
        SECRETS.add(request.getfixturevalue("agb_emulator").api_key)
    root = logging.getLogger()
    collector = _Collector()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
        root.setLevel(level)
    leaks = [
        line.replace(key, "<API KEY>")
        for line in collector.lines
        for key in SECRETS
        if key in line
    ]
    assert not leaks, f"an API key was logged: {leaks[:3]}"


@pytest.fixture
def emu(agb_emulator: Emulator) -> Iterator[Emulator]:
    """The suite's shared emulator (the plugin's ``agb_emulator``): no faults, no cloud
    behaviours and an empty request log; its sessions and contexts are kept."""
    agb_emulator.wait_idle()
    agb_emulator.faults.clear()
    agb_emulator.behaviour.clear()
    agb_emulator.clear_requests()
    yield agb_emulator
    agb_emulator.faults.clear()
    agb_emulator.behaviour.clear()


@pytest.fixture
def session_id(emu: Emulator) -> str:
    return emu.create_session(mounts={CONTEXT_ID: MOUNT})


@pytest.fixture
def make_cm(emu: Emulator) -> Iterator[MakeManager]:
    """Build managers for the emulator; all are closed after the test."""
    made: list[ContextManager] = []

    def make(session: str, /, **kwargs: Any) -> ContextManager:
        kwargs.setdefault("api_key", emu.api_key)
        kwargs.setdefault("endpoint", emu.endpoint)
        SECRETS.add(str(kwargs["api_key"]))
        manager = ContextManager(session, **kwargs)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


@pytest.fixture
def cm(make_cm: MakeManager, session_id: str) -> ContextManager:
    return make_cm(session_id)


@pytest.fixture
def callback() -> CallbackRecorder:
    return CallbackRecorder()
