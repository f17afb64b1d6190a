"""Benchmarks of the SDK against the emulator on 127.0.0.1, each figure beside its target.

    python benchmarks/bench.py [--quick] [--json PATH] [--only B1,B5]

Prints a table (id, figure, measured value, target, PASS/MISS) with a note
per row, and writes the same figures to a JSON file (``bench-results.json``
unless ``--json`` says otherwise). ``--quick`` runs every row with small sizes,
so that the test suite can keep the script working; its figures are not
meaningful. The exit status is 0 whenever every row was measured, whether or
not it met its target: timing targets are for people to read, not for a
noisy machine to gate on.

Every figure compares two things measured side by side in the same run,
interleaved where that makes sense, after a warm-up; medians throughout. The
servers run in processes of their own (see ``_server.py``), so the client
measured has a core to itself on a two-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from _load import minimal_syncs, throughput
from _servers import ServerProcess

from agb_context import (
    ContextManager,
    ContextService,
    ContextSyncResult,
    PollingPolicy,
    SyncOperation,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = Path("bench-results.json")

TASK_DELAY = 0.2
"""Seconds a sync task takes on the emulator (B2, B3, B4, B7)."""
B5_TASK_DELAY = 0.25
"""B5's tasks end half a poll interval off the poll grid, so the lag it shows
is the typical one, not a lucky (~0 ms) or unlucky (~100 ms) phase."""
B5_POLL_MS = 100
"""B5's ``retry_interval``; every other sync measured polls at the SDK's defaults."""
TICK = 0.005
"""Period of the event-loop ticker of B4, in seconds."""
B8_CLIENTS = 64
MOUNTS_PER_SESSION = 50
"""Contexts per session for B3 and B7 (the emulator allows 64): N concurrent
syncs of distinct contexts use N/50 sessions, each with its own `ContextManager`.
B2 gives each sync a session of its own (as one manager per cloud session
would): the emulator rewrites a session's whole record on every task change,
which in big sessions would make its own cost, not the SDK's, the figure."""
T = TypeVar("T")
MB = 2**20
RAW_CHUNK = MB
"""Bytes per chunk of the raw ``httpx`` upload of B10 (its download takes what arrives)."""


@dataclass(frozen=True)
class Sizes:
    """How much each row measures; `FULL` for the figures, `QUICK` for the test suite."""

    b1_pairs: int
    b1_warmup: int
    b2_syncs: int
    b2_rounds: int
    b2_warmup: int
    b2_burst: int
    """B2/B4 also run at this many concurrent syncs, against the minimal client."""
    b2_burst_rounds: int
    b3_syncs: int
    b5_syncs: int
    b6_runs: int
    b7_syncs: int
    b8_rounds: int
    b8_seconds: float
    b9_task_delay: float
    b10_mb: int
    """B10's file, in MiB."""
    b10_rounds: int
    b11_mb: int
    """B11's file, in MiB."""
    b12_runs: int
    """Fresh processes B12 makes a first call in."""


FULL = Sizes(
    b1_pairs=1500,
    b1_warmup=100,
    b2_syncs=200,
    b2_rounds=5,
    b2_warmup=2,
    b2_burst=1000,
    b2_burst_rounds=3,
    b3_syncs=200,
    b5_syncs=15,
    b6_runs=20,
    b7_syncs=1000,
    b8_rounds=3,
    b8_seconds=2.0,
    b9_task_delay=60.0,
    b10_mb=256,
    b10_rounds=15,
    b11_mb=1024,
    b12_runs=10,
)
QUICK = Sizes(
    b1_pairs=40,
    b1_warmup=5,
    b2_syncs=20,
    b2_rounds=1,
    b2_warmup=0,
    b2_burst=30,
    b2_burst_rounds=1,
    b3_syncs=20,
    b5_syncs=2,
    b6_runs=2,
    b7_syncs=40,
    b8_rounds=1,
    b8_seconds=0.3,
    b9_task_delay=2.0,
    b10_mb=4,
    b10_rounds=1,
    b11_mb=8,
    b12_runs=2,
)


@dataclass
class Row:
    """One line of the table: a figure, its value and its target."""

    id: str
    figure: str
    value: float
    unit: str
    target: str
    """``<= 1.1``, ``>= 0.5`` or ``report``."""
    passed: bool
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``PASS`` or ``MISS``."""
        return "PASS" if self.passed else "MISS"

    @property
    def measured(self) -> str:
        """The value as the table shows it."""
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit in ("ms", "KB", "MB"):
            return f"{self.value:.1f} {self.unit}"
        return f"{self.value:g} {self.unit}".strip()


def _check(value: float, target: str) -> bool:
    op, _, bound = target.partition(" ")
    if op == "<=":
        return value <= float(bound)
    if op == ">=":
        return value >= float(bound)
    return math.isfinite(value)


def _row(
    id: str, figure: str, value: float, unit: str, target: str, note: str, **details: Any
) -> Row:
    ok = bool(details.pop("ok", True))
    return Row(id, figure, value, unit, target, ok and _check(value, target), note, details)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _median_ms(samples: Iterable[float]) -> float:
    return _ms(statistics.median(samples))


def _proc_status(name: str) -> int:
    """A number from ``/proc/self/status`` (``Threads``, or ``VmRSS`` etc. in KB)."""
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key == name:
                return int(value.split()[0])
    raise KeyError(name)


def _mounts(count: int) -> dict[str, str]:
    return {f"ctx-{i}": f"/home/data{i}" for i in range(count)}


def _sync_args(i: int, **polling: int) -> dict[str, Any]:
    """Arguments of a sync of mount ``i`` (see `_mounts`); polling at the defaults unless given."""
    return {"context_id": f"ctx-{i}", "path": f"/home/data{i}", **polling}


Plan = list[tuple[str, int]]
"""One ``(session id, mount index)`` per sync to start."""


def _plan(server: ServerProcess, count: int, per_session: int = MOUNTS_PER_SESSION) -> Plan:
    """Sessions for ``count`` concurrent syncs, each of a context of its own."""
    plan: Plan = []
    for first in range(0, count, per_session):
        size = min(per_session, count - first)
        sid = server.create_session(_mounts(size))
        plan += [(sid, i) for i in range(size)]
    return plan


def _managers(
    plan: Plan, api_key: str | None = None, endpoint: str | None = None
) -> dict[str, ContextManager]:
    """One manager per session of the plan (no key or endpoint: from ``AGB_*``)."""
    sessions = dict.fromkeys(sid for sid, _ in plan)
    return {sid: ContextManager(sid, api_key=api_key, endpoint=endpoint) for sid in sessions}


async def _warm(managers: dict[str, ContextManager]) -> None:
    """Make each manager's client and first connection before anything is timed."""
    infos = await asyncio.gather(*(cm.info_async() for cm in managers.values()))
    assert all(info.success for info in infos), infos


