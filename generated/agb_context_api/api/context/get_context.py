from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_envelope import ApiEnvelope
from ...models.get_context_response import GetContextResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    id: str | Unset = UNSET,
    name: str | Unset = UNSET,
    allow_create: bool,
    login_region_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["id"] = id

    params["name"] = name

    params["allowCreate"] = allow_create

    params["loginRegionId"] = login_region_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/sdk/GetContext",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiEnvelope | GetContextResponse | None:
    if response.status_code == 200:
        response_200 = GetContextResponse.from_dict(response.json())

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
) -> Response[ApiEnvelope | GetContextResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    name: str | Unset = UNSET,
    allow_create: bool,
    login_region_id: str | Unset = UNSET,
) -> Response[ApiEnvelope | GetContextResponse]:
    """Get a context by id or by name, creating it by name if asked

     Give `id` or `name`. With `allowCreate=true` (only with `name`), a
    context of that name is created when there is none; later calls with
    the same name return the same context. Names are unique in an
    account. An unknown context is a 404.

    Args:
        id (str | Unset):
        name (str | Unset): A context's name: unique in the account, printable text without `/`
            or `\\`, neither `.` nor `..`, at most 256 characters.
        allow_create (bool):
        login_region_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | GetContextResponse]
    """

    kwargs = _get_kwargs(
        id=id,
        name=name,
        allow_create=allow_create,
        login_region_id=login_region_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    name: str | Unset = UNSET,
    allow_create: bool,
    login_region_id: str | Unset = UNSET,
) -> ApiEnvelope | GetContextResponse | None:
    """Get a context by id or by name, creating it by name if asked

     Give `id` or `name`. With `allowCreate=true` (only with `name`), a
    context of that name is created when there is none; later calls with
    the same name return the same context. Names are unique in an
    account. An unknown context is a 404.

    Args:
        id (str | Unset):
        name (str | Unset): A context's name: unique in the account, printable text without `/`
            or `\\`, neither `.` nor `..`, at most 256 characters.
        allow_create (bool):
        login_region_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | GetContextResponse
    """

    return sync_detailed(
        client=client,
        id=id,
        name=name,
        allow_create=allow_create,
        login_region_id=login_region_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    name: str | Unset = UNSET,
    allow_create: bool,
    login_region_id: str | Unset = UNSET,
) -> Response[ApiEnvelope | GetContextResponse]:
    """Get a context by id or by name, creating it by name if asked

     Give `id` or `name`. With `allowCreate=true` (only with `name`), a
    context of that name is created when there is none; later calls with
    the same name return the same context. Names are unique in an
    account. An unknown context is a 404.

    Args:
        id (str | Unset):
        name (str | Unset): A context's name: unique in the account, printable text without `/`
            or `\\`, neither `.` nor `..`, at most 256 characters.
        allow_create (bool):
        login_region_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | GetContextResponse]
    """

    kwargs = _get_kwargs(
        id=id,
        name=name,
        allow_create=allow_create,
        login_region_id=login_region_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    name: str | Unset = UNSET,
    allow_create: bool,
    login_region_id: str | Unset = UNSET,
) -> ApiEnvelope | GetContextResponse | None:
    """Get a context by id or by name, creating it by name if asked

     Give `id` or `name`. With `allowCreate=true` (only with `name`), a
    context of that name is created when there is none; later calls with
    the same name return the same context. Names are unique in an
    account. An unknown context is a 404.

    Args:
        id (str | Unset):
        name (str | Unset): A context's name: unique in the account, printable text without `/`
            or `\\`, neither `.` nor `..`, at most 256 characters.
        allow_create (bool):
        login_region_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | GetContextResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            id=id,
            name=name,
            allow_create=allow_create,
            login_region_id=login_region_id,
        )
    ).parsed
