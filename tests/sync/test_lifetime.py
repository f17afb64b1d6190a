"""Lifetimes: fork, a manager left unclosed, closing while syncs run, callers on other
async libraries.

The fork and warning checks run in fresh interpreters: a fork copies the whole
process, and warnings at collection time must not depend on what other tests
left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from support import CONTEXT_ID, MOUNT

from agb_context import ContextManager, SyncOperation
from agb_context.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent.parent

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


def _python(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_fork_then_calls_in_both_processes(agb_clean_emulator: Emulator, session_id: str) -> None:
    # one mount named: a sync of every mount would wait for the grace each round
    done = _python(
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


SLOW_STEP = re.compile(r"Executing <.*> took \d+\.\d+ seconds$")
"""asyncio's debug-mode line for a slow loop step."""

CLOSED_PROPERLY = """
import asyncio, sys
from agb_context import ContextManager, ContextService

session, endpoint, key = sys.argv[1:4]
with ContextManager(session, api_key=key, endpoint=endpoint) as cm:
    assert cm.info().success
    assert cm.sync(retry_interval=20).result(30).success


async def main() -> None:
    async with ContextManager(session, api_key=key, endpoint=endpoint) as cm:
        assert (await cm.info_async()).success
        assert (await cm.sync(retry_interval=20)).success
    async with ContextService(api_key=key, endpoint=endpoint) as service:
        assert (await service.list_async()).success


asyncio.run(main())
with ContextService(api_key=key, endpoint=endpoint) as service:
    assert service.list().success
print("ok")
"""


