"""The generated API client, configured the one way this package uses it."""

from __future__ import annotations

import httpx

from agb_context._config import Settings
from agb_context._retry import AsyncRetryingTransport, RetryingTransport
from agb_context_api import AuthenticatedClient

USER_AGENT = "agb-context-python"
# Enough connections for hundreds of concurrent syncs sharing one pool.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


def _client(
    settings: Settings, transport: httpx.BaseTransport | httpx.AsyncBaseTransport
) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=settings.base_url,
        token=settings.api_key,
        prefix="",
        auth_header_name="authorization",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=False,
        httpx_args={"transport": transport},
    )


def build_client(settings: Settings) -> AuthenticatedClient:
    """A client for blocking calls (``sync_detailed``), with retries and pooling."""
    return _client(
        settings, RetryingTransport(settings.retry, httpx.HTTPTransport(limits=_LIMITS))
    )


def build_async_client(settings: Settings) -> AuthenticatedClient:
    """A client for one event loop (``asyncio_detailed``), with retries and pooling."""
    return _client(
        settings,
        AsyncRetryingTransport(settings.retry, httpx.AsyncHTTPTransport(limits=_LIMITS)),
    )
