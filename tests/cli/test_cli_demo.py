"""``agb-context demo`` end to end, and proof that it can fail."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import base_env, run_cli


def test_demo_tells_the_story_and_cleans_up(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # the subprocess's timeout guards against a hang; how fast the machine is does not matter
    run = run_cli("demo", env=base_env(TMPDIR=str(tmp)), timeout=120)
    assert run.code == 0, run.out + run.err
    assert run.err == ""
    for expected in (
        "ok context created",
        "found again by its name",
        "ok awaited upload",
        "ok callback upload",
        "on_done(True) was called",
        "ok info",
        "ok blocking download",
        "files in session B byte-identical",
        "ok clean-up",
        "Demo passed",
    ):
        assert expected in run.out, f"{expected!r} missing from:\n{run.out}"
    assert "FAILED" not in run.out
    assert list(tmp.iterdir()) == [], "the demo left files behind"


FAILING_DEMO = """
import sys

from agb_context.cli import _demo, main
from agb_context.emulator import Emulator


class FailingEmulator(Emulator):
    def __enter__(self):
        emu = super().__enter__()
        emu.faults.fail_tasks(message="injected failure", count=None)
        return emu


_demo.Emulator = FailingEmulator
sys.exit(main(["demo", "--task-delay", "0"]))
"""


def test_demo_exits_1_when_a_check_fails(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FAILING_DEMO],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=base_env(TMPDIR=str(tmp_path)),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED awaited upload: sync failed:" in done.stdout
    assert "injected failure" in done.stdout
    assert "Demo failed" in done.stdout
    assert "Demo passed" not in done.stdout
    assert list(tmp_path.iterdir()) == [], "the failed demo left files behind"


UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


@pytest.mark.parametrize("columns", ["40", None], ids=["40 columns", "no COLUMNS"])
def test_piped_demo_lines_are_never_broken(columns: str | None) -> None:
    env = base_env()
    env.pop("COLUMNS")
    if columns is not None:
        env["COLUMNS"] = columns
    run = run_cli("demo", "--task-delay", "0", env=env)
    assert run.code == 0, run.out + run.err
    ids = re.findall(rf"request id ({UUID})\b", run.out)
    assert len(ids) == 2, run.out
    assert run.out.count("request id") == 2


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def test_on_a_narrow_terminal_request_ids_move_whole_to_the_next_line() -> None:
    run = run_cli("demo", "--task-delay", "0", env=base_env(COLUMNS="50", FORCE_COLOR="1"))
    assert run.code == 0, run.out + run.err
    lines = [line.rstrip() for line in ANSI.sub("", run.out).splitlines()]
    checks = [n for n, line in enumerate(lines) if re.match(r"ok (awaited|blocking) ", line)]
    assert len(checks) == 2, lines
    for n in checks:
        text = " ".join(lines[n : n + 3])
        assert re.search(rf"request id {UUID} \(", text), lines[n : n + 3]
        assert all(len(line) <= 50 for line in lines[n : n + 3])
