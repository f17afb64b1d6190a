"""Connections and event loops: a manager leaves no socket behind, whichever loops used it."""

from __future__ import annotations

import asyncio
import gc
import os
from pathlib import Path

import pytest
from support import wait_until

from agb_context import ContextManager, PollingPolicy
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

FD_DIR = Path("/proc/self/fd")
needs_fd_count = pytest.mark.skipif(not FD_DIR.is_dir(), reason="counts /proc/self/fd")


def _open_fds() -> int:
    return len(os.listdir(FD_DIR))


def _settles_at(baseline: int, slack: int = 2) -> bool:
    """Whether open descriptors come back near ``baseline`` (the server side closes a moment
    after the client side)."""
    try:
        wait_until(lambda: _open_fds() <= baseline + slack, timeout=2.0, what="sockets to close")
    except AssertionError:
        return False
    return True


@needs_fd_count
def test_a_manager_per_event_loop_closed_with_async_with_leaves_no_socket(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    async def once() -> None:
        async with ContextManager(
            session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as cm:
            assert (await cm.info_async()).success
            assert (await cm.sync(polling=PollingPolicy(interval=0.01, grace=0.05))).success

    asyncio.run(once())
    gc.collect()
    baseline = _open_fds()
    for _ in range(10):
        asyncio.run(once())
    gc.collect()
    assert _settles_at(baseline), f"{_open_fds() - baseline} descriptors more"


@needs_fd_count
def test_one_manager_used_from_many_event_loops_keeps_no_socket_of_finished_loops(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    cm = agb_context_manager(session_id)

    async def once() -> None:
        assert (await cm.info_async()).success

    asyncio.run(once())
    gc.collect()
    baseline = _open_fds()
    for _ in range(10):
        asyncio.run(once())
    gc.collect()
    assert _settles_at(baseline), f"{_open_fds() - baseline} descriptors more after 10 loops"