def test_nothing_warns_when_closed_properly(agb_clean_emulator: Emulator, session_id: str) -> None:
    done = _python(
        "-X",
        "dev",
        "-W",
        "error::ResourceWarning",
        "-c",
        CLOSED_PROPERLY,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    # -X dev also turns on asyncio's report of loop steps over 100 ms, which a
    # busy machine makes without any fault of the code: those lines are let through.
    warnings = [line for line in done.stderr.splitlines() if not SLOW_STEP.match(line)]
    assert warnings == []


UNCLOSED = """
import asyncio, gc, sys
from agb_context import ContextManager, ContextService

session, endpoint, key, style = sys.argv[1:5]
if style == "blocking":
    cm = ContextManager(session, api_key=key, endpoint=endpoint)
    assert cm.info().success
    del cm
    gc.collect()
elif style == "service":
    service = ContextService(api_key=key, endpoint=endpoint)
    assert service.list().success
    del service
    gc.collect()
else:
    async def main() -> None:
        cm = ContextManager(session, api_key=key, endpoint=endpoint)
        assert (await cm.info_async()).success
        del cm
        gc.collect()
        await asyncio.sleep(0)  # the collection's callback runs: it starts the close
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        await asyncio.gather(*others)  # the loop has closed the connection it was handed

    asyncio.run(main())
gc.collect()
print("ok")
"""


@pytest.mark.parametrize("style", ["blocking", "async", "service"])
def test_an_unclosed_manager_warns_once_naming_itself(
    agb_clean_emulator: Emulator, session_id: str, style: str
) -> None:
    done = _python(
        "-X",
        "dev",
        "-W",
        "always::ResourceWarning",
        "-c",
        UNCLOSED,
        session_id,
        agb_clean_emulator.endpoint,
        agb_clean_emulator.api_key,
        style,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if ": ResourceWarning:" in line]
    name = "ContextService(" if style == "service" else f"ContextManager(session_id={session_id!r}"
    assert len(warnings) == 1, done.stderr
    assert f"unclosed {name}" in warnings[0]
    assert "socket" not in done.stderr
    assert agb_clean_emulator.api_key not in done.stderr


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.timeout(180)
def test_closing_from_another_thread_while_syncs_run_only_cancels(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    """Syncs started from 8 threads (background loop and loops of their own) while
    another thread closes the manager: nothing is logged at ERROR, each waiting
    ``result()`` gets `CancelledError` or the result, each callback runs once."""
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        for _ in range(5):
            _close_during_syncs(agb_clean_emulator, session_id)
    finally:
        logging.getLogger().removeHandler(errors)
    assert [r.getMessage() for r in errors.records] == []


def _close_during_syncs(emu: Emulator, session_id: str) -> None:
    cm = ContextManager(session_id, api_key=emu.api_key, endpoint=emu.endpoint)
    calls: list[bool] = []
    lock = threading.Lock()
    operations: list[SyncOperation] = []
    started = threading.Barrier(9)

    def on_done(success: bool) -> None:
        with lock:
            calls.append(success)

    def from_plain_code() -> None:
        started.wait(10)
        for _ in range(5):
            try:
                operation = cm.sync(retry_interval=10, callback=on_done)
            except RuntimeError:  # closed before the call: nothing started
                return
            with lock:
                operations.append(operation)

    def on_a_loop_of_its_own() -> None:
        async def main() -> None:
            started.wait(10)
            for _ in range(5):
                try:
                    operation = cm.sync(retry_interval=10, callback=on_done)
                except RuntimeError:
                    return
                with lock:
                    operations.append(operation)
            for operation in list(operations):
                if operation._loop is asyncio.get_running_loop():
                    with contextlib.suppress(asyncio.CancelledError):
                        await operation

        asyncio.run(main())

    threads = [threading.Thread(target=from_plain_code) for _ in range(4)]
    threads += [threading.Thread(target=on_a_loop_of_its_own) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait(10)
    cm.close()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    for operation in operations:
        with contextlib.suppress(concurrent.futures.CancelledError):
            operation.result(30)
    with lock:
        assert len(calls) == len(operations)


ANYIO_CALLBACK = """
import sys, threading
import anyio
from agb_context import ContextManager

session, endpoint, key = sys.argv[1:4]


async def main() -> None:
    done = threading.Event()
    seen: list[bool] = []

    def on_done(success: bool) -> None:
        seen.append(success)
        done.set()

    with ContextManager(session, api_key=key, endpoint=endpoint) as cm:
        cm.sync(retry_interval=20, callback=on_done)
        assert await anyio.to_thread.run_sync(done.wait, 30)
    assert seen == [True], seen


anyio.run(main, backend="trio")
print("ok")
"""


def test_a_callback_sync_from_trio_through_anyio(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    pytest.importorskip("trio")
    done = _python(
        "-c", ANYIO_CALLBACK, session_id, agb_clean_emulator.endpoint, agb_clean_emulator.api_key
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "ERROR" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_blocking_call_from_trio_works(agb_clean_emulator: Emulator, session_id: str) -> None:
    pytest.importorskip("trio")
    code = textwrap.dedent(
        """
        import sys
        import trio
        from agb_context import ContextManager

        async def main() -> None:
            with ContextManager(sys.argv[1], api_key=sys.argv[3], endpoint=sys.argv[2]) as cm:
                assert (await trio.to_thread.run_sync(cm.info)).success

        trio.run(main)
        print("ok")
        """
    )
    done = _python("-c", code, session_id, agb_clean_emulator.endpoint, agb_clean_emulator.api_key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


FIRST_CALL = """
import asyncio, sys, threading
from agb_context import ContextManager

importers = {}


class Recorder:
    # Notes which thread imports each module of the HTTP stack; finds nothing itself.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("httpcore", "anyio"):
            importers.setdefault(name, threading.current_thread().name)
        return None


session, endpoint, key = sys.argv[1:4]
cm = ContextManager(session, api_key=key, endpoint=endpoint)
assert "httpcore" not in sys.modules
sys.meta_path.insert(0, Recorder())


async def main() -> None:
    assert (await cm.info_async()).success
    await cm.aclose()


asyncio.run(main())
on_loop = sorted(name for name, thread in importers.items() if thread == "MainThread")
assert importers, "nothing of the HTTP stack was imported"
assert not on_loop, on_loop
print("ok")
"""


def test_the_first_async_call_imports_off_the_event_loop(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    """What the first asyncio request needs is imported on a thread of its own (on the
    loop, those imports stall it for about 100 ms)."""
    done = _python(
        "-c", FIRST_CALL, session_id, agb_clean_emulator.endpoint, agb_clean_emulator.api_key
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
