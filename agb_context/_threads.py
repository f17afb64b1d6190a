"""The threads the SDK starts leave the process's signals (Ctrl-C) to the main thread."""

from __future__ import annotations

import signal

_SIGNALS = frozenset(
    sig for sig in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if sig
)


def leave_signals_to_main_thread() -> None:
    """Block SIGINT and SIGTERM in the calling thread, where the platform can.

    The kernel then delivers them to the main thread. A main thread blocked in
    ``operation.result()`` only wakes to raise `KeyboardInterrupt` if the
    signal reaches it; one taken by a thread of the SDK would leave Ctrl-C
    unanswered until the operation ends. Threads this one starts inherit it.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