async def _close(managers: dict[str, ContextManager]) -> None:
    await asyncio.gather(*(cm.aclose() for cm in managers.values()))


def _start_all(
    plan: Plan, managers: dict[str, ContextManager], **extra: Any
) -> list[SyncOperation]:
    return [managers[sid].sync(**_sync_args(i), **extra) for sid, i in plan]


class Sampler:
    """A thread that keeps the largest value of a ``/proc/self/status`` field."""

    def __init__(self, name: str, period: float = 0.002) -> None:
        self.name, self.period = name, period
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sample-{name}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.peak = max(self.peak, _proc_status(self.name))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _proc_status(self.name))


# -- B1 ----------------------------------------------------------------------


def bench_b1(server: ServerProcess, sizes: Sizes) -> Row:
    """``info()`` against a raw ``httpx.Client`` GET of the same URL, call by call."""
    sid = server.create_session(_mounts(1))
    headers = {"authorization": server.api_key, "Content-Type": "application/json"}
    with (
        ContextManager(sid, api_key=server.api_key, endpoint=server.endpoint) as cm,
        httpx.Client(base_url=server.endpoint, headers=headers) as raw,
    ):
        assert cm.sync(**_sync_args(0, retry_interval=50)).result(30).success
        params = {"sessionId": sid}

        def sdk() -> None:
            assert cm.info().success

        def plain() -> None:
            raw.get("/sdk/GetContextInfo", params=params).raise_for_status()

        for _ in range(sizes.b1_warmup):
            sdk()
            plain()
        times: dict[str, list[float]] = {"sdk": [], "raw": []}
        clock = time.perf_counter
        for i in range(sizes.b1_pairs):
            order = [("sdk", sdk), ("raw", plain)]
            for name, call in order if i % 2 else order[::-1]:
                start = clock()
                call()
                times[name].append(clock() - start)
    sdk_ms, raw_ms = _median_ms(times["sdk"]), _median_ms(times["raw"])
    return _row(
        "B1",
        "info() median latency / raw httpx.Client GET of the same URL",
        round(sdk_ms / raw_ms, 3),
        "x",
        "<= 1.10",
        f"median {sdk_ms:.3f} ms vs {raw_ms:.3f} ms over {sizes.b1_pairs} interleaved pairs; "
        f"SDK overhead {1000 * (sdk_ms - raw_ms):.0f} us per call",
        sdk_median_ms=sdk_ms,
        raw_median_ms=raw_ms,
        pairs=sizes.b1_pairs,
    )


# -- B2 and B4 ---------------------------------------------------------------


class Ticker:
    """A task that sleeps `TICK` s over and over and keeps its worst overrun: the loop's stalls.

    ``worst`` is the overrun in wall time, what a user of the loop feels.
    ``worst_busy`` is the same overrun counted only while the loop's thread
    was on a CPU: a machine too busy to run the process makes the first
    grow, not the second.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_busy = 0.0
        self._stop = False

    async def run(self) -> None:
        clock, cpu = time.perf_counter, time.thread_time
        while not self._stop:
            start, start_cpu = clock(), cpu()
            await asyncio.sleep(TICK)
            overrun = clock() - start - TICK
            self.worst = max(self.worst, overrun)
            self.worst_busy = max(self.worst_busy, min(overrun, cpu() - start_cpu))

    def stop(self) -> None:
        self._stop = True


async def _timed_sync(cm: ContextManager, i: int) -> float:
    start = time.perf_counter()
    result = await cm.sync(**_sync_args(i))
    elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError(f"a sync failed: {result.error_message}")
    return elapsed


def _cpu() -> float:
    """CPU seconds this process has used."""
    times = os.times()
    return times.user + times.system


async def _concurrent_round(
    server: ServerProcess,
    plan: Plan,
    managers: dict[str, ContextManager],
    *,
    pause_gc: bool = False,
) -> dict[str, float]:
    """One timed run of the plan's awaited syncs at once, a ticker watching the loop.

    ``pause_gc`` measures what an application gets that turns the garbage
    collector off during the burst (the SDK never does: it is the application's
    call); the figure then shows the SDK's own loop steps. The ticker stops
    before the collector is turned back on: its first young collection then
    scans everything the burst allocated, a long step the application chose
    to have later.
    """
    await _warm(managers)
    full_collection = _full_collection()
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.05)
    if pause_gc:
        gc.disable()
    cpu, server_cpu, start = _cpu(), server.cpu_seconds(), time.perf_counter()
    try:
        results: list[ContextSyncResult] = await asyncio.gather(*_start_all(plan, managers))
        wall = time.perf_counter() - start
        cpu, server_cpu = _cpu() - cpu, server.cpu_seconds() - server_cpu
        ticker.stop()
        await ticking
    finally:
        gc.enable()
    failed = [r.error_message for r in results if not r.success]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(plan)} concurrent syncs failed: {failed[0]}")
    return {
        "wall": wall,
        "stall": ticker.worst,
        "busy_stall": ticker.worst_busy,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "full_collection": full_collection,
    }


def _full_collection() -> float:
    """Seconds one full garbage collection of this process takes, at rest.

    Any burst that keeps more objects alive than a quarter of those the
    process already holds sets off such a collection (CPython's rule), and
    the loop stalls for it whoever allocated the objects: this is the floor
    under the longest stall of a burst of that size.
    """
    gc.collect()
    start = time.perf_counter()
    gc.collect()
    return time.perf_counter() - start


async def _watched(work: Awaitable[T]) -> tuple[T, float]:
    """``work``'s value, and the longest loop stall while it ran (a `Ticker`)."""
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.05)
    try:
        return await work, ticker.worst
    finally:
        ticker.stop()
        await ticking


