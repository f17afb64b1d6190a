"""Connections, event loops and processes: a manager leaves no socket behind, whichever
loops used it; it keeps working in both processes after a fork; the first async call
imports the HTTP stack off the loop.

The fork and import checks run in fresh interpreters: a fork copies the whole
process, and what is imported must not depend on what other tests imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import CONTEXT_ID, MOUNT, run_python, wait_until

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
        wait_until(lambda: _open_fds() <= baseline + slack, timeout=30.0, what="sockets to close")
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


def test_a_loop_that_ends_right_after_its_first_call_is_not_kept_alive(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    """A long-lived manager, and a loop that starts a callback sync and ends at once: the
    manager lets go of that loop's client (and so of the loop) when the loop ends."""
    cm = agb_context_manager(session_id)

    async def warm() -> None:
        assert (await cm.info_async()).success  # the HTTP stack is imported: no wait below

    asyncio.run(warm())
    calls: list[bool] = []
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def fire_and_forget() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        cm.sync(CONTEXT_ID, MOUNT, callback=calls.append)

    for _ in range(3):
        asyncio.run(fire_and_forget())
    gc.collect()
    assert calls == [False] * 3  # each ended with its loop
    assert [ref() for ref in loops] == [None] * 3, "the manager keeps ended loops alive"


