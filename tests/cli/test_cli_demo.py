"""``agb-context demo`` end to end, and proof that it can fail."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import base_env, run_cli
from rich.console import Console

from agb_context.cli import _demo
from agb_context.emulator import Emulator


def test_demo_tells_the_story_and_cleans_up(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    started = time.monotonic()
    run = run_cli("demo", env=base_env(TMPDIR=str(tmp)))
    took = time.monotonic() - started
    assert run.code == 0, run.out + run.err
    assert run.err == ""
    for expected in (
        "ok awaited upload",
        "ok callback upload",
        "on_done(True)",
        "ok info",
        "ok blocking download",
        "byte-identical in session",
        "ok clean-up",
        "Demo passed",
    ):
        assert expected in run.out, f"{expected!r} missing from:\n{run.out}"
    assert "FAILED" not in run.out
    assert list(tmp.iterdir()) == [], "the demo left files behind"
    assert took < 30


class FailingEmulator(Emulator):
    """An emulator whose sync tasks all fail, to show the demo notices."""

    def __enter__(self) -> Any:
        emu = super().__enter__()
        self.faults.fail_tasks(message="injected failure")
        return emu


def test_demo_exits_1_when_a_check_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_demo, "Emulator", FailingEmulator)
    output = io.StringIO()
    code = _demo.run_demo(Console(file=output, width=200), task_delay=0)
    text = output.getvalue()
    assert code == 1
    assert "FAILED awaited upload: sync failed:" in text
    assert "injected failure" in text
    assert "Demo failed" in text
    assert "Demo passed" not in text
