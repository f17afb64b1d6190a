"""Shared fixtures: running emulators and HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import API_KEY, Api, client_for

from agb_context.emulator import Emulator


@pytest.fixture(scope="module")
def module_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for a whole test module (sessions keep tests apart)."""
    with Emulator(data_dir=tmp_path_factory.mktemp("emulator-data"), api_key=API_KEY) as emulator:
        yield emulator


@pytest.fixture
def emulator(module_emulator: Emulator) -> Iterator[Emulator]:
    """The module's emulator, with no faults, no cloud behaviours, no recorded requests
    and no task delay left from other tests."""
    module_emulator.wait_idle()
    module_emulator.faults.clear()
    module_emulator.behaviour.clear()
    module_emulator.clear_requests()
    yield module_emulator
    module_emulator.faults.clear()
    module_emulator.behaviour.clear()
    module_emulator.set_task_delay(0)


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    with client_for(emulator) as client:
        yield Api(client)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder inside a parent folder that must stay untouched."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
