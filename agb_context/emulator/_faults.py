"""Fault injection: make the emulator misbehave on purpose, the way a cloud can.

Every fault is off until asked for, and every fault counts the same way:

- ``count`` is how many matching requests (request faults) or new sync tasks
  (task faults) it applies to, 1 by default; ``None`` applies it to every
  matching one until `Faults.clear` (or `Emulator.reset`).
- ``after`` lets that many matching requests or tasks go by untouched first.
- ``session_id``, ``context_id`` and ``path`` aim it: it matches only
  requests whose ``sessionId``, ``contextId`` and ``path`` parameters (or
  tasks whose session, context and mount path) are those given; the context
  routes (``GetContext``...) name their context by ``id``. A request that
  names no context (a sync of every context of a session) matches no
  ``context_id`` or ``path`` aim. Only ``SyncContext`` and ``GetContextInfo``
  requests name a session and a mount path, and ``ListContexts`` requests
  name nothing: an aim an endpoint's requests never name is refused (see
  `AIMS`).

Faults of one kind (requests of one endpoint, latencies of one endpoint, or
tasks) are used in the order they were asked for: a request or task takes the
first matching fault whose ``after`` has run out. Requests that fail
authentication (401) never take a fault. `Faults.queued` lists what is left.
"""

from __future__ import annotations

import email.utils
import inspect
import math
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

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
    "GetContextFileUploadUrl",
    "GetContextFileDownloadUrl",
    "DeleteContextFile",
    "DescribeContextFiles",
)
"""The cloud endpoints faults can target."""

_MOUNT_ENDPOINTS = ("SyncContext", "GetContextInfo")
AIMS: Mapping[str, frozenset[str]] = {
    endpoint: frozenset(
        ("session_id", "context_id", "path")
        if endpoint in _MOUNT_ENDPOINTS
        else ()
        if endpoint == "ListContexts"
        else ("context_id",)
    )
    for endpoint in ENDPOINTS
}
"""The aims that can match requests of each endpoint: those its requests name. Only
``SyncContext`` and ``GetContextInfo`` name a session and a mount path; the context
and file routes name a context (``id`` or ``contextId``); ``ListContexts`` names none."""

MAX_LATENCY = 600.0
MAX_RETRY_AFTER = 86400
MAX_TEXT = 1000

RequestFaultKind = Literal["status", "success_false", "invalid_json", "drop", "malformed_status"]


@attrs.frozen(kw_only=True)
class RequestFault:
    """How to answer one request instead of handling it."""

    kind: RequestFaultKind
    status: int = 200
    retry_after: str | None = None
    """The ``Retry-After`` header: whole seconds, or an HTTP date."""
    code: str | None = None
    message: str | None = None
    encoded_once: bool = False
    """For ``malformed_status``: ``contextStatus`` is a JSON list, not a string."""


_LET_THROUGH = RequestFault(kind="status", status=200)
"""The effect of `Faults.let_through`: the request is answered normally."""


@attrs.frozen(kw_only=True)
class TaskPlan:
    """How a new sync task is to end."""

    hang: bool = False
    fail_message: str | None = None
    fail_copy_midway: bool = False


@attrs.frozen(kw_only=True)
class QueuedFault:
    """A fault still waiting to be used, as `Faults.queued` lists it."""

    fault: str
    """Its name: the `Faults` method that asked for it, e.g. ``fail_requests``."""
    endpoint: str | None
    """The endpoint it targets; None for task faults."""
    session_id: str | None
    context_id: str | None
    path: str | None
    after: int
    """Matching requests or tasks still to go by before it applies."""
    remaining: int | None
    """How many more it applies to; None: every one until cleared."""
    arguments: Mapping[str, Any]
    """Its other arguments, as in the JSON that asks for it (e.g. ``{"status": 429}``)."""

    def to_json(self) -> dict[str, Any]:
        """The fault as ``GET /emulator/faults`` lists it (camelCase)."""
        return {
            "fault": self.fault,
            "endpoint": self.endpoint,
            "sessionId": self.session_id,
            "contextId": self.context_id,
            "path": self.path,
            "after": self.after,
            "count": self.remaining,
            **self.arguments,
        }