async def _b2(server: ServerProcess, sizes: Sizes) -> tuple[Row, Row]:
    connect = {"api_key": server.api_key, "endpoint": server.endpoint}
    n = sizes.b2_syncs
    single = _managers(_plan(server, 1), **connect)
    [one] = single.values()
    plan = _plan(server, n, per_session=1)
    managers = _managers(plan, **connect)
    floor_plan = _plan(server, n, per_session=1)
    big = sizes.b2_burst
    burst_plan = _plan(server, big, per_session=1)
    # Made once the rounds at n are over: their objects are no part of those rounds.
    burst_managers: dict[str, ContextManager] = {}
    burst_floor_plan = _plan(server, big, per_session=1)
    singles: list[float] = []
    rounds: list[dict[str, float]] = []
    floors: list[float] = []
    bursts: list[dict[str, float]] = []
    burst_floors: list[float] = []
    burst_same_requests: list[float] = []
    burst_floor_stalls: list[float] = []
    try:
        for _ in range(sizes.b2_warmup):
            await _timed_sync(one, 0)
        for _ in range(sizes.b2_rounds):
            singles.append(await _timed_sync(one, 0))
            rounds.append(await _concurrent_round(server, plan, managers))
            floors.append(await minimal_syncs(server.endpoint, server.api_key, floor_plan))
            singles.append(await _timed_sync(one, 0))
        paused = [await _concurrent_round(server, plan, managers, pause_gc=True)]
        burst_managers.update(_managers(burst_plan, **connect))
        paused += [
            await _concurrent_round(server, burst_plan, burst_managers, pause_gc=True),
        ]
        for _ in range(sizes.b2_burst_rounds):
            bursts.append(await _concurrent_round(server, burst_plan, burst_managers))
            floor, stall = await _watched(
                minimal_syncs(server.endpoint, server.api_key, burst_floor_plan)
            )
            burst_floors.append(floor)
            burst_floor_stalls.append(stall)
            burst_same_requests.append(
                await minimal_syncs(
                    server.endpoint, server.api_key, burst_floor_plan, read_first=True
                )
            )
    finally:
        await _close({**single, **managers, **burst_managers})
    burst_ms = _median_ms(r["wall"] for r in bursts)
    burst_floor_ms = _median_ms(burst_floors)
    burst_same_ms = _median_ms(burst_same_requests)
    burst_stall_ms = _median_ms(r["stall"] for r in bursts)
    burst_busy_ms = _median_ms(r["busy_stall"] for r in bursts)
    single_ms = _median_ms(singles)
    wall_ms = _median_ms(r["wall"] for r in rounds)
    floor_ms = _median_ms(floors)
    cpu_ms = _median_ms(r["cpu"] for r in rounds)
    server_cpu_ms = _median_ms(r["server_cpu"] for r in rounds)
    b2 = _row(
        "B2",
        f"{n} concurrent `await cm.sync()` (tasks 200 ms) wall / one such sync",
        round(wall_ms / single_ms, 3),
        "x",
        "<= 1.5",
        f"median wall {wall_ms:.0f} ms for {n} vs {single_ms:.0f} ms for one "
        f"({sizes.b2_rounds} rounds, singles interleaved; {n} sessions, a warmed manager "
        f"each; default polling). During the {n}: SDK process CPU {cpu_ms:.0f} ms, emulator "
        f"CPU {server_cpu_ms:.0f} ms. The same syncs by a minimal raw-socket client: "
        f"{floor_ms:.0f} ms = {floor_ms / single_ms:.2f}x, the emulator's floor. "
        f"At {big}: median wall {burst_ms:.0f} ms vs {burst_floor_ms:.0f} ms by the minimal "
        f"client = {burst_ms / burst_floor_ms:.2f}x ({sizes.b2_burst_rounds} rounds); "
        f"{burst_same_ms:.0f} ms = {burst_ms / burst_same_ms:.2f}x when the minimal client "
        "also reads the tasks listed before each sync starts, as the SDK does (one more "
        "request a sync)",
        burst_syncs=big,
        burst_wall_ms=burst_ms,
        burst_minimal_client_wall_ms=burst_floor_ms,
        burst_walls_ms=[_ms(r["wall"]) for r in bursts],
        burst_minimal_client_walls_ms=[_ms(f) for f in burst_floors],
        burst_same_requests_wall_ms=burst_same_ms,
        burst_same_requests_walls_ms=[_ms(f) for f in burst_same_requests],
        burst_sdk_cpu_ms=_median_ms(r["cpu"] for r in bursts),
        burst_vs_minimal=round(burst_ms / burst_floor_ms, 3),
        concurrent_wall_ms=wall_ms,
        single_ms=single_ms,
        minimal_client_wall_ms=floor_ms,
        sdk_cpu_ms=cpu_ms,
        emulator_cpu_ms=server_cpu_ms,
        concurrent_walls_ms=[_ms(r["wall"]) for r in rounds],
        minimal_client_walls_ms=[_ms(f) for f in floors],
        singles_ms=[_ms(s) for s in singles],
    )
    stalls = [r["stall"] for r in rounds]
    busy = [r["busy_stall"] for r in rounds]
    b4 = _row(
        "B4",
        f"longest event-loop stall ({TICK * 1000:g} ms ticker) during B2",
        _median_ms(stalls),
        "ms",
        "<= 20",
        f"median over {len(stalls)} rounds of each round's longest stall; worst "
        f"{_ms(max(stalls)):.1f} ms. Counting only time the loop's thread was on a CPU "
        f"(not waiting for one on a busy machine): median {_median_ms(busy):.1f} ms. "
        f"At {big} syncs: median {burst_stall_ms:.1f} ms, on a CPU {burst_busy_ms:.1f} ms; "
        f"the minimal raw-socket client's own loop stalled {_median_ms(burst_floor_stalls):.1f}"
        f" ms (median) for the same {big} syncs. "
        "One full garbage collection of this process at rest, just before each round, took "
        f"{_median_ms(r['full_collection'] for r in rounds):.1f} ms before the {n}-sync "
        f"rounds and {_median_ms(r['full_collection'] for r in bursts):.1f} ms before the "
        f"{big}-sync ones (medians): a burst that keeps alive more than a quarter as many "
        "objects as the process held sets one off, the loop stalls for it, and no client "
        "in this process can stall less. "
        "Not the target, for comparison: an application that turns the garbage collector "
        "off during the burst (gc.disable(); the SDK never does) saw "
        f"{_ms(paused[0]['stall']):.1f} ms at {n} "
        f"({_ms(paused[0]['busy_stall']):.1f} ms on a CPU) and "
        f"{_ms(paused[1]['stall']):.1f} ms at {big} "
        f"({_ms(paused[1]['busy_stall']):.1f} ms on a CPU), "
        "one round each",
        burst_stall_ms=burst_stall_ms,
        burst_busy_stall_ms=burst_busy_ms,
        burst_stalls_ms=[_ms(r["stall"]) for r in bursts],
        burst_busy_stalls_ms=[_ms(r["busy_stall"]) for r in bursts],
        burst_minimal_client_stalls_ms=[_ms(s) for s in burst_floor_stalls],
        full_collection_ms=_median_ms(r["full_collection"] for r in rounds),
        burst_full_collection_ms=_median_ms(r["full_collection"] for r in bursts),
        gc_paused_stall_ms=_ms(paused[0]["stall"]),
        gc_paused_busy_stall_ms=_ms(paused[0]["busy_stall"]),
        gc_paused_burst_stall_ms=_ms(paused[1]["stall"]),
        gc_paused_burst_busy_stall_ms=_ms(paused[1]["busy_stall"]),
        per_round_ms=[_ms(s) for s in stalls],
        busy_per_round_ms=[_ms(s) for s in busy],
    )
    return b2, b4


