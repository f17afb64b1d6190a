"""The import contracts (checked by `lint-imports` in `nox -s lint`) cover the whole core."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_core_contract_lists_every_core_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [core] = [
        contract
        for contract in config["tool"]["importlinter"]["contracts"]
        if "agb_context.emulator" in contract["forbidden_modules"]
        and "agb_context.cli" in contract["forbidden_modules"]
    ]
    on_disk = {
        f"agb_context.{path.stem}"
        for path in (ROOT / "agb_context").glob("_*.py")
        if path.stem != "__init__"
    }
    assert set(core["source_modules"]) == on_disk
