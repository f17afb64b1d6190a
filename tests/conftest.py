"""Fixtures shared by the whole suite: emulators on 127.0.0.1, managers bound to them, watches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import (
    CONTEXT_ID,
    MOUNT,
    SECRETS,
    CallbackRecorder,
    MakeManager,
    Watch,
    refusing_endpoint,
)

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


@pytest.fixture
def watch() -> Iterator[Watch]:
    """Threads, background tasks and unhandled errors, watched from before the test acts."""
    watcher = Watch()
    with watcher.installed():
        yield watcher


@pytest.fixture
def refused_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` where nothing listens and nothing can start to."""
    with refusing_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def module_slow_emulator() -> Iterator[Emulator]:
    """An emulator of its own for latency faults.

    A request the client gave up on is still answered once its latency is
    over; kept apart, such stragglers never show in another module's requests.
    """
    with Emulator() as emu:
        SECRETS.add(emu.api_key)
        yield emu


@pytest.fixture
def slow_emu(module_slow_emulator: Emulator) -> Iterator[Emulator]:
    module_slow_emulator.wait_idle()
    module_slow_emulator.faults.clear()
    module_slow_emulator.clear_requests()
    yield module_slow_emulator
    module_slow_emulator.faults.clear()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators of the test's own (stopped at its end); their keys are secrets."""
    made: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emu = Emulator(**kwargs)
        SECRETS.add(emu.api_key)
        emu.start()
        made.append(emu)
        return emu

    yield make
    for emu in made:
        emu.stop()
