"""Fixtures shared by the facade tests: an emulator on 127.0.0.1 and managers bound to it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from support import CONTEXT_ID, MOUNT, SECRETS, CallbackRecorder

from agb_context import ContextManager
from agb_context.emulator import Emulator


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
def _api_keys_are_never_logged() -> Iterator[None]:
    """Every test runs with all loggers at DEBUG; no record may show an API key."""
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


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        SECRETS.add(emu.api_key)
        yield emu


@pytest.fixture
def emu(shared_emulator: Emulator) -> Iterator[Emulator]:
    """The shared emulator with no faults and an empty request log."""
    shared_emulator.faults.clear()
    shared_emulator.clear_requests()
    yield shared_emulator
    shared_emulator.faults.clear()


@pytest.fixture
def session_id(emu: Emulator) -> str:
    return emu.create_session(mounts={CONTEXT_ID: MOUNT})


@pytest.fixture
def make_cm(emu: Emulator) -> Iterator[Callable[..., ContextManager]]:
    """Build managers for the emulator; all are closed after the test."""
    made: list[ContextManager] = []

    def make(session: str, **kwargs: object) -> ContextManager:
        kwargs.setdefault("api_key", emu.api_key)
        kwargs.setdefault("endpoint", emu.endpoint)
        SECRETS.add(str(kwargs["api_key"]))
        manager = ContextManager(session, **kwargs)  # type: ignore[arg-type]
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


@pytest.fixture
def cm(make_cm: Callable[..., ContextManager], session_id: str) -> ContextManager:
    return make_cm(session_id)


@pytest.fixture
def callback() -> CallbackRecorder:
    return CallbackRecorder()