def bench_b2_b4(server: ServerProcess, sizes: Sizes) -> tuple[Row, Row]:
    """Concurrent awaited syncs against one, with a ticker watching the loop."""
    return asyncio.run(_b2(server, sizes))


# -- B3 and B7 run in fresh processes: a clean thread count and memory peak ----


def _worker(kind: str, server: ServerProcess, count: int) -> dict[str, Any]:
    return _run_worker(kind, server, _plan(server, count))


def _run_worker(
    kind: str, server: ServerProcess, job: Any, timeout: float = 180
) -> dict[str, Any]:
    """Run ``worker_<kind>(job)`` in a fresh interpreter; what it returned."""
    env = dict(os.environ, AGB_API_KEY=server.api_key, AGB_ENDPOINT=server.endpoint)
    done = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, "--worker", kind, "--plan", json.dumps(job)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"the {kind} worker failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def worker_b3(plan: Plan) -> dict[str, Any]:
    """Callback-mode syncs from plain code; threads of this process at their peak."""
    count = len(plan)
    calls: list[bool] = []
    lock = threading.Lock()
    all_called = threading.Event()

    def callback(success: bool) -> None:
        with lock:
            calls.append(success)
            if len(calls) == count:
                all_called.set()

    managers = _managers(plan)
    with Sampler("Threads", period=0.001) as threads:
        before = _proc_status("Threads")
        start = time.perf_counter()
        _start_all(plan, managers, callback=callback)
        finished = all_called.wait(120)
        wall = time.perf_counter() - start
        time.sleep(0.05)  # a callback called twice would show by now
    for cm in managers.values():
        cm.close()
    return {
        "threads_before": before,
        "threads_peak": threads.peak,
        "callbacks": len(calls),
        "succeeded": sum(calls),
        "finished": finished,
        "wall_ms": _ms(wall),
    }


def bench_b3(server: ServerProcess, sizes: Sizes) -> Row:
    """Threads added at peak by callback-mode syncs from plain code."""
    n = sizes.b3_syncs
    found = _worker("b3", server, n)
    added = found["threads_peak"] - found["threads_before"]
    ok = found["finished"] and found["callbacks"] == found["succeeded"] == n
    return _row(
        "B3",
        f"{n} `cm.sync(callback=fn)` from plain code: threads added at peak",
        added,
        "threads",
        "<= 4",
        f"{found['threads_before']} threads before, {found['threads_peak']} at peak; "
        f"{found['callbacks']}/{n} callbacks, {found['succeeded']} with True, "
        f"in {found['wall_ms']:.0f} ms",
        ok=ok,
        count=n,
        **found,
    )


async def _b7_syncs(plan: Plan) -> dict[str, Any]:
    managers = _managers(plan)
    await _warm(managers)
    warm_plan = [(sid, 0) for sid in managers]
    warm = await asyncio.gather(*_start_all(warm_plan, managers))
    assert all(r.success for r in warm), warm
    gc.collect()
    before = _proc_status("VmRSS")
    with Sampler("VmRSS") as rss:
        start = time.perf_counter()
        results = await asyncio.gather(*_start_all(plan, managers))
        wall = time.perf_counter() - start
    await _close(managers)
    errors = [r.error_message for r in results if not r.success]
    return {
        "rss_before_kb": before,
        "rss_peak_kb": rss.peak,
        "succeeded": len(results) - len(errors),
        "first_error": errors[0] if errors else "",
        "wall_ms": _ms(wall),
        "managers": len(managers),
    }


def worker_b7(plan: Plan) -> dict[str, Any]:
    """Awaited syncs all at once; resident memory before and at its peak."""
    return asyncio.run(_b7_syncs(plan))


def bench_b7(server: ServerProcess, sizes: Sizes) -> Row:
    """Peak resident memory added per in-flight awaited sync."""
    n = sizes.b7_syncs
    found = _worker("b7", server, n)
    per_sync = (found["rss_peak_kb"] - found["rss_before_kb"]) / n
    note = (
        f"{found['succeeded']}/{n} succeeded in {found['wall_ms']:.0f} ms "
        f"({found['managers']} sessions, one manager each, warmed); VmRSS "
        f"{found['rss_before_kb'] / 1024:.1f} MB before, {found['rss_peak_kb'] / 1024:.1f} MB "
        "at peak (sampled every 2 ms)"
    )
    if found["first_error"]:
        note += f"; first failure: {found['first_error']}"
    return _row(
        "B7",
        f"{n:,} concurrent awaited syncs: all succeed; peak RSS added per in-flight sync",
        round(per_sync, 1),
        "KB",
        "report",
        note,
        ok=found["succeeded"] == n,
        count=n,
        **found,
    )


# -- B5 ----------------------------------------------------------------------


