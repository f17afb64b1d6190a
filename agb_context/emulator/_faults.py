"""Fault injection: make the emulator misbehave on purpose, the way a cloud can.

Every fault is off until asked for. Request faults of an endpoint queue up in
the order they were asked for, and each request of that endpoint takes the
next one. Task faults apply to the sync tasks created after they were asked for.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping
from typing import Literal

import attrs

from agb_context.emulator._validation import InvalidValue

ENDPOINTS = (
    "SyncContext",
    "GetContextInfo",
    "ListContexts",
    "GetContext",
    "ModifyContext",
    "DeleteContext",
    "ClearContext",
)
"""The cloud endpoints faults can target."""

MAX_LATENCY = 600.0
MAX_RETRY_AFTER = 86400.0

RequestFaultKind = Literal["status", "success_false", "invalid_json", "drop", "malformed_status"]


@attrs.frozen(kw_only=True)
class RequestFault:
    """How to answer one request instead of handling it."""

    kind: RequestFaultKind
    status: int = 200
    retry_after: float | None = None


@attrs.frozen(kw_only=True)
class TaskPlan:
    """How a new sync task is to end."""

    hang: bool = False
    fail_message: str | None = None
    fail_copy_midway: bool = False


@attrs.define
class _Queued:
    fault: RequestFault | None
    """None: answer normally (`Faults.let_through`)."""
    remaining: int


class Faults:
    """The faults to inject, settable from any thread (``emulator.faults``).

    Endpoint names are those of the cloud routes (`ENDPOINTS`: ``"SyncContext"``,
    ``"GetContextInfo"``, ``"ListContexts"``...); any other name is a `ValueError`.
    Requests that fail authentication (401) never take a fault.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Queued]] = {name: deque() for name in ENDPOINTS}
        self._latencies: dict[str, float] = dict.fromkeys(ENDPOINTS, 0.0)
        self._task_failure: tuple[str, int | None] | None = None
        self._hang = False
        self._copy_failures = 0

    def fail_requests(
        self,
        endpoint: str,
        status: int = 500,
        count: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` requests of ``endpoint`` with HTTP ``status``.

        The body is the error envelope (``success: false``). ``retry_after``
        (seconds) adds a ``Retry-After`` header, written as an integer when it
        is a whole number.
        """
        name = _endpoint(endpoint)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise InvalidValue(
                f"status must be an HTTP error status from 400 to 599, not {status!r}"
            )
        if retry_after is not None:
            retry_after = _seconds("retry_after", retry_after, MAX_RETRY_AFTER)
        self._queue(
            name, RequestFault(kind="status", status=status, retry_after=retry_after), count
        )

    def respond_success_false(self, endpoint: str, count: int = 1) -> None:
        """Answer the next ``count`` requests with HTTP 200 but ``success: false``."""
        self._queue(_endpoint(endpoint), RequestFault(kind="success_false"), count)

    def invalid_json(self, endpoint: str, count: int = 1) -> None:
        """Answer the next ``count`` requests with HTTP 200 and a body that is not JSON."""
        self._queue(_endpoint(endpoint), RequestFault(kind="invalid_json"), count)

    def drop_connections(self, endpoint: str, count: int = 1) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        self._queue(_endpoint(endpoint), RequestFault(kind="drop", status=0), count)

    def let_through(self, endpoint: str, count: int = 1) -> None:
        """Answer the next ``count`` requests of ``endpoint`` normally.

        Request faults queued after this one then hit only the requests that
        follow, e.g. ``let_through("GetContextInfo")`` then ``fail_requests(...)``
        spares the status read a sync makes before it starts.
        """
        self._queue(_endpoint(endpoint), None, count)

    def set_latency(self, endpoint: str, seconds: float) -> None:
        """Wait ``seconds`` before answering each request of ``endpoint``; 0 clears it."""
        name = _endpoint(endpoint)
        delay = _seconds("seconds", seconds, MAX_LATENCY)
        with self._lock:
            self._latencies[name] = delay

    def malformed_status(self, count: int = 1) -> None:
        """Answer the next ``count`` ``GetContextInfo`` requests with HTTP 200,
        ``success: true`` and a ``contextStatus`` that is not valid JSON."""
        self._queue("GetContextInfo", RequestFault(kind="malformed_status"), count)

    def fail_tasks(self, message: str = "disk full", count: int | None = None) -> None:
        """Make the sync tasks created from now on end ``Failed`` with ``message``.

        Such tasks copy nothing. ``count`` limits how many tasks fail; None
        means every task until `clear` (or another ``fail_tasks``).
        """
        if not isinstance(message, str) or len(message) > 1000:
            raise InvalidValue("message must be a string of at most 1000 characters")
        limit = None if count is None else _count(count)
        with self._lock:
            self._task_failure = (message, limit)

    def hang_tasks(self, enabled: bool = True) -> None:
        """Make the sync tasks created from now on stay ``Running`` for ever (or stop that).

        Hung tasks stay so until the emulator stops; they are run again when it
        restarts on the same data folder.
        """
        if not isinstance(enabled, bool):
            raise InvalidValue(f"enabled must be true or false, not {enabled!r}")
        with self._lock:
            self._hang = enabled

    def fail_copy_midway(self, count: int = 1) -> None:
        """Make the copies of the next ``count`` upload or download tasks fail part-way.

        The copy stops after about half of the files (the target keeps its
        previous content) and the task ends ``Failed``.
        """
        number = _count(count)
        with self._lock:
            self._copy_failures += number

    def clear(self) -> None:
        """Turn every fault off. Tasks already hung stay hung."""
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
            self._latencies = dict.fromkeys(ENDPOINTS, 0.0)
            self._task_failure = None
            self._hang = False
            self._copy_failures = 0

    def apply(self, body: object) -> None:
        """Inject the fault a JSON document names, e.g. ``{"fault": "fail_requests",
        "endpoint": "SyncContext", "status": 429, "retryAfter": 1}``.

        The fault names are the method names of this class; the other members
        are their arguments in camelCase.

        Raises:
            InvalidValue: The document names no known fault or has bad arguments.
        """
        if not isinstance(body, dict) or not isinstance(body.get("fault"), str):
            raise InvalidValue(
                "send a JSON object naming the fault, e.g. "
                '{"fault": "fail_requests", "endpoint": "SyncContext", "status": 500}'
            )
        name = body["fault"]
        if name not in _JSON_ARGUMENTS:
            raise InvalidValue(f"unknown fault {name!r}: use one of {', '.join(_JSON_ARGUMENTS)}")
        allowed = _JSON_ARGUMENTS[name]
        unknown = sorted(set(body) - {"fault", *allowed})
        if unknown:
            raise InvalidValue(
                f"fault {name} takes {', '.join(allowed) or 'no arguments'}, "
                f"not {', '.join(unknown)}"
            )
        kwargs = {_snake(key): value for key, value in body.items() if key != "fault"}
        try:
            getattr(self, name)(**kwargs)
        except TypeError as exc:
            raise InvalidValue(f"fault {name}: {exc}") from None

    def _latency(self, endpoint: str) -> float:
        """The added delay of ``endpoint``, in seconds."""
        with self._lock:
            return self._latencies[endpoint]

    def _take_request_fault(self, endpoint: str) -> RequestFault | None:
        """The fault the next request of ``endpoint`` is to get, if any (used up)."""
        with self._lock:
            queue = self._queues[endpoint]
            if not queue:
                return None
            head = queue[0]
            head.remaining -= 1
            if head.remaining <= 0:
                queue.popleft()
            return head.fault

    def _plan_task(self) -> TaskPlan:
        """How the sync task being created is to end (task faults are used up)."""
        with self._lock:
            if self._hang:
                return TaskPlan(hang=True)
            if self._task_failure is not None:
                message, remaining = self._task_failure
                if remaining is not None:
                    self._task_failure = (message, remaining - 1) if remaining > 1 else None
                return TaskPlan(fail_message=message)
            if self._copy_failures:
                self._copy_failures -= 1
                return TaskPlan(fail_copy_midway=True)
            return TaskPlan()

    def _queue(self, endpoint: str, fault: RequestFault | None, count: int) -> None:
        number = _count(count)
        with self._lock:
            self._queues[endpoint].append(_Queued(fault, number))


_JSON_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    "fail_requests": ("endpoint", "status", "count", "retryAfter"),
    "respond_success_false": ("endpoint", "count"),
    "invalid_json": ("endpoint", "count"),
    "drop_connections": ("endpoint", "count"),
    "set_latency": ("endpoint", "seconds"),
    "malformed_status": ("count",),
    "fail_tasks": ("message", "count"),
    "hang_tasks": ("enabled",),
    "fail_copy_midway": ("count",),
    "let_through": ("endpoint", "count"),
}


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


def _endpoint(value: object) -> str:
    if value not in ENDPOINTS:
        raise InvalidValue(f"unknown endpoint {value!r}: use one of {', '.join(ENDPOINTS)}")
    return str(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue(f"count must be a whole number >= 1, not {value!r}")
    return value


def _seconds(name: str, value: object, limit: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= limit
    ):
        raise InvalidValue(
            f"{name} must be a number of seconds from 0 to {limit:g}, not {value!r}"
        )
    return float(value)
