"""Fixtures of the reliability tests: leak and error watching, refusing ports, own emulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from reliability_support import Watch
from support import SECRETS, refusing_endpoint

from agb_context.emulator import Emulator


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
