from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_envelope import ApiEnvelope
from ...models.list_contexts_response import ListContextsResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    max_results: int | Unset = 10,
    next_token: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["maxResults"] = max_results

    params["nextToken"] = next_token

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/sdk/ListContexts",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiEnvelope | ListContextsResponse | None:
    if response.status_code == 200:
        response_200 = ListContextsResponse.from_dict(response.json())

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
) -> Response[ApiEnvelope | ListContextsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    max_results: int | Unset = 10,
    next_token: str | Unset = UNSET,
) -> Response[ApiEnvelope | ListContextsResponse]:
    """List the contexts of the account, one page at a time

     Contexts come in a stable order. `nextToken` of the answer, given back
    as the `nextToken` parameter, gives the next page; it is absent (or
    empty) on the last page. Tokens are opaque: a client never builds or
    changes one. Paging stays correct while contexts are created and
    deleted between pages: a context that exists from the first page to
    the last is listed exactly once.

    Args:
        max_results (int | Unset):  Default: 10.
        next_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | ListContextsResponse]
    """

    kwargs = _get_kwargs(
        max_results=max_results,
        next_token=next_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    max_results: int | Unset = 10,
    next_token: str | Unset = UNSET,
) -> ApiEnvelope | ListContextsResponse | None:
    """List the contexts of the account, one page at a time

     Contexts come in a stable order. `nextToken` of the answer, given back
    as the `nextToken` parameter, gives the next page; it is absent (or
    empty) on the last page. Tokens are opaque: a client never builds or
    changes one. Paging stays correct while contexts are created and
    deleted between pages: a context that exists from the first page to
    the last is listed exactly once.

    Args:
        max_results (int | Unset):  Default: 10.
        next_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | ListContextsResponse
    """

    return sync_detailed(
        client=client,
        max_results=max_results,
        next_token=next_token,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    max_results: int | Unset = 10,
    next_token: str | Unset = UNSET,
) -> Response[ApiEnvelope | ListContextsResponse]:
    """List the contexts of the account, one page at a time

     Contexts come in a stable order. `nextToken` of the answer, given back
    as the `nextToken` parameter, gives the next page; it is absent (or
    empty) on the last page. Tokens are opaque: a client never builds or
    changes one. Paging stays correct while contexts are created and
    deleted between pages: a context that exists from the first page to
    the last is listed exactly once.

    Args:
        max_results (int | Unset):  Default: 10.
        next_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | ListContextsResponse]
    """

    kwargs = _get_kwargs(
        max_results=max_results,
        next_token=next_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    max_results: int | Unset = 10,
    next_token: str | Unset = UNSET,
) -> ApiEnvelope | ListContextsResponse | None:
    """List the contexts of the account, one page at a time

     Contexts come in a stable order. `nextToken` of the answer, given back
    as the `nextToken` parameter, gives the next page; it is absent (or
    empty) on the last page. Tokens are opaque: a client never builds or
    changes one. Paging stays correct while contexts are created and
    deleted between pages: a context that exists from the first page to
    the last is listed exactly once.

    Args:
        max_results (int | Unset):  Default: 10.
        next_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | ListContextsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            max_results=max_results,
            next_token=next_token,
        )
    ).parsed
