"""The benchmark script keeps working: its quick mode measures and reports every row.

Timing targets are not asserted here (machines are noisy, and quick sizes say
nothing); only that each row B1..B12 is measured, well-formed in the JSON file
and in the printed table, and that the functional parts hold (every
callback-mode sync calls back once with True, every concurrent sync succeeds).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench.py"
ROW_IDS = [f"B{n}" for n in range(1, 13)]
TARGET = re.compile(r"(<=|>=) \d+(\.\d+)?|report")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """Stdout and JSON document of one ``bench.py --quick`` run."""
    out = tmp_path_factory.mktemp("bench") / "figures.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text())


def test_json_holds_every_row_well_formed(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, document = quick_run
    assert document["mode"] == "quick"
    rows = document["rows"]
    assert [row["id"] for row in rows] == ROW_IDS
    for row in rows:
        assert row["figure"], row
        assert isinstance(row["value"], int | float), row
        assert math.isfinite(row["value"]), row
        assert TARGET.fullmatch(row["target"]), row
        assert row["status"] in ("PASS", "MISS"), row
        assert row["measured"], row
        assert row["note"], row
        assert isinstance(row["details"], dict), row


def test_table_shows_every_row_with_its_target(quick_run: tuple[str, dict[str, Any]]) -> None:
    stdout, document = quick_run
    lines = stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "figure", "measured"]
    for row in document["rows"]:
        [line] = [line for line in lines if line.startswith(row["id"] + " ")]
        assert row["measured"] in line, line
        assert row["target"] in line, line
        assert line.rstrip().endswith(row["status"]), line
        assert f"{row['id']}: {row['note']}" in lines


def test_functional_parts_hold(quick_run: tuple[str, dict[str, Any]]) -> None:
    rows = {row["id"]: row for row in quick_run[1]["rows"]}
    b3 = rows["B3"]["details"]
    assert b3["finished"]
    assert b3["callbacks"] == b3["succeeded"] == b3["count"] > 0
    b7 = rows["B7"]["details"]
    assert b7["succeeded"] == b7["count"] > 0
    assert b7["first_error"] == ""
    b9 = rows["B9"]["details"]
    # Each policy polled at least until its task was final, after the read before the start.
    assert b9["fixed_requests"] >= 2
    assert b9["backoff_requests"] >= 2
    assert b9["fixed_lag_ms"] >= 0
    assert b9["backoff_lag_ms"] >= 0
    b10 = rows["B10"]["details"]
    assert b10["rounds"] >= 1
    assert all(len(times) == b10["rounds"] for times in b10["times_s"].values())
    assert set(b10["times_s"]) == {"sdk_up", "raw_up", "sdk_down", "raw_down"}
    b11 = rows["B11"]["details"]
    # Every byte went up and came back, each transfer measured in the worker.
    assert b11["uploaded"] == b11["downloaded"] == b11["copy_size"] == b11["mib"] * 2**20
    assert b11["upload_rss_peak_kb"] >= b11["upload_rss_before_kb"] > 0
    assert b11["download_rss_peak_kb"] >= b11["download_rss_before_kb"] > 0
    b12 = rows["B12"]["details"]
    # Each fresh interpreter's first call succeeded, its loop watched throughout.
    assert b12["succeeded"] == b12["runs"] == len(b12["stalls_ms"]) >= 1