async def _b5(server: ServerProcess, sizes: Sizes) -> list[float]:
    lags: list[float] = []
    for _ in range(sizes.b5_syncs + 1):
        sid = server.create_session(_mounts(1))
        async with ContextManager(sid, api_key=server.api_key, endpoint=server.endpoint) as cm:
            assert (await cm.info_async()).success  # the connection is open before
            result = await cm.sync(**_sync_args(0, retry_interval=B5_POLL_MS))
            returned = time.monotonic()
        assert result.success, result.error_message
        finals = [task["final_monotonic"] for task in server.tasks(sid)]
        if not finals or None in finals:
            raise RuntimeError(f"the emulator gave no final_monotonic for every task: {finals}")
        lags.append(returned - max(finals))
    return lags[1:]  # the first one warms up


def bench_b5(server: ServerProcess, sizes: Sizes) -> Row:
    """From the emulator marking the task final to ``await cm.sync()`` returning."""
    lags = asyncio.run(_b5(server, sizes))
    return _row(
        "B5",
        f"completion lag: last task final -> sync() returns (retry_interval={B5_POLL_MS})",
        _median_ms(lags),
        "ms",
        "<= 110",
        f"median of {len(lags)} syncs (tasks of {B5_TASK_DELAY * 1000:g} ms); "
        f"min {_ms(min(lags)):.1f}, max {_ms(max(lags)):.1f} ms",
        lags_ms=[_ms(lag) for lag in lags],
    )


# -- B6 ----------------------------------------------------------------------


def bench_b6(sizes: Sizes) -> Row:
    """Wall time of a fresh interpreter importing the SDK, against importing httpx."""
    commands = {
        "agb_context": [sys.executable, "-c", "import agb_context"],
        "httpx": [sys.executable, "-c", "import httpx"],
    }

    def run(name: str) -> float:
        start = time.perf_counter()
        subprocess.run(commands[name], cwd=ROOT, check=True)  # noqa: S603 - fixed arguments
        return time.perf_counter() - start

    for name in commands:
        run(name)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(sizes.b6_runs):
        for name in list(commands)[:: 1 if i % 2 else -1]:
            times[name].append(run(name))
    sdk_ms, httpx_ms = _median_ms(times["agb_context"]), _median_ms(times["httpx"])
    return _row(
        "B6",
        '`python -c "import agb_context"` wall / `python -c "import httpx"`',
        round(sdk_ms / httpx_ms, 3),
        "x",
        "<= 1.5",
        f"median {sdk_ms:.0f} ms vs {httpx_ms:.0f} ms over {sizes.b6_runs} interleaved runs",
        agb_context_ms=sdk_ms,
        httpx_ms=httpx_ms,
    )


# -- B8 ----------------------------------------------------------------------


def bench_b8(emulator: ServerProcess, bare: ServerProcess, sizes: Sizes) -> Row:
    """The emulator's ``GetContextInfo`` throughput against a bare JSON route."""
    sid = emulator.create_session(_mounts(1))
    with ContextManager(sid, api_key=emulator.api_key, endpoint=emulator.endpoint) as cm:
        assert cm.sync(**_sync_args(0, retry_interval=50)).result(30).success  # a task to report
    targets: dict[str, tuple[ServerProcess, str, dict[str, str]]] = {
        "emulator": (
            emulator,
            f"{emulator.endpoint}/sdk/GetContextInfo?sessionId={sid}",
            {"authorization": emulator.api_key, "Content-Type": "application/json"},
        ),
        "bare": (bare, f"{bare.endpoint}{bare.path}", {}),
    }
    busy: dict[str, list[float]] = {"server": [], "client": []}

    def measure(name: str, seconds: float) -> float:
        server, url, headers = targets[name]
        cpu, server_cpu, start = _cpu(), server.cpu_seconds(), time.perf_counter()
        rate = asyncio.run(throughput(url, headers, connections=B8_CLIENTS, duration=seconds))
        wall = time.perf_counter() - start
        busy["server"].append((server.cpu_seconds() - server_cpu) / wall)
        busy["client"].append((_cpu() - cpu) / wall)
        return rate

    for name in targets:
        measure(name, min(0.5, sizes.b8_seconds))
    rates: dict[str, list[float]] = {name: [] for name in targets}
    for i in range(sizes.b8_rounds):
        for name in list(targets)[:: 1 if i % 2 else -1]:
            rates[name].append(measure(name, sizes.b8_seconds))
    emu_rate, bare_rate = statistics.median(rates["emulator"]), statistics.median(rates["bare"])
    return _row(
        "B8",
        f"emulator GetContextInfo throughput at {B8_CLIENTS} concurrent clients / "
        "a bare JSON route on the same server stack",
        round(emu_rate / bare_rate, 3),
        "x",
        ">= 0.5",
        f"median {emu_rate:.0f} req/s vs {bare_rate:.0f} req/s "
        f"({sizes.b8_rounds} interleaved rounds of {sizes.b8_seconds:g} s); the server used "
        f"{statistics.median(busy['server']):.2f} of a core, the load generator "
        f"{statistics.median(busy['client']):.2f}",
        emulator_rps=round(emu_rate, 1),
        bare_rps=round(bare_rate, 1),
        emulator_rounds_rps=[round(r, 1) for r in rates["emulator"]],
        bare_rounds_rps=[round(r, 1) for r in rates["bare"]],
    )


# -- B9 ----------------------------------------------------------------------

B9_POLICIES = {"fixed": PollingPolicy.fixed(), "backoff": PollingPolicy.exponential()}
"""B9's two policies: the AGB SDK's 150 polls of 1.5 s, and 0.5 s growing x1.5 to 5 s."""


async def _b9(server: ServerProcess) -> dict[str, dict[str, float]]:
    """One sync per policy, side by side, each in a session of its own."""
    sessions = {name: server.create_session(_mounts(1)) for name in B9_POLICIES}
    managers = {
        name: ContextManager(sid, api_key=server.api_key, endpoint=server.endpoint)
        for name, sid in sessions.items()
    }

    async def one(name: str) -> float:
        result = await managers[name].sync(**_sync_args(0), polling=B9_POLICIES[name])
        returned = time.monotonic()
        if not result.success:
            raise RuntimeError(f"the {name} sync failed: {result.error_message}")
        return returned

    try:
        returned = dict(
            zip(B9_POLICIES, await asyncio.gather(*map(one, B9_POLICIES)), strict=True)
        )
    finally:
        await _close(managers)
    found: dict[str, dict[str, float]] = {}
    for name, sid in sessions.items():
        finals = [task["final_monotonic"] for task in server.tasks(sid)]
        if not finals or None in finals:
            raise RuntimeError(f"the emulator gave no final_monotonic for every task: {finals}")
        found[name] = {
            "requests": server.info_requests(sid),
            "lag": returned[name] - max(finals),
        }
    return found


