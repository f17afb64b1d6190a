"""How the emulated cloud reports sync tasks: the behaviours a real cloud may show.

Nobody outside the cloud knows exactly how ``GetContextInfo`` lists tasks, so
the emulator can show each behaviour a client must survive. All are off by
default; then ``GetContextInfo`` lists the newest task of each mount that
matches its filters.

- **Registration lag**: a new task is listed only some time after the
  ``SyncContext`` that created it returned.
- **History**: earlier tasks of each mount are listed too, oldest first.
- **Ignored taskType**: the ``taskType`` filter is not applied.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from agb_context.emulator._validation import InvalidValue

MAX_REGISTRATION_LAG = 600.0
MAX_HISTORY = 100


@attrs.frozen(kw_only=True)
class CloudBehaviour:
    """A snapshot of how the emulator lists tasks (see `Behaviour`)."""

    registration_lag: float = 0.0
    """Seconds a new task stays unlisted after ``SyncContext`` returned."""
    history: int = 0
    """How many earlier tasks of each mount are listed before its newest one."""
    ignore_task_type: bool = False
    """Whether the ``taskType`` filter of ``GetContextInfo`` is ignored."""


class Behaviour:
    """The cloud behaviours to show, settable from any thread (``emulator.behaviour``).

    Changes apply to requests answered from then on; a registration lag
    applies to tasks created from then on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = CloudBehaviour()

    @property
    def current(self) -> CloudBehaviour:
        """The behaviours shown now."""
        with self._lock:
            return self._current

    def set(
        self,
        *,
        registration_lag: float | None = None,
        history: int | None = None,
        ignore_task_type: bool | None = None,
    ) -> CloudBehaviour:
        """Change the behaviours given (the others stay); returns the new snapshot.

        Args:
            registration_lag: Seconds (0 to 600) a new task stays unlisted
                after ``SyncContext`` returned; 0 turns it off.
            history: How many earlier tasks (0 to 100) of each mount are listed
                too, oldest first; 0 lists the newest task only.
            ignore_task_type: List tasks of both directions whatever
                ``taskType`` asks for.

        Raises:
            InvalidValue: A value is out of range or of the wrong type.
        """
        changes: dict[str, Any] = {}
        if registration_lag is not None:
            if (
                isinstance(registration_lag, bool)
                or not isinstance(registration_lag, int | float)
                or not math.isfinite(registration_lag)
                or not 0 <= registration_lag <= MAX_REGISTRATION_LAG
            ):
                raise InvalidValue(
                    f"registration_lag must be a number of seconds from 0 to "
                    f"{MAX_REGISTRATION_LAG:g}, not {registration_lag!r}"
                )
            changes["registration_lag"] = float(registration_lag)
        if history is not None:
            if (
                isinstance(history, bool)
                or not isinstance(history, int)
                or not 0 <= history <= MAX_HISTORY
            ):
                raise InvalidValue(
                    f"history must be a whole number from 0 to {MAX_HISTORY}, not {history!r}"
                )
            changes["history"] = history
        if ignore_task_type is not None:
            if not isinstance(ignore_task_type, bool):
                raise InvalidValue(
                    f"ignore_task_type must be true or false, not {ignore_task_type!r}"
                )
            changes["ignore_task_type"] = ignore_task_type
        with self._lock:
            self._current = attrs.evolve(self._current, **changes)
            return self._current

    def clear(self) -> None:
        """Back to the default: no lag, newest task only, ``taskType`` applied."""
        with self._lock:
            self._current = CloudBehaviour()

    def apply(self, body: object) -> CloudBehaviour:
        """Change behaviours from a JSON document, e.g.
        ``{"registrationLag": 0.5, "history": 3, "ignoreTaskType": true}``.

        Raises:
            InvalidValue: Unknown members or bad values.
        """
        if not isinstance(body, Mapping):
            raise InvalidValue(
                'send a JSON object, e.g. {"registrationLag": 0.5, "history": 3, '
                '"ignoreTaskType": true}'
            )
        unknown = sorted(set(body) - set(_JSON_NAMES))
        if unknown:
            raise InvalidValue(
                f"unknown behaviour {', '.join(map(repr, unknown))}: use {', '.join(_JSON_NAMES)}"
            )
        nulls = sorted(key for key, value in body.items() if value is None)
        if nulls:
            raise InvalidValue(f"{', '.join(nulls)} must not be null: leave it out to keep it")
        return self.set(**{_JSON_NAMES[key]: value for key, value in body.items()})


def behaviour_to_json(behaviour: CloudBehaviour) -> dict[str, object]:
    """The snapshot as the admin route reports it (camelCase members)."""
    return {wire: getattr(behaviour, name) for wire, name in _JSON_NAMES.items()}


_JSON_NAMES = {
    "registrationLag": "registration_lag",
    "history": "history",
    "ignoreTaskType": "ignore_task_type",
}
