from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_envelope import ApiEnvelope
from ...models.empty_body import EmptyBody
from ...models.sync_mode import SyncMode
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EmptyBody,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    mode: SyncMode | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["sessionId"] = session_id

    params["contextId"] = context_id

    params["path"] = path

    json_mode: str | Unset = UNSET
    if not isinstance(mode, Unset):
        json_mode = mode.value

    params["mode"] = json_mode

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sdk/SyncContext",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiEnvelope | None:
    if response.status_code == 200:
        response_200 = ApiEnvelope.from_dict(response.json())

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
) -> Response[ApiEnvelope]:
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
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    mode: SyncMode | Unset = UNSET,
) -> Response[ApiEnvelope]:
    """Start a sync of one mounted context, or of every context in the session

     Returns as soon as the server has accepted the work. The work itself
    runs on the server and is watched through `GetContextInfo`.
    `contextId` and `path` are given together, or neither (then every
    context mounted in the session is synced). Optional parameters that
    are not given are left out of the URL, never sent empty.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        mode (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        session_id=session_id,
        context_id=context_id,
        path=path,
        mode=mode,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    mode: SyncMode | Unset = UNSET,
) -> ApiEnvelope | None:
    """Start a sync of one mounted context, or of every context in the session

     Returns as soon as the server has accepted the work. The work itself
    runs on the server and is watched through `GetContextInfo`.
    `contextId` and `path` are given together, or neither (then every
    context mounted in the session is synced). Optional parameters that
    are not given are left out of the URL, never sent empty.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        mode (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
        session_id=session_id,
        context_id=context_id,
        path=path,
        mode=mode,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    mode: SyncMode | Unset = UNSET,
) -> Response[ApiEnvelope]:
    """Start a sync of one mounted context, or of every context in the session

     Returns as soon as the server has accepted the work. The work itself
    runs on the server and is watched through `GetContextInfo`.
    `contextId` and `path` are given together, or neither (then every
    context mounted in the session is synced). Optional parameters that
    are not given are left out of the URL, never sent empty.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        mode (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        session_id=session_id,
        context_id=context_id,
        path=path,
        mode=mode,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmptyBody,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    mode: SyncMode | Unset = UNSET,
) -> ApiEnvelope | None:
    """Start a sync of one mounted context, or of every context in the session

     Returns as soon as the server has accepted the work. The work itself
    runs on the server and is watched through `GetContextInfo`.
    `contextId` and `path` are given together, or neither (then every
    context mounted in the session is synced). Optional parameters that
    are not given are left out of the URL, never sent empty.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        mode (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.
        body (EmptyBody): The empty JSON object `{}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            session_id=session_id,
            context_id=context_id,
            path=path,
            mode=mode,
        )
    ).parsed