def bench_b9(server: ServerProcess, sizes: Sizes) -> Row:
    """GetContextInfo requests and completion lag of a long sync, fixed against backoff polling."""
    found = asyncio.run(_b9(server))
    fixed, backoff = found["fixed"], found["backoff"]
    return _row(
        "B9",
        f"{sizes.b9_task_delay:g} s task: GetContextInfo requests, backoff / fixed polling",
        round(backoff["requests"] / fixed["requests"], 3),
        "x",
        "report",
        f"fixed (150 polls of 1.5 s): {fixed['requests']:g} requests, completion lag "
        f"{_ms(fixed['lag']):.0f} ms; backoff (0.5 s x1.5 to 5 s): {backoff['requests']:g} "
        f"requests, lag {_ms(backoff['lag']):.0f} ms. Both syncs ran side by side; the "
        "requests include the read made before each sync starts",
        fixed_requests=fixed["requests"],
        backoff_requests=backoff["requests"],
        fixed_lag_ms=_ms(fixed["lag"]),
        backoff_lag_ms=_ms(backoff["lag"]),
        task_delay_s=sizes.b9_task_delay,
    )


# -- B10 and B11: a context's files through presigned URLs -------------------


def _write_file(path: Path, mib: int) -> None:
    """A file of ``mib`` MiB (a random MiB over and over), written a MiB at a time."""
    block = os.urandom(MB)
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(block)


def _moved(result: Any, size: int) -> None:
    """Fail unless a `FileTransferResult` says ``size`` bytes moved."""
    if not result.success or result.size != size:
        raise RuntimeError(f"a transfer failed or moved {result.size} bytes: {result!r}")


def _raw_upload(raw: httpx.Client, url: str, source: Path) -> None:
    """``PUT`` the file to the URL with ``httpx`` alone: a generator body, sent chunked."""

    def chunks() -> Iterator[bytes]:
        with source.open("rb") as stream:
            while chunk := stream.read(RAW_CHUNK):
                yield chunk

    raw.put(url, content=chunks()).raise_for_status()


def _raw_download(raw: httpx.Client, url: str, target: Path) -> None:
    """``GET`` the URL into the file with ``httpx`` alone (``iter_bytes``)."""
    with raw.stream("GET", url) as response, target.open("wb") as out:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            out.write(chunk)


def bench_b10(server: ServerProcess, sizes: Sizes) -> Row:
    """Upload and download throughput of the SDK against raw ``httpx`` on the same URLs."""
    size = sizes.b10_mb * MB
    folder = Path(tempfile.mkdtemp(prefix="agb-bench-b10-"))
    try:
        source = folder / "source.bin"
        _write_file(source, sizes.b10_mb)
        with (
            ContextService(api_key=server.api_key, endpoint=server.endpoint) as service,
            httpx.Client(timeout=120) as raw,
        ):
            cid = service.create("b10").context_id
            _moved(service.upload_file(cid, source, "/b10/stored.bin"), size)
            put_url = service.get_file_upload_url(cid, "/b10/raw.bin").url
            get_url = service.get_file_download_url(cid, "/b10/stored.bin").url
            sdk_copy, raw_copy = folder / "sdk-copy.bin", folder / "raw-copy.bin"

            def check_copy(copy: Path) -> None:
                if copy.stat().st_size != size:
                    raise RuntimeError(f"{copy.name} has {copy.stat().st_size} bytes")
                copy.unlink()

            uploads: dict[str, Callable[[], None]] = {
                "sdk_up": lambda: _moved(service.upload_file(cid, source, "/b10/sdk.bin"), size),
                "raw_up": lambda: _raw_upload(raw, put_url, source),
            }
            downloads: dict[str, Callable[[], None]] = {
                "sdk_down": lambda: _moved(
                    service.download_file(cid, "/b10/stored.bin", sdk_copy), size
                ),
                "raw_down": lambda: _raw_download(raw, get_url, raw_copy),
            }
            copies = {"sdk_down": sdk_copy, "raw_down": raw_copy}
            times, cpus = _interleave(uploads, sizes.b10_rounds, after=check_copy, copies=copies)
            more = _interleave(downloads, sizes.b10_rounds, after=check_copy, copies=copies)
            times.update(more[0])
            cpus.update(more[1])
    finally:
        shutil.rmtree(folder)
    rate = {name: sizes.b10_mb / statistics.median(samples) for name, samples in times.items()}
    cpu = {
        name: statistics.median(samples) / sizes.b10_mb * 1024 for name, samples in cpus.items()
    }
    # Each round's raw time over its SDK time, the two measured back to back: a
    # machine whose speed drifts during the run moves both alike.
    up, down = (
        statistics.median(
            raw / sdk for sdk, raw in zip(times[f"sdk_{way}"], times[f"raw_{way}"], strict=True)
        )
        for way in ("up", "down")
    )
    return _row(
        "B10",
        f"{sizes.b10_mb} MiB upload and download: SDK throughput / raw httpx streaming "
        "the same presigned URL (the lower of the two)",
        round(min(up, down), 3),
        "x",
        ">= 0.95",
        f"upload {up:.2f}x, download {down:.2f}x: medians over {sizes.b10_rounds} rounds "
        "(after a warm-up) of each round's ratio, the SDK and raw transfer run back to back in "
        "alternating order (uploads first, then downloads; the disk's write-back done before "
        "each), the SDK's time including its URL request. Median throughput: "
        f"upload {rate['sdk_up']:.0f} vs {rate['raw_up']:.0f} MiB/s, download "
        f"{rate['sdk_down']:.0f} vs {rate['raw_down']:.0f} MiB/s. Client CPU per GiB: upload "
        f"{cpu['sdk_up']:.2f} vs {cpu['raw_up']:.2f} s, download {cpu['sdk_down']:.2f} vs "
        f"{cpu['raw_down']:.2f} s",
        upload_ratio=round(up, 3),
        download_ratio=round(down, 3),
        mib=sizes.b10_mb,
        rounds=sizes.b10_rounds,
        mib_per_s={name: round(value, 1) for name, value in rate.items()},
        cpu_s_per_gib={name: round(value, 3) for name, value in cpu.items()},
        times_s={name: [round(t, 3) for t in samples] for name, samples in times.items()},
    )


