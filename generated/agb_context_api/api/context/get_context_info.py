from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_envelope import ApiEnvelope
from ...models.context_info_response import ContextInfoResponse
from ...models.sync_mode import SyncMode
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    task_type: SyncMode | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["sessionId"] = session_id

    params["contextId"] = context_id

    params["path"] = path

    json_task_type: str | Unset = UNSET
    if not isinstance(task_type, Unset):
        json_task_type = task_type.value

    params["taskType"] = json_task_type

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/sdk/GetContextInfo",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiEnvelope | ContextInfoResponse | None:
    if response.status_code == 200:
        response_200 = ContextInfoResponse.from_dict(response.json())

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
) -> Response[ApiEnvelope | ContextInfoResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    task_type: SyncMode | Unset = UNSET,
) -> Response[ApiEnvelope | ContextInfoResponse]:
    """Report the status of the session's sync tasks

     The optional parameters filter the tasks reported; those not given are
    left out of the URL. See `ContextInfoData.contextStatus` for the
    twice-encoded shape of the answer.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        task_type (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | ContextInfoResponse]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        context_id=context_id,
        path=path,
        task_type=task_type,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    task_type: SyncMode | Unset = UNSET,
) -> ApiEnvelope | ContextInfoResponse | None:
    """Report the status of the session's sync tasks

     The optional parameters filter the tasks reported; those not given are
    left out of the URL. See `ContextInfoData.contextStatus` for the
    twice-encoded shape of the answer.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        task_type (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | ContextInfoResponse
    """

    return sync_detailed(
        client=client,
        session_id=session_id,
        context_id=context_id,
        path=path,
        task_type=task_type,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    task_type: SyncMode | Unset = UNSET,
) -> Response[ApiEnvelope | ContextInfoResponse]:
    """Report the status of the session's sync tasks

     The optional parameters filter the tasks reported; those not given are
    left out of the URL. See `ContextInfoData.contextStatus` for the
    twice-encoded shape of the answer.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        task_type (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiEnvelope | ContextInfoResponse]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        context_id=context_id,
        path=path,
        task_type=task_type,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    session_id: str,
    context_id: str | Unset = UNSET,
    path: str | Unset = UNSET,
    task_type: SyncMode | Unset = UNSET,
) -> ApiEnvelope | ContextInfoResponse | None:
    """Report the status of the session's sync tasks

     The optional parameters filter the tasks reported; those not given are
    left out of the URL. See `ContextInfoData.contextStatus` for the
    twice-encoded shape of the answer.

    Args:
        session_id (str):
        context_id (str | Unset):
        path (str | Unset):
        task_type (SyncMode | Unset): `upload` copies the session's mount into the context store;
            `download` copies the stored context into the session's mount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiEnvelope | ContextInfoResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            session_id=session_id,
            context_id=context_id,
            path=path,
            task_type=task_type,
        )
    ).parsed
