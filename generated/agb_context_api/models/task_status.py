from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.sync_mode import SyncMode
from ..models.task_state import TaskState
from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskStatus")


@_attrs_define
class TaskStatus:
    """One sync task (second level of `contextStatus`). Every field may be
    missing: strings then read as `""` and times as `0`.

        Attributes:
            context_id (str | Unset):
            path (str | Unset):
            status (TaskState | Unset): The state of a sync task. Only `Success` and `Failed` are final.
            task_type (str | SyncMode | Unset): `upload` or `download` for sync tasks; other task types may be
                reported and are not sync tasks.
            start_time (int | Unset): Milliseconds since the Unix epoch; 0 when not yet known.
            finish_time (int | Unset): Milliseconds since the Unix epoch; 0 when not yet final.
            error_message (str | Unset): Why the task failed; empty otherwise.
    """

    context_id: str | Unset = UNSET
    path: str | Unset = UNSET
    status: TaskState | Unset = UNSET
    task_type: str | SyncMode | Unset = UNSET
    start_time: int | Unset = UNSET
    finish_time: int | Unset = UNSET
    error_message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        context_id = self.context_id

        path = self.path

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        task_type: str | Unset
        if isinstance(self.task_type, Unset):
            task_type = UNSET
        elif isinstance(self.task_type, SyncMode):
            task_type = self.task_type.value
        else:
            task_type = self.task_type

        start_time = self.start_time

        finish_time = self.finish_time

        error_message = self.error_message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if context_id is not UNSET:
            field_dict["contextId"] = context_id
        if path is not UNSET:
            field_dict["path"] = path
        if status is not UNSET:
            field_dict["status"] = status
        if task_type is not UNSET:
            field_dict["taskType"] = task_type
        if start_time is not UNSET:
            field_dict["startTime"] = start_time
        if finish_time is not UNSET:
            field_dict["finishTime"] = finish_time
        if error_message is not UNSET:
            field_dict["errorMessage"] = error_message

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        context_id = d.pop("contextId", UNSET)

        path = d.pop("path", UNSET)

        _status = d.pop("status", UNSET)
        status: TaskState | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = TaskState(_status)

        def _parse_task_type(data: object) -> str | SyncMode | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                task_type_type_0 = SyncMode(data)

                return task_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | SyncMode | Unset, data)

        task_type = _parse_task_type(d.pop("taskType", UNSET))

        start_time = d.pop("startTime", UNSET)

        finish_time = d.pop("finishTime", UNSET)

        error_message = d.pop("errorMessage", UNSET)

        task_status = cls(
            context_id=context_id,
            path=path,
            status=status,
            task_type=task_type,
            start_time=start_time,
            finish_time=finish_time,
            error_message=error_message,
        )

        task_status.additional_properties = d
        return task_status

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