def _interleave(
    jobs: dict[str, Callable[[], None]],
    rounds: int,
    *,
    after: Callable[[Path], None],
    copies: dict[str, Path],
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each job: one warm-up each, then ``rounds`` rounds, the
    order of the jobs reversed every other round; ``after(copy)`` follows the jobs
    that write a copy.

    Each job starts with the disk's write-back done (``os.sync``), so that no job
    pays for the pages a previous one left to write.
    """
    times: dict[str, list[float]] = {name: [] for name in jobs}
    cpus: dict[str, list[float]] = {name: [] for name in jobs}
    for i in range(rounds + 1):
        for name in list(jobs)[:: 1 if i % 2 else -1]:
            os.sync()
            gc.collect()
            cpu, start = time.process_time(), time.perf_counter()
            jobs[name]()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            if name in copies:
                after(copies[name])
            if i:  # the first round warms up
                times[name].append(wall)
                cpus[name].append(cpu)
    return times, cpus


def _rss_added(job: Callable[[], Any]) -> tuple[Any, int, int]:
    """``job()``'s result, resident memory before it and at its peak (KB).

    The peak is the larger of a 2 ms sampler's and the kernel's high-water mark
    (``VmHWM``, reset before the job where ``/proc/self/clear_refs`` allows).
    """
    gc.collect()
    before = _proc_status("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        exact = True
    except OSError:
        exact = False
    with Sampler("VmRSS") as rss:
        result = job()
    peak = max(before, rss.peak, _proc_status("VmHWM") if exact else 0)
    return result, before, peak


def worker_b11(job: dict[str, Any]) -> dict[str, Any]:
    """A big upload, then its download, through the SDK; resident memory added by each."""
    cid, mib = str(job["context_id"]), int(job["mib"])
    folder = Path(tempfile.mkdtemp(prefix="agb-bench-b11-"))
    try:
        small, source, copy = folder / "small.bin", folder / "source.bin", folder / "copy.bin"
        _write_file(small, 1)
        _write_file(source, mib)
        with ContextService() as service:
            # the same calls on a small file first: modules, clients and threads are made
            _moved(service.upload_file(cid, small, "/b11/small.bin"), MB)
            _moved(service.download_file(cid, "/b11/small.bin", folder / "small-copy.bin"), MB)
            up, up_before, up_peak = _rss_added(
                lambda: service.upload_file(cid, source, "/b11/big.bin")
            )
            _moved(up, mib * MB)
            source.unlink()
            down, down_before, down_peak = _rss_added(
                lambda: service.download_file(cid, "/b11/big.bin", copy)
            )
            _moved(down, mib * MB)
            copy_size = copy.stat().st_size
            service.delete_file(cid, "/b11/big.bin")
    finally:
        shutil.rmtree(folder)
    return {
        "upload_rss_before_kb": up_before,
        "upload_rss_peak_kb": up_peak,
        "download_rss_before_kb": down_before,
        "download_rss_peak_kb": down_peak,
        "uploaded": up.size,
        "downloaded": down.size,
        "copy_size": copy_size,
    }


def bench_b11(server: ServerProcess, sizes: Sizes) -> Row:
    """Peak resident memory added by a big upload and a big download, in a fresh process."""
    with ContextService(api_key=server.api_key, endpoint=server.endpoint) as service:
        cid = service.create("b11").context_id
    found = _run_worker("b11", server, {"context_id": cid, "mib": sizes.b11_mb}, timeout=900)
    up = (found["upload_rss_peak_kb"] - found["upload_rss_before_kb"]) / 1024
    down = (found["download_rss_peak_kb"] - found["download_rss_before_kb"]) / 1024
    size = sizes.b11_mb * MB
    ok = found["uploaded"] == found["downloaded"] == found["copy_size"] == size
    return _row(
        "B11",
        f"peak RSS added by an upload and a download of {_mib_name(sizes.b11_mb)} "
        "through the SDK (the larger of the two)",
        round(max(up, down), 1),
        "MB",
        "<= 32",
        f"upload +{up:.1f} MB (VmRSS {found['upload_rss_before_kb'] / 1024:.1f} MB before), "
        f"download +{down:.1f} MB ({found['download_rss_before_kb'] / 1024:.1f} MB before); "
        "a fresh process, warmed by a 1 MiB transfer each way; the peak is VmHWM reset "
        "before each transfer, and a 2 ms sampler",
        ok=ok,
        mib=sizes.b11_mb,
        upload_added_mb=round(up, 1),
        download_added_mb=round(down, 1),
        **found,
    )


def _mib_name(mib: int) -> str:
    return f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"


# -- the run -----------------------------------------------------------------

# -- B12 ----------------------------------------------------------------------


async def _b12(plan: Plan, owner: str) -> dict[str, Any]:
    [(sid, mount)] = plan
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    if owner == "manager":
        async with ContextManager(sid) as cm:
            succeeded = (await cm.info_async(context_id=f"ctx-{mount}")).success
    else:
        async with ContextService() as service:
            succeeded = (await service.list_async()).success
    wall = time.perf_counter() - start
    await asyncio.sleep(2 * TICK)  # the step after the last one measured
    ticker.stop()
    await ticking
    return {
        "stall_ms": _ms(ticker.worst),
        "busy_stall_ms": _ms(ticker.worst_busy),
        "wall_ms": _ms(wall),
        "succeeded": succeeded,
    }


def worker_b12(plan: Plan) -> dict[str, Any]:
    """A manager's first call on a fresh loop, in a fresh interpreter: the longest stall."""
    return asyncio.run(_b12(plan, "manager"))


def worker_b12s(plan: Plan) -> dict[str, Any]:
    """`worker_b12` for a `ContextService` (its first ``list_async()``)."""
    return asyncio.run(_b12(plan, "service"))


def bench_b12(server: ServerProcess, sizes: Sizes) -> Row:
    """The longest loop stall of making a manager or a service on a loop and its first call."""
    runs = [_worker("b12", server, 1) for _ in range(sizes.b12_runs)]
    service_runs = [_worker("b12s", server, 1) for _ in range(sizes.b12_runs)]
    stalls = [run["stall_ms"] for run in runs]
    busy = [run["busy_stall_ms"] for run in runs]
    service_stalls = [run["stall_ms"] for run in service_runs]
    return _row(
        "B12",
        "first call on a fresh loop (`async with ContextManager(...)`, `await "
        "info_async()`; the same with `ContextService` and `list_async()`): longest stall "
        f"({TICK * 1000:g} ms ticker), the larger of the two",
        max(statistics.median(stalls), statistics.median(service_stalls)),
        "ms",
        "<= 20",
        f"medians over {len(runs)} fresh interpreters each (`import agb_context` before the "
        f"loop starts). Manager: median {statistics.median(stalls):.1f} ms, range "
        f"{min(stalls):.1f}-{max(stalls):.1f} ms; counting only time the loop's thread was "
        f"on a CPU: median {statistics.median(busy):.1f} ms; the first call took "
        f"{statistics.median(run['wall_ms'] for run in runs):.0f} ms (median). Service: "
        f"median {statistics.median(service_stalls):.1f} ms, range "
        f"{min(service_stalls):.1f}-{max(service_stalls):.1f} ms",
        ok=all(run["succeeded"] for run in runs + service_runs),
        runs=len(runs),
        succeeded=sum(bool(run["succeeded"]) for run in runs),
        stalls_ms=stalls,
        busy_stalls_ms=busy,
        service_stalls_ms=service_stalls,
        service_succeeded=sum(bool(run["succeeded"]) for run in service_runs),
    )


ROW_IDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12")


def run(sizes: Sizes, only: set[str], log: Callable[[str], None]) -> list[Row]:
    """Measure the rows in ``only``, in the order of `ROW_IDS`."""
    rows: dict[str, Row] = {}
    if "B6" in only:  # first, before any server competes for the CPU
        log("B6: import time")
        rows["B6"] = bench_b6(sizes)
    wanted = {
        "main": only & {"B1", "B2", "B3", "B4", "B7", "B12"},
        "b5": only & {"B5"},
        "b8": only & {"B8"},
        "b9": only & {"B9"},
        "files": only & {"B10", "B11"},
    }
    servers: dict[str, ServerProcess] = {}
    try:
        if wanted["main"]:
            servers["main"] = ServerProcess("emulator", task_delay=TASK_DELAY)
        if wanted["b5"]:
            servers["b5"] = ServerProcess("emulator", task_delay=B5_TASK_DELAY)
        if wanted["b8"]:
            servers["b8"] = ServerProcess("emulator")
            servers["bare"] = ServerProcess("bare")
        if wanted["b9"]:
            servers["b9"] = ServerProcess("emulator", task_delay=sizes.b9_task_delay)
        if wanted["files"]:
            servers["files"] = ServerProcess("emulator")
        for server in servers.values():
            server.wait_ready()
        if "B1" in only:
            log("B1: info() latency")
            rows["B1"] = bench_b1(servers["main"], sizes)
        if only & {"B2", "B4"}:
            log("B2/B4: concurrent awaited syncs")
            rows["B2"], rows["B4"] = bench_b2_b4(servers["main"], sizes)
        if "B3" in only:
            log("B3: callback syncs from plain code")
            rows["B3"] = bench_b3(servers["main"], sizes)
        if "B5" in only:
            log("B5: completion lag")
            rows["B5"] = bench_b5(servers["b5"], sizes)
        if "B7" in only:
            log("B7: memory per in-flight sync")
            rows["B7"] = bench_b7(servers["main"], sizes)
        if "B8" in only:
            log("B8: emulator throughput")
            rows["B8"] = bench_b8(servers["b8"], servers["bare"], sizes)
        if "B9" in only:
            log("B9: polling policies on a long task")
            rows["B9"] = bench_b9(servers["b9"], sizes)
        if "B10" in only:
            log("B10: file upload and download throughput")
            rows["B10"] = bench_b10(servers["files"], sizes)
        if "B11" in only:
            log("B11: memory of a big upload and download")
            rows["B11"] = bench_b11(servers["files"], sizes)
        if "B12" in only:
            log("B12: the first call's stall")
            rows["B12"] = bench_b12(servers["main"], sizes)
    finally:
        for server in servers.values():
            server.close()
    return [rows[row_id] for row_id in ROW_IDS if row_id in rows]


def table(rows: list[Row]) -> str:
    """The rows as a text table, with one note per row under it."""
    header = ("id", "figure", "measured", "target", "result")
    cells = [header] + [(r.id, r.figure, r.measured, r.target, r.status) for r in rows]
    widths = [max(len(line[col]) for line in cells) for col in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines += [f"{r.id}: {r.note}" for r in rows]
    return "\n".join(lines)


def report(rows: list[Row], mode: str, seconds: float) -> dict[str, Any]:
    """The JSON document of a run."""
    return {
        "mode": mode,
        "seconds": round(seconds, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "rows": [{**asdict(row), "measured": row.measured, "status": row.status} for row in rows],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (for the tests)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write")
    parser.add_argument("--only", default=",".join(ROW_IDS), help="e.g. B1,B5")
    parser.add_argument(
        "--worker", choices=["b3", "b7", "b11", "b12", "b12s"], help=argparse.SUPPRESS
    )
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "b11":
        print(json.dumps(worker_b11(json.loads(args.plan))))
        return 0
    if args.worker:
        workers = {"b3": worker_b3, "b7": worker_b7, "b12": worker_b12, "b12s": worker_b12s}
        worker = workers[args.worker]
        plan = [(sid, int(i)) for sid, i in json.loads(args.plan)]
        print(json.dumps(worker(plan)))
        return 0
    only = {part.strip().upper() for part in args.only.split(",") if part.strip()}
    if not only <= set(ROW_IDS):
        parser.error(f"--only takes ids among {', '.join(ROW_IDS)}")
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    rows = run(QUICK if args.quick else FULL, only, lambda text: print(text, file=sys.stderr))
    seconds = time.perf_counter() - started
    print(table(rows))
    print(f"\n{mode} run, {seconds:.0f} s; figures written to {args.json}")
    args.json.write_text(json.dumps(report(rows, mode, seconds), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
