"""Many syncs at once: every one succeeds, and memory stays bounded.

The full load (1,000 concurrent syncs) is in the benchmarks; here a size that
runs in seconds. The emulator runs in a process of its own, so that
tracemalloc measures the SDK alone.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import subprocess
import sys
import tracemalloc
import weakref
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import SECRETS, Watch

from agb_context import ContextManager, ContextSyncResult, SyncOperation

LOAD_KEY = "load-test-key-3e9a"
SECRETS.add(LOAD_KEY)
MOUNT = "/home/data"


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[str]:
    """An emulator in a process of its own (``python -m agb_context.emulator``); its URL."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agb_context.emulator",
            "--port",
            "0",
            "--api-key",
            LOAD_KEY,
            "--data-dir",
            str(tmp_path / "data"),
            "--quiet",  # nothing reads its stderr while the load runs
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        announced = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:[0-9]+", announced)
        assert found, announced
        yield found.group()
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_hundreds_of_concurrent_awaited_syncs_succeed_in_bounded_memory(
    emulator_process: str, watch: Watch
) -> None:
    count, per_sync_limit = 200, 256 * 1024  # about 45 KiB a sync at the peak
    created = httpx.post(
        f"{emulator_process}/emulator/sessions",
        json={"mounts": {"ctx-load": MOUNT}},
        headers={"authorization": LOAD_KEY},
        timeout=10,
    )
    sid = created.json()["sessionId"]
    Path(created.json()["mounts"][0]["localPath"], "f.txt").write_text("load")

    async def batch(size: int) -> tuple[list[ContextSyncResult], list[weakref.ref[SyncOperation]]]:
        watch.watch_running_loop()
        async with ContextManager(sid, api_key=LOAD_KEY, endpoint=emulator_process) as cm:
            operations = [cm.sync(retry_interval=100, max_retries=1000) for _ in range(size)]
            refs = [weakref.ref(operation) for operation in operations]
            results = list(await asyncio.gather(*operations))
            assert cm._operations._running == set()
            del operations
        return results, refs

    asyncio.run(batch(1))  # imports and first-use caches are not what is measured
    gc.collect()
    # The suite keeps every log record of a test; httpcore's request traces would be most
    # of what is measured. The SDK's own records stay on (and are checked for keys).
    quiet = [logging.getLogger(name) for name in ("httpcore", "httpx")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        results, refs = asyncio.run(batch(count))
        peak = tracemalloc.get_traced_memory()[1] - baseline
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)

    failures = [r.error_message for r in results if not r.success]
    assert failures == []
    assert len({r.request_id for r in results}) == count
    assert all([t.status for t in r.context_status_data] == ["Success"] for r in results)
    assert peak / count < per_sync_limit, f"{peak / count / 1024:.0f} KiB per sync at the peak"
    assert [ref for ref in refs if ref() is not None] == [], "operations outlived their sync"
    # What stays is the suite's own record of the SDK's log lines (about 4 KiB a sync).
    assert retained / count < 16 * 1024, f"{retained / count / 1024:.1f} KiB kept per sync"
    watch.assert_clean()
