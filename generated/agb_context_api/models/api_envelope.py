from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApiEnvelope")


@_attrs_define
class ApiEnvelope:
    """The envelope of every response. The request id is this body's
    `requestId`, or the `x-request-id` response header when absent.

        Attributes:
            success (bool):
            code (str | Unset): Empty on success; an error code on failure.
            message (str | Unset): Empty on success; what went wrong on failure.
            request_id (str | Unset):
            http_status_code (int | Unset):
    """

    success: bool
    code: str | Unset = UNSET
    message: str | Unset = UNSET
    request_id: str | Unset = UNSET
    http_status_code: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        code = self.code

        message = self.message

        request_id = self.request_id

        http_status_code = self.http_status_code

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

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        success = d.pop("success")

        code = d.pop("code", UNSET)

        message = d.pop("message", UNSET)

        request_id = d.pop("requestId", UNSET)

        http_status_code = d.pop("httpStatusCode", UNSET)

        api_envelope = cls(
            success=success,
            code=code,
            message=message,
            request_id=request_id,
            http_status_code=http_status_code,
        )

        api_envelope.additional_properties = d
        return api_envelope

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
