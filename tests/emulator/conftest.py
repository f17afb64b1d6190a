"""Fixtures of the emulator's tests: its API over raw HTTP, a data folder to keep watch on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Api, client_for

from agb_context.emulator import Emulator


@pytest.fixture
def api(agb_clean_emulator: Emulator) -> Iterator[Api]:
    """The cloud endpoints of the plugin's clean emulator, over raw HTTP with its key."""
    with client_for(agb_clean_emulator) as client:
        yield Api(client)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder inside a parent folder that must stay untouched."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
