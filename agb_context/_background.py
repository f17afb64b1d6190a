"""The one background event-loop thread that runs syncs started from plain code."""

from __future__ import annotations

import asyncio
import atexit
import threading

from agb_context._threads import leave_signals_to_main_thread

THREAD_NAME = "agb-context-loop"

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_inherited: list[asyncio.AbstractEventLoop] = []


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use; one thread serves every `ContextManager`."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_run, args=(loop, ready), name=THREAD_NAME, daemon=True
            )
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


def is_background_thread() -> bool:
    """Whether the caller runs on the background loop's thread."""
    return threading.current_thread() is _thread


def stop_background_loop() -> None:
    """Stop the shared loop and join its thread (done at interpreter exit).

    Syncs still running on it are cancelled first, so their callbacks are
    called (with ``False``). The loop starts again on next use.
    """
    global _loop, _thread
    with _lock:
        loop, thread, _loop, _thread = _loop, _thread, None, None
    if loop is None or thread is None:
        return
    if thread.is_alive():
        loop.call_soon_threadsafe(_cancel_all_and_stop, loop)
        thread.join()
    loop.close()


def forget_after_fork() -> None:
    """In a forked child: the parent's loop thread does not exist here; start afresh on
    next use. The parent's loop is kept, unused, so that nothing here touches its files."""
    global _lock, _loop, _thread
    if _loop is not None:
        _inherited.append(_loop)
    _lock, _loop, _thread = threading.Lock(), None, None


def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    leave_signals_to_main_thread()
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def _cancel_all_and_stop(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if not tasks:
        loop.stop()
        return
    gathered = asyncio.gather(*tasks, return_exceptions=True)
    gathered.add_done_callback(lambda _: loop.stop())


atexit.register(stop_background_loop)
