"""How long sync tasks take: one delay for every session, and per-session ones."""

from __future__ import annotations

import math
import threading

from agb_context.emulator._validation import InvalidValue

MAX_TASK_DELAY = 3600.0


def task_delay(value: object, name: str = "task_delay") -> float:
    """``value`` checked as a task delay in seconds (0 to 3600)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_TASK_DELAY
    ):
        raise InvalidValue(
            f"{name} must be a number of seconds from 0 to {MAX_TASK_DELAY:g}, not {value!r}"
        )
    return float(value)


class TaskSpeeds:
    """The least time a sync task takes, settable from any thread at any time.

    A change applies to tasks created from then on.
    """

    def __init__(self, default: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._initial = task_delay(default)
        self._default = self._initial
        self._sessions: dict[str, float] = {}

    def set(self, seconds: float, session_id: str | None = None) -> None:
        """Make tasks take ``seconds``: those of ``session_id``, or of every session
        without a delay of its own."""
        delay = task_delay(seconds, "seconds")
        with self._lock:
            if session_id is None:
                self._default = delay
            else:
                self._sessions[session_id] = delay

    def delay_for(self, session_id: str) -> float:
        """The least time a new task of ``session_id`` takes, in seconds."""
        with self._lock:
            return self._sessions.get(session_id, self._default)

    def snapshot(self) -> tuple[float, dict[str, float]]:
        """The delay for every session, and the sessions with their own."""
        with self._lock:
            return self._default, dict(self._sessions)

    def reset(self) -> None:
        """Back to the delay given at construction, with no per-session ones."""
        with self._lock:
            self._default = self._initial
            self._sessions.clear()
