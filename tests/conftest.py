"""Fixtures shared by the facade tests: an emulator on 127.0.0.1 and managers bound to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support import CONTEXT_ID, MOUNT, CallbackRecorder

from agb_context import ContextManager
from agb_context.emulator import Emulator


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
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
