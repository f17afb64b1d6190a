"""The generated API client, configured the one way this package uses it."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from agb_context._config import Settings
from agb_context._retry import AsyncRetryingTransport, RetryingTransport
from agb_context_api import AuthenticatedClient

USER_AGENT = "agb-context-python"
# Enough connections for hundreds of concurrent syncs sharing one pool.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context shared by every client: making one loads the CA bundle (~30 ms)."""
    return httpx.create_ssl_context()


def _http_args(settings: Settings) -> dict[str, Any]:
    """What the blocking and the asyncio httpx clients share."""
    return {
        "base_url": settings.base_url,
        "headers": {
            "authorization": f"Bearer {settings.api_key}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        },
        "timeout": settings.timeout,
        "follow_redirects": False,
    }


def _generated_client(settings: Settings) -> AuthenticatedClient:
    # The key travels only in the httpx client's headers (whose repr masks it):
    # the generated client, whose repr would show its token, holds none.
    return AuthenticatedClient(base_url=settings.base_url, token="", prefix="")


def build_client(settings: Settings) -> AuthenticatedClient:
    """A client for blocking calls (``sync_detailed``), with retries and pooling."""
    http = httpx.Client(
        **_http_args(settings),
        transport=RetryingTransport(
            settings.retry, httpx.HTTPTransport(verify=_ssl_context(), limits=_LIMITS)
        ),
    )
    return _generated_client(settings).set_httpx_client(http)


def build_async_client(settings: Settings) -> AuthenticatedClient:
    """A client for one event loop (``asyncio_detailed``), with retries and pooling."""
    http = httpx.AsyncClient(
        **_http_args(settings),
        transport=AsyncRetryingTransport(
            settings.retry, httpx.AsyncHTTPTransport(verify=_ssl_context(), limits=_LIMITS)
        ),
    )
    return _generated_client(settings).set_async_httpx_client(http)
