from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_envelope import ApiEnvelope
from ...models.empty_body import EmptyBody
from ...models.file_url_response import FileUrlResponse
from ...types import UNSET, Response


def _get_kwargs(
    *,
    body: EmptyBody,
    context_id: str,
    file_path: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["contextId"] = context_id

    params["filePath"] = file_path

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sdk/GetContextFileUploadUrl",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiEnvelope | FileUrlResponse | None:
    if response.status_code == 200:
        response_200 = FileUrlResponse.from_dict(response.json())

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
) -> Response[ApiEnvelope | FileUrlResponse]:
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
    file_path: str,
) -> Response[ApiEnvelope | FileUrlResponse]:
    """A presigned URL to upload one file of a context

     `PUT` the file's bytes to the URL, without the API key, before
    `expireTime`; the file then is in the context at `filePath`
    (replacing any file there).

    Args:
        context_id (str):
        file_path (str):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | FileUrlResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        context_id=context_id,
        file_path=file_path,
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
    file_path: str,
) -> ApiEnvelope | FileUrlResponse | None:
    """A presigned URL to upload one file of a context

     `PUT` the file's bytes to the URL, without the API key, before
    `expireTime`; the file then is in the context at `filePath`
    (replacing any file there).

    Args:
        context_id (str):
        file_path (str):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | FileUrlResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        context_id=context_id,
        file_path=file_path,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    context_id: str,
    file_path: str,
) -> Response[ApiEnvelope | FileUrlResponse]:
    """A presigned URL to upload one file of a context

     `PUT` the file's bytes to the URL, without the API key, before
    `expireTime`; the file then is in the context at `filePath`
    (replacing any file there).

    Args:
        context_id (str):
        file_path (str):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | FileUrlResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        context_id=context_id,
        file_path=file_path,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    context_id: str,
    file_path: str,
) -> ApiEnvelope | FileUrlResponse | None:
    """A presigned URL to upload one file of a context

     `PUT` the file's bytes to the URL, without the API key, before
    `expireTime`; the file then is in the context at `filePath`
    (replacing any file there).

    Args:
        context_id (str):
        file_path (str):
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | FileUrlResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            context_id=context_id,
            file_path=file_path,
        )
    ).parsed
