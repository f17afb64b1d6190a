from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.file_entry import FileEntry


T = TypeVar("T", bound="DescribeContextFilesResponse")


@_attrs_define
class DescribeContextFilesResponse:
    """The envelope, with one page of entries and how many there are in all.

    Attributes:
        success (bool):
        code (str | Unset): Empty on success; an error code on failure.
        message (str | Unset): Empty on success; what went wrong on failure.
        request_id (str | Unset):
        http_status_code (int | Unset):
        data (list[FileEntry] | Unset):
        count (int | Unset): How many entries the folder holds in all.
    """

    success: bool
    code: str | Unset = UNSET
    message: str | Unset = UNSET
    request_id: str | Unset = UNSET
    http_status_code: int | Unset = UNSET
    data: list[FileEntry] | Unset = UNSET
    count: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        code = self.code

        message = self.message

        request_id = self.request_id

        http_status_code = self.http_status_code

        data: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = []
            for data_item_data in self.data:
                data_item = data_item_data.to_dict()
                data.append(data_item)

        count = self.count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "success": success,
            }
        )
        if code is not UNSET:
            field_dict["code"] = code
        if message is not UNSET:
            field_dict["message"] = message
        if request_id is not UNSET:
            field_dict["requestId"] = request_id
        if http_status_code is not UNSET:
            field_dict["httpStatusCode"] = http_status_code
        if data is not UNSET:
            field_dict["data"] = data
        if count is not UNSET:
            field_dict["count"] = count

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.file_entry import FileEntry

        d = dict(src_dict)
        success = d.pop("success")

        code = d.pop("code", UNSET)

        message = d.pop("message", UNSET)

        request_id = d.pop("requestId", UNSET)

        http_status_code = d.pop("httpStatusCode", UNSET)

        _data = d.pop("data", UNSET)
        data: list[FileEntry] | Unset = UNSET
        if _data is not UNSET:
            data = []
            for data_item_data in _data:
                data_item = FileEntry.from_dict(data_item_data)

                data.append(data_item)

        count = d.pop("count", UNSET)

        describe_context_files_response = cls(
            success=success,
            code=code,
            message=message,
            request_id=request_id,
            http_status_code=http_status_code,
            data=data,
            count=count,
        )

        describe_context_files_response.additional_properties = d
        return describe_context_files_response

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
