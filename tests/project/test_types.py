"""The SDK's copies of the API's vocabulary match what openapi.yaml generates."""

from __future__ import annotations

import attrs

from agb_context import ContextStatusData
from agb_context._types import (
    FINAL_STATUSES,
    SYNC_MODES,
    TASK_STATUSES,
    TASK_WIRE_NAMES,
)
from agb_context_api.models import SyncMode, TaskState, TaskStatus


def test_sync_modes_are_the_specs() -> None:
    assert set(SYNC_MODES) == {mode.value for mode in SyncMode}
    assert len(SYNC_MODES) == len(set(SYNC_MODES))


def test_task_states_are_the_specs() -> None:
    assert set(TASK_STATUSES) == {state.value for state in TaskState}
    assert len(TASK_STATUSES) == len(set(TASK_STATUSES))
    assert FINAL_STATUSES == {"Success", "Failed"} <= set(TASK_STATUSES)


def test_task_wire_names_are_the_specs() -> None:
    every_field = TaskStatus(
        context_id="c",
        path="p",
        status=TaskState.SUCCESS,
        task_type=SyncMode.UPLOAD,
        start_time=1,
        finish_time=2,
        error_message="e",
    )
    assert set(TASK_WIRE_NAMES.values()) == set(every_field.to_dict())
    for name, wire in TASK_WIRE_NAMES.items():
        parsed = TaskStatus.from_dict({wire: every_field.to_dict()[wire]})
        assert getattr(parsed, name) == getattr(every_field, name), (name, wire)


def test_every_task_field_has_a_wire_name() -> None:
    assert set(TASK_WIRE_NAMES) == {field.name for field in attrs.fields(ContextStatusData)}


def test_the_cli_styles_every_task_state() -> None:
    from agb_context.cli._views import STATUS_STYLES

    assert set(STATUS_STYLES) == set(TASK_STATUSES)