def test_a_manager_closed_between_two_runs_of_its_loop_has_its_connections_closed(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    """Closed while its loop is not running (between two runs of an `asyncio.Runner`):
    its client is closed when the loop ends, not left open until collected."""
    with asyncio.Runner() as runner:
        with ContextManager(
            session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as cm:
            assert runner.run(cm.info_async()).success
            client = runner.run(cm._async_client()).get_async_httpx_client()
        assert runner.run(asyncio.sleep(0)) is None  # the loop runs on after the close
    assert client.is_closed


FORK_SCRIPT = """
import os, signal, sys
from agb_context import ContextManager

ROUNDS, CALLS = 20, 100
session, endpoint, key, context, mount = sys.argv[1:6]
cm = ContextManager(session, api_key=key, endpoint=endpoint)
# A pooled connection, a background loop and its client exist before each fork.
assert cm.info().success
assert cm.sync(context, mount, retry_interval=20).result(30).success


def calls() -> int:
    return sum(not cm.info().success for _ in range(CALLS))


for round in range(ROUNDS):
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)  # a child that hangs is killed, and its status says so
        failed = calls()
        synced = cm.sync(context, mount, retry_interval=20).result(30).success
        os._exit(0 if failed == 0 and synced else 1)
    failed = calls()
    _, status = os.waitpid(pid, 0)
    if failed or os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"round {round}: {failed} failed calls in the parent, child status {status}")
assert cm.sync(context, mount, retry_interval=20).result(30).success
cm.close()
print("ok")
"""


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_fork_then_calls_in_both_processes(agb_clean_emulator: Emulator, session_id: str) -> None:
    # one mount named: a sync of every mount would wait for the grace each round
    done = run_python(
        "-c",
        FORK_SCRIPT,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
        CONTEXT_ID,
        MOUNT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok"


FORK_DURING_A_SYNC = """
import os, sys, time
from agb_context import ContextManager

session, endpoint, key, context, mount, child = sys.argv[1:7]
parent = os.getpid()
cm = ContextManager(session, api_key=key, endpoint=endpoint)


def on_done(success: bool) -> None:
    where = "parent" if os.getpid() == parent else "child"
    print(f"callback({success}) in the {where}", flush=True)


operation = cm.sync(context, mount, retry_interval=20, max_retries=100_000, callback=on_done)
deadline = time.monotonic() + 60
while operation.request_id is None and time.monotonic() < deadline:
    time.sleep(0.01)
assert operation.request_id, "the sync was not accepted"
pid = os.fork()
if pid == 0:
    # The child's copy of the parent's sync is the parent's: neither the child's
    # close nor its exit handlers may end it, or call its callback here; waiting for
    # it here is refused (it cannot end here).
    if child == "closes":
        cm.close()
    elif child == "waits":
        try:
            operation.result(timeout=30)
        except RuntimeError as exc:
            sys.exit(0 if "started before os.fork()" in str(exc) else repr(exc))
        sys.exit("result() returned in the child")
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert operation.running()
assert operation.cancel()
cm.close()
print("parent done", flush=True)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.parametrize("child", ["closes", "exits", "waits"])
def test_a_child_forked_during_a_sync_leaves_the_parents_sync_alone(
    agb_clean_emulator: Emulator, session_id: str, child: str
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None, session_id=session_id)
    done = run_python(
        "-c",
        FORK_DURING_A_SYNC,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
        CONTEXT_ID,
        MOUNT,
        child,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["callback(False) in the parent", "parent done"], (
        done.stdout + done.stderr
    )
    assert "cancelling" not in done.stderr


FIRST_CALL = """
import asyncio, sys, threading
from agb_context import ContextManager, ContextService

importers = {}


class Recorder:
    # Notes which thread imports each module of the HTTP stack; finds nothing itself.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("httpcore", "anyio", "agb_context_api"):
            importers.setdefault(name, threading.current_thread().name)
        return None


owner, session, endpoint, key = sys.argv[1:5]
assert "httpcore" not in sys.modules
sys.meta_path.insert(0, Recorder())


async def main() -> None:
    # made on the loop: making one imports nothing heavy either
    if owner == "manager":
        async with ContextManager(session, api_key=key, endpoint=endpoint) as cm:
            assert (await cm.info_async()).success
    else:
        async with ContextService(api_key=key, endpoint=endpoint) as service:
            assert (await service.list_async()).success


asyncio.run(main())
on_loop = sorted(name for name, thread in importers.items() if thread == "MainThread")
assert importers, "nothing of the HTTP stack was imported"
assert not on_loop, on_loop
print("ok")
"""


@pytest.mark.parametrize("owner", ["manager", "service"])
def test_the_first_async_call_imports_off_the_event_loop(
    agb_clean_emulator: Emulator, session_id: str, owner: str
) -> None:
    """What the first asyncio request needs is imported on a thread of its own (on the
    loop, those imports stall it for 40 to 100 ms)."""
    done = run_python(
        "-c",
        FIRST_CALL,
        owner,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@contextlib.contextmanager
def sdk_garbage() -> Iterator[list[str]]:
    """The SDK's and httpx's objects that the code in the block leaves in reference
    cycles (other objects, such as an in-process emulator's, are left out)."""
    found: list[str] = []
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what any collection finds is kept, to be looked at
    try:
        yield found
        gc.collect()
        found += [
            type(obj).__qualname__
            for obj in gc.garbage
            if type(obj).__module__.startswith(("agb_context.", "httpx", "httpcore"))
            and not type(obj).__module__.startswith("agb_context.emulator")
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_finished_calls_leave_no_reference_cycles(cm: ContextManager) -> None:
    """What a finished call made is freed at once, not left to the garbage collector:
    in a burst of syncs, cycles set off full collections that stall the event loop."""
    fast = PollingPolicy(interval=0.01, grace=0.05)

    async def awaited() -> None:
        assert (await cm.info_async()).success
        assert (await cm.sync(CONTEXT_ID, MOUNT, polling=fast)).success

    asyncio.run(awaited())  # clients and connections made before counting
    assert cm.sync(CONTEXT_ID, MOUNT, polling=fast).result(30).success
    with sdk_garbage() as garbage:
        asyncio.run(awaited())
        assert cm.info().success
        assert cm.sync(CONTEXT_ID, MOUNT, polling=fast).result(30).success
        called: list[bool] = []
        cm.sync(CONTEXT_ID, MOUNT, polling=fast, callback=called.append).wait(30)
        wait_until(lambda: called == [True], timeout=5.0, what="the callback")
    assert garbage == []


def test_closing_from_async_code_never_waits_for_another_busy_loop(
    agb_clean_emulator: Emulator, session_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A manager used on a loop of another thread, closed from async code: the closing
    of that loop's connections is left to it, the closing loop is not held up."""
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    cm = ContextManager(
        session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    )
    try:
        assert asyncio.run_coroutine_threadsafe(cm.info_async(), other).result(30).success
        client = cm._clients._async_clients[other].get_async_httpx_client()  # to watch it
        busy, release = threading.Event(), threading.Event()

        def hold() -> None:
            busy.set()
            release.wait(60)

        other.call_soon_threadsafe(hold)
        assert busy.wait(30)
        asyncio.run(cm.aclose())
        assert not release.is_set()
        assert not client.is_closed, "the other loop has not run since"
        release.set()
        wait_until(lambda: client.is_closed, what="the other loop to close its connections")
        assert "could not close connections" not in caplog.text
    finally:
        release.set()
        other.call_soon_threadsafe(other.stop)
        thread.join(30)
        other.close()