@attrs.frozen(kw_only=True)
class _Aim:
    session_id: str | None = None
    context_id: str | None = None
    path: str | None = None

    def matches(self, session_id: str | None, context_id: str | None, path: str | None) -> bool:
        return (
            (self.session_id is None or self.session_id == session_id)
            and (self.context_id is None or self.context_id == context_id)
            and (self.path is None or self.path == path)
        )


@attrs.define(kw_only=True)
class _Armed:
    name: str
    channel: str
    """``request:<endpoint>``, ``latency:<endpoint>`` or ``task``."""
    aim: _Aim
    after: int
    remaining: int | None
    effect: RequestFault | TaskPlan | float
    arguments: dict[str, Any]


class Faults:
    """The faults to inject, settable from any thread (``emulator.faults``).

    Endpoint names are those of the cloud routes (`ENDPOINTS`: ``"SyncContext"``,
    ``"GetContextInfo"``, ``"ListContexts"``...); any other name is a `ValueError`.
    Every method takes the same keyword-only ``after``, ``session_id``,
    ``context_id`` and ``path``, and the same ``count``: see the module's
    description (``help(agb_context.emulator._faults)``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    # -- request faults --------------------------------------------------------

    def fail_requests(
        self,
        endpoint: str,
        status: int = 500,
        count: int | None = 1,
        retry_after: int | datetime | None = None,
        *,
        code: str | None = None,
        message: str | None = None,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer matching requests of ``endpoint`` with HTTP ``status`` (400-599).

        The body is the error envelope (``success: false``) with ``code``
        (default: the one the cloud uses for ``status``, e.g. ``Throttling``
        for 429) and ``message`` (default: ``injected fault: HTTP <status>``).
        ``retry_after`` adds a ``Retry-After`` header: whole seconds (0 to
        86400), or a timezone-aware `datetime` written as an HTTP date.
        """
        name = _endpoint(endpoint)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise InvalidValue(
                f"status must be an HTTP error status from 400 to 599, not {status!r}"
            )
        header = None if retry_after is None else _retry_after(retry_after)
        fault = RequestFault(
            kind="status",
            status=status,
            retry_after=header,
            code=_text("code", code),
            message=_text("message", message),
        )
        shown = {"status": status, "retryAfter": header, "code": code, "message": message}
        self._arm(
            "fail_requests",
            f"request:{name}",
            fault,
            shown,
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def respond_success_false(
        self,
        endpoint: str,
        count: int | None = 1,
        *,
        code: str | None = None,
        message: str | None = None,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer matching requests with HTTP 200 but ``success: false``, ``code``
        (default ``InjectedFault``) and ``message``."""
        fault = RequestFault(
            kind="success_false", code=_text("code", code), message=_text("message", message)
        )
        shown = {"code": code, "message": message}
        self._arm(
            "respond_success_false",
            f"request:{_endpoint(endpoint)}",
            fault,
            shown,
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def invalid_json(
        self,
        endpoint: str,
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer matching requests with HTTP 200 and a body that is not JSON."""
        self._arm(
            "invalid_json",
            f"request:{_endpoint(endpoint)}",
            RequestFault(kind="invalid_json"),
            {},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def drop_connections(
        self,
        endpoint: str,
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Close the connection of matching requests without answering."""
        self._arm(
            "drop_connections",
            f"request:{_endpoint(endpoint)}",
            RequestFault(kind="drop", status=0),
            {},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def let_through(
        self,
        endpoint: str,
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer matching requests of ``endpoint`` normally: a place in the queue.

        Request faults asked for after this one then hit only the requests
        that follow, e.g. ``let_through("GetContextInfo")`` then
        ``fail_requests(...)`` spares the status read a sync makes before it
        starts. (Latencies are a queue of their own: this does not spare them.)
        """
        self._arm(
            "let_through",
            f"request:{_endpoint(endpoint)}",
            _LET_THROUGH,
            {},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def malformed_status(
        self,
        count: int | None = 1,
        *,
        encoded_once: bool = False,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer matching ``GetContextInfo`` requests with HTTP 200, ``success: true``
        and a ``contextStatus`` that is not valid JSON, or with ``encoded_once``
        one encoded only once (the list of items itself, not a string)."""
        if not isinstance(encoded_once, bool):
            raise InvalidValue(f"encoded_once must be true or false, not {encoded_once!r}")
        self._arm(
            "malformed_status",
            "request:GetContextInfo",
            RequestFault(kind="malformed_status", encoded_once=encoded_once),
            {"encodedOnce": encoded_once} if encoded_once else {},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def set_latency(
        self,
        endpoint: str,
        seconds: float,
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Wait ``seconds`` (0 to 600) before answering matching requests of ``endpoint``.

        A delayed request may take another fault of its endpoint after the wait.
        """
        name = _endpoint(endpoint)
        delay = _seconds("seconds", seconds, MAX_LATENCY)
        self._arm(
            "set_latency",
            f"latency:{name}",
            delay,
            {"seconds": delay},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    # -- task faults -----------------------------------------------------------

    def fail_tasks(
        self,
        message: str = "disk full",
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make matching new sync tasks end ``Failed`` with ``message`` (copying nothing)."""
        text = _text("message", message)
        if text is None:
            raise InvalidValue("message must be a string of at most 1000 characters")
        self._arm(
            "fail_tasks",
            "task",
            TaskPlan(fail_message=text),
            {"message": text},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def hang_tasks(
        self,
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make matching new sync tasks stay ``Running`` for ever.

        Hung tasks stay so until `Emulator.reset` or the emulator stops; they
        are run again when it restarts on the same data folder.
        """
        self._arm(
            "hang_tasks",
            "task",
            TaskPlan(hang=True),
            {},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    def fail_copy_midway(
        self,
        count: int | None = 1,
        *,
        after: int = 0,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the copies of matching new upload or download tasks fail part-way.

        The copy stops after about half of the files (the target keeps its
        previous content) and the task ends ``Failed``.
        """
        self._arm(
            "fail_copy_midway",
            "task",
            TaskPlan(fail_copy_midway=True),
            {},
            count,
            after,
            session_id,
            context_id,
            path,
        )

    # -- all faults ------------------------------------------------------------

    def queued(self) -> list[QueuedFault]:
        """The faults not used up yet, in the order they were asked for."""
        with self._lock:
            return [
                QueuedFault(
                    fault=armed.name,
                    endpoint=None if armed.channel == "task" else armed.channel.split(":")[1],
                    session_id=armed.aim.session_id,
                    context_id=armed.aim.context_id,
                    path=armed.aim.path,
                    after=armed.after,
                    remaining=armed.remaining,
                    arguments={k: v for k, v in armed.arguments.items() if v is not None},
                )
                for armed in self._armed
            ]

    def clear(self) -> None:
        """Remove every fault not used up yet. Tasks already hung stay hung."""
        with self._lock:
            self._armed.clear()

    def apply(self, body: object) -> None:
        """Inject the fault a JSON document names, e.g. ``{"fault": "fail_requests",
        "endpoint": "SyncContext", "status": 429, "retryAfter": 1, "sessionId": "..."}``.

        The fault names are the method names of this class; the other members
        are their arguments in camelCase (``"count": null`` for every matching
        one until cleared; ``retryAfter`` is whole seconds or an HTTP date).

        Raises:
            InvalidValue: The document names no known fault or has bad arguments.
        """
        if not isinstance(body, dict) or not isinstance(body.get("fault"), str):
            raise InvalidValue(
                "send a JSON object naming the fault, e.g. "
                '{"fault": "fail_requests", "endpoint": "SyncContext", "status": 500}'
            )
        name = body["fault"]
        if name not in FAULTS:
            raise InvalidValue(f"unknown fault {name!r}: use one of {', '.join(FAULTS)}")
        allowed = (*FAULTS[name].arguments, *AIM_ARGUMENTS)
        unknown = sorted(set(body) - {"fault", *allowed})
        if unknown:
            raise InvalidValue(
                f"fault {name} takes {', '.join(allowed)}, not {', '.join(unknown)}"
            )
        method = getattr(self, name)
        needed = [
            _camel(parameter.name)
            for parameter in inspect.signature(method).parameters.values()
            if parameter.default is inspect.Parameter.empty
        ]
        missing = [argument for argument in needed if argument not in body]
        if missing:
            raise InvalidValue(f"fault {name} needs {', '.join(missing)}")
        kwargs = {_snake(key): value for key, value in body.items() if key != "fault"}
        try:
            if isinstance(kwargs.get("retry_after"), str):
                kwargs["retry_after"] = _http_date(kwargs["retry_after"])
            method(**kwargs)
        except InvalidValue as exc:
            # the message names the arguments as the JSON does
            raise InvalidValue(_SNAKE_NAME.sub(lambda m: _camel(m[0]), str(exc))) from None
        except TypeError as exc:
            raise InvalidValue(f"fault {name}: {exc}") from None

    # -- used by the gateway and the task runner -------------------------------

    def _latency(
        self, endpoint: str, session_id: str | None, context_id: str | None, path: str | None
    ) -> float:
        """The delay to add to a request of ``endpoint`` (used up), in seconds."""
        effect = self._take(f"latency:{endpoint}", session_id, context_id, path)
        return effect if isinstance(effect, float) else 0.0

    def _take_request_fault(
        self,
        endpoint: str,
        session_id: str | None = None,
        context_id: str | None = None,
        path: str | None = None,
    ) -> RequestFault | None:
        """The fault a request of ``endpoint`` is to get, if any (used up)."""
        effect = self._take(f"request:{endpoint}", session_id, context_id, path)
        return effect if isinstance(effect, RequestFault) and effect is not _LET_THROUGH else None

    def _plan_task(
        self, session_id: str | None = None, context_id: str | None = None, path: str | None = None
    ) -> TaskPlan:
        """How a sync task being created is to end (task faults are used up)."""
        effect = self._take("task", session_id, context_id, path)
        return effect if isinstance(effect, TaskPlan) else TaskPlan()

    def _take(
        self, channel: str, session_id: str | None, context_id: str | None, path: str | None
    ) -> RequestFault | TaskPlan | float | None:
        taken: RequestFault | TaskPlan | float | None = None
        with self._lock:
            for armed in list(self._armed):
                if armed.channel != channel or not armed.aim.matches(session_id, context_id, path):
                    continue
                if armed.after > 0:
                    armed.after -= 1
                elif taken is None:
                    taken = armed.effect
                    if armed.remaining is not None:
                        armed.remaining -= 1
                        if armed.remaining == 0:
                            self._armed.remove(armed)
        return taken

    def _arm(
        self,
        name: str,
        channel: str,
        effect: RequestFault | TaskPlan | float,
        arguments: dict[str, Any],
        count: int | None,
        after: int,
        session_id: str | None,
        context_id: str | None,
        path: str | None,
    ) -> None:
        armed = _Armed(
            name=name,
            channel=channel,
            aim=_Aim(
                session_id=_aim("session_id", session_id),
                context_id=_aim("context_id", context_id),
                path=_aim("path", path),
            ),
            after=_whole("after", after, minimum=0),
            remaining=None if count is None else _whole("count", count, minimum=1),
            effect=effect,
            arguments=arguments,
        )
        if channel != "task":
            _check_aims(channel.split(":")[1], armed.aim)
        with self._lock:
            self._armed.append(armed)


@attrs.frozen
class FaultHelp:
    """What a fault does and its own arguments, for help texts and JSON checks."""

    summary: str
    arguments: tuple[str, ...]


FAULTS: Mapping[str, FaultHelp] = {
    "fail_requests": FaultHelp(
        "answer with an HTTP error status (and Retry-After)",
        ("endpoint", "status", "count", "retryAfter", "code", "message"),
    ),
    "respond_success_false": FaultHelp(
        "answer HTTP 200 with success: false", ("endpoint", "count", "code", "message")
    ),
    "invalid_json": FaultHelp(
        "answer HTTP 200 with a body that is not JSON", ("endpoint", "count")
    ),
    "drop_connections": FaultHelp("close the connection without answering", ("endpoint", "count")),
    "let_through": FaultHelp(
        "answer normally: a place in the queue before later faults", ("endpoint", "count")
    ),
    "malformed_status": FaultHelp(
        "GetContextInfo answers a contextStatus not JSON (or encoded once)",
        ("count", "encodedOnce"),
    ),
    "set_latency": FaultHelp("wait before answering", ("endpoint", "seconds", "count")),
    "fail_tasks": FaultHelp("new sync tasks end Failed with a message", ("message", "count")),
    "hang_tasks": FaultHelp("new sync tasks stay Running for ever", ("count",)),
    "fail_copy_midway": FaultHelp(
        "copies of new sync tasks stop half-way, tasks fail", ("count",)
    ),
}
"""Every fault, by name (the `Faults` method and the ``fault`` of its JSON)."""

AIM_ARGUMENTS = ("after", "sessionId", "contextId", "path")
"""The arguments every fault takes besides its own (in JSON)."""


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


_SNAKE_NAME = re.compile(r"\b(?:retry_after|session_id|context_id|encoded_once)\b")
"""The argument names that differ in JSON, where they stand in a message."""


def _endpoint(value: object) -> str:
    if value not in ENDPOINTS:
        raise InvalidValue(f"unknown endpoint {value!r}: use one of {', '.join(ENDPOINTS)}")
    return str(value)


def _check_aims(endpoint: str, aim: _Aim) -> None:
    """Refuse an aim the endpoint's requests never name: the fault would never be used."""
    for name, what in (
        ("session_id", "session"),
        ("context_id", "context"),
        ("path", "mount path"),
    ):
        if getattr(aim, name) is None or name in AIMS[endpoint]:
            continue
        hint = "aim it with context_id" if AIMS[endpoint] else "leave it unaimed"
        if name != "context_id":
            hint += f" (only SyncContext and GetContextInfo requests name a {what})"
        raise InvalidValue(
            f"{name} cannot aim a fault at {endpoint}: its requests name no {what}, "
            f"so the fault would never be used; {hint}"
        )


def _whole(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " (or None for every one until cleared)" if name == "count" else ""
        if isinstance(value, bool) and name == "count":
            extra += "; e.g. hang_tasks(count=None) hangs every new task until cleared"
        raise InvalidValue(f"{name} must be a whole number >= {minimum}{extra}, not {value!r}")
    return value


def _aim(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InvalidValue(f"{name} must be a non-empty string (or None for any), not {value!r}")
    return value


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidValue(f"{name} must be a string of at most {MAX_TEXT} characters")
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


def _retry_after(value: object) -> str:
    """The ``Retry-After`` header for whole seconds or an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidValue("retry_after must be a timezone-aware datetime (e.g. in UTC)")
        return email.utils.format_datetime(value.astimezone(UTC), usegmt=True)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRY_AFTER:
        raise InvalidValue(
            f"retry_after must be whole seconds from 0 to {MAX_RETRY_AFTER} (HTTP allows no "
            f"fractions) or a date (an aware datetime; in JSON an HTTP date), not {value!r}"
        )
    return str(value)


def _http_date(text: str) -> datetime:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidValue(
            f"retryAfter must be whole seconds or an HTTP date such as "
            f"'Wed, 21 Oct 2026 07:28:00 GMT', not {text[:60]!r}"
        )
    return parsed
