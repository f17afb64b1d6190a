"""The generated API client, configured the one way this package uses it."""

from __future__ import annotations

from contextvars import ContextVar

import httpx

from agb_context._config import Settings
from agb_context._retry import AsyncRetryingTransport, RetryingTransport
from agb_context_api import AuthenticatedClient

USER_AGENT = "agb-context-python"
# Enough connections for hundreds of concurrent syncs sharing one pool.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)

LAST_RESPONSE: ContextVar[httpx.Response | None] = ContextVar("LAST_RESPONSE", default=None)
"""The last response received in this thread or task, kept for calls whose body
the generated code could not read: its status and ``x-request-id`` still count."""


def _remember(response: httpx.Response) -> None:
    LAST_RESPONSE.set(response)


async def _remember_async(response: httpx.Response) -> None:
    LAST_RESPONSE.set(response)


def _client(
    settings: Settings,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport,
    hook: object,
) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=settings.base_url,
        token=settings.api_key,
        prefix="",
        auth_header_name="authorization",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=False,
        httpx_args={"transport": transport, "event_hooks": {"response": [hook]}},
    )


def build_client(settings: Settings) -> AuthenticatedClient:
    """A client for blocking calls (``sync_detailed``), with retries and pooling."""
    transport = RetryingTransport(settings.retry, httpx.HTTPTransport(limits=_LIMITS))
    return _client(settings, transport, _remember)


def build_async_client(settings: Settings) -> AuthenticatedClient:
    """A client for one event loop (``asyncio_detailed``), with retries and pooling."""
    transport = AsyncRetryingTransport(settings.retry, httpx.AsyncHTTPTransport(limits=_LIMITS))
    return _client(settings, transport, _remember_async)
