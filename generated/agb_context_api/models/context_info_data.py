from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ContextInfoData")


@_attrs_define
class ContextInfoData:
    """
    Attributes:
        context_status (str | Unset): JSON encoded inside a string, twice over. Decoding this string
            gives a list of `ContextStatusItem`; the `data` of each item whose
            `type` is `data` is again a JSON-encoded string, whose decoding
            gives a list of `TaskStatus`. Items of any other `type` carry no
            task status. The empty string means "no tasks".
             Example: [{"type":"data","data":"[{\\"contextId\\":\\"ctx-123\\",\\"path\\":\\"/home/
            my-data\\",\\"status\\":\\"Running\\",\\"taskType\\":\\"upload\\",\\"startTi
            me\\":1732500000000,\\"finishTime\\":0,\\"errorMessage\\":\\"\\"}]"}].
    """

    context_status: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        context_status = self.context_status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if context_status is not UNSET:
            field_dict["contextStatus"] = context_status

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        context_status = d.pop("contextStatus", UNSET)

        context_info_data = cls(
            context_status=context_status,
        )

        context_info_data.additional_properties = d
        return context_info_data

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
