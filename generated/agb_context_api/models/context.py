from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Context")


@_attrs_define
class Context:
    """A context of the account.

    Attributes:
        id (str | Unset):
        name (str | Unset):
        create_time (str | Unset): When the context was created, as the server writes times.
        last_used_time (str | Unset): When the context was last mounted or synced.
        state (str | Unset): `available`; `clearing` or `pre-available` while its data is being
            cleared. Other values may be reported.
             Example: available.
    """

    id: str | Unset = UNSET
    name: str | Unset = UNSET
    create_time: str | Unset = UNSET
    last_used_time: str | Unset = UNSET
    state: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        create_time = self.create_time

        last_used_time = self.last_used_time

        state = self.state

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if name is not UNSET:
            field_dict["name"] = name
        if create_time is not UNSET:
            field_dict["createTime"] = create_time
        if last_used_time is not UNSET:
            field_dict["lastUsedTime"] = last_used_time
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id", UNSET)

        name = d.pop("name", UNSET)

        create_time = d.pop("createTime", UNSET)

        last_used_time = d.pop("lastUsedTime", UNSET)

        state = d.pop("state", UNSET)

        context = cls(
            id=id,
            name=name,
            create_time=create_time,
            last_used_time=last_used_time,
            state=state,
        )

        context.additional_properties = d
        return context

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
