from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_envelope import ApiEnvelope
from ...models.describe_context_files_response import DescribeContextFilesResponse
from ...models.empty_body import EmptyBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EmptyBody,
    context_id: str,
    parent_folder_path: str | Unset = UNSET,
    page_number: int,
    page_size: int,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["contextId"] = context_id

    params["parentFolderPath"] = parent_folder_path

    params["pageNumber"] = page_number

    params["pageSize"] = page_size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sdk/DescribeContextFiles",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiEnvelope | DescribeContextFilesResponse | None:
    if response.status_code == 200:
        response_200 = DescribeContextFilesResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ApiEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ApiEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ApiEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ApiEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ApiEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = ApiEnvelope.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ApiEnvelope.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = ApiEnvelope.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApiEnvelope | DescribeContextFilesResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    context_id: str,
    parent_folder_path: str | Unset = UNSET,
    page_number: int,
    page_size: int,
) -> Response[ApiEnvelope | DescribeContextFilesResponse]:
    """List the files and folders of a folder of a context, one page at a time

     Entries come sorted by path. `count` is how many entries the folder
    holds in all; pages are numbered from 1.

    Args:
        context_id (str):
        parent_folder_path (str | Unset):
        page_number (int):
        page_size (int):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | DescribeContextFilesResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        context_id=context_id,
        parent_folder_path=parent_folder_path,
        page_number=page_number,
        page_size=page_size,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    context_id: str,
    parent_folder_path: str | Unset = UNSET,
    page_number: int,
    page_size: int,
) -> ApiEnvelope | DescribeContextFilesResponse | None:
    """List the files and folders of a folder of a context, one page at a time

     Entries come sorted by path. `count` is how many entries the folder
    holds in all; pages are numbered from 1.

    Args:
        context_id (str):
        parent_folder_path (str | Unset):
        page_number (int):
        page_size (int):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | DescribeContextFilesResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        context_id=context_id,
        parent_folder_path=parent_folder_path,
        page_number=page_number,
        page_size=page_size,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    context_id: str,
    parent_folder_path: str | Unset = UNSET,
    page_number: int,
    page_size: int,
) -> Response[ApiEnvelope | DescribeContextFilesResponse]:
    """List the files and folders of a folder of a context, one page at a time

     Entries come sorted by path. `count` is how many entries the folder
    holds in all; pages are numbered from 1.

    Args:
        context_id (str):
        parent_folder_path (str | Unset):
        page_number (int):
        page_size (int):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | DescribeContextFilesResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        context_id=context_id,
        parent_folder_path=parent_folder_path,
        page_number=page_number,
        page_size=page_size,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    context_id: str,
    parent_folder_path: str | Unset = UNSET,
    page_number: int,
    page_size: int,
) -> ApiEnvelope | DescribeContextFilesResponse | None:
    """List the files and folders of a folder of a context, one page at a time

     Entries come sorted by path. `count` is how many entries the folder
    holds in all; pages are numbered from 1.

    Args:
        context_id (str):
        parent_folder_path (str | Unset):
        page_number (int):
        page_size (int):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | DescribeContextFilesResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            context_id=context_id,
            parent_folder_path=parent_folder_path,
            page_number=page_number,
            page_size=page_size,
        )
    ).parsed
