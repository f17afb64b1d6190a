"""Lifetimes: a manager left unclosed, closing while syncs run, callers on other async
libraries.

The warning checks run in fresh interpreters: warnings at collection time must
not depend on what other tests left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from support import CONTEXT_ID, MOUNT, run_python

from agb_context import ContextManager, SyncOperation
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

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
    done = run_python(
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
    done = run_python(
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
    done = run_python(
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
    done = run_python(
        "-c", code, session_id, agb_clean_emulator.endpoint, agb_clean_emulator.api_key
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_awaiting_a_sync_under_trio_says_what_to_do_instead(
    agb_clean_emulator: Emulator, cm: ContextManager
) -> None:
    """Awaiting needs asyncio; under trio the error says how to wait, and the sync goes on."""
    trio = pytest.importorskip("trio")
    started: list[SyncOperation] = []

    async def awaited() -> object:
        started.append(cm.sync(CONTEXT_ID, MOUNT, retry_interval=20))
        return await started[0]

    async def watched() -> object:
        return [progress async for progress in started[0].watch()]

    for main, what in ((awaited, "awaiting an operation"), (watched, r"operation\.watch\(\)")):
        with pytest.raises(RuntimeError, match=f"^{what} .*trio.to_thread.run_sync"):
            trio.run(main)
    assert started[0].result(timeout=30).success


def _blocked_signals(thread: threading.Thread) -> set[int]:
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    mask = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", status, re.M).group(1), 16)  # type: ignore[union-attr]
    return {number for number in range(1, 65) if mask >> (number - 1) & 1}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_the_sdk_threads_leave_ctrl_c_to_the_main_thread(
    agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    assert agb_context_manager(session_id).sync(CONTEXT_ID, MOUNT).result(timeout=30).success
    loop_thread = next(t for t in threading.enumerate() if t.name == "agb-context-loop")
    # A signal the SDK's thread took would not wake a main thread blocked in result().
    assert {signal.SIGINT, signal.SIGTERM} <= _blocked_signals(loop_thread)
    assert signal.SIGINT not in _blocked_signals(threading.main_thread())


CTRL_C_WHILE_WAITING = """
import sys
from agb_context import ContextManager

session, endpoint, key = sys.argv[1:4]
cm = ContextManager(session, api_key=key, endpoint=endpoint)
operation = cm.sync()
try:
    print("waiting", flush=True)
    operation.result()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    cm.close()
"""


def test_ctrl_c_interrupts_a_blocking_wait_for_a_sync(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    agb_clean_emulator.faults.hang_tasks(count=None, session_id=session_id)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CTRL_C_WHILE_WAITING,
            session_id,
            agb_clean_emulator.endpoint,
            agb_clean_emulator.api_key,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "waiting"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert out.strip() == "interrupted", err
    assert child.returncode == 0, err


RETRYING_AT_EXIT = """
import logging, sys, threading
from agb_context import ContextManager

session, endpoint, key = sys.argv[1:4]
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
cm = ContextManager(session, api_key=key, endpoint=endpoint)


def retry(success: bool) -> None:
    print("called back", success, flush=True)
    try:
        cm.sync(callback=retry, retry_interval=20)
    except RuntimeError as exc:
        print("refused:", exc, flush=True)
    else:
        print("started", flush=True)


operation = cm.sync(callback=retry, retry_interval=20)
print("started", flush=True)
accepted = threading.Event()
operation.add_progress_callback(lambda p: p.status == "running" and accepted.set())
assert operation.status() == "running" or accepted.wait(30), "the sync was not accepted"
"""


def test_a_callback_retrying_at_exit_is_refused_not_left_uncalled(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    """At exit the running syncs are cancelled; a sync their callbacks start then would
    never be called back (the background loop stops next): it is refused at once."""
    agb_clean_emulator.faults.hang_tasks(count=None, session_id=session_id)
    done = run_python(
        "-c", RETRYING_AT_EXIT, session_id, agb_clean_emulator.endpoint, agb_clean_emulator.api_key
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.count("started") == sum(line.startswith("called back") for line in lines)
    assert lines[:2] == ["started", "called back False"]
    assert lines[2].startswith("refused: cannot start an operation after the interpreter's exit")
