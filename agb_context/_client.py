"""The generated API client, configured the one way this package uses it."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from agb_context._asyncio_network import use_asyncio_network
from agb_context._config import Settings
from agb_context._flow import AsyncGatedTransport
from agb_context._proxy import proxy_label
from agb_context._retry import AsyncRetryingTransport, RetryingTransport
from agb_context._tls import no_tls_context, tls_error
from agb_context_api import AuthenticatedClient

# Enough connections for hundreds of concurrent syncs sharing one pool.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


_SPENT = httpx.ByteStream(b"")


class _CookiesWhenSet(httpx.Cookies):
    """Cookies that look at a response only when it sets some.

    httpx copies every response and its request into urllib objects to look
    for cookies (about 40 us a response); the jar ends up the same.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _ReadsCookiesWhenSet:
    """Makes an httpx client keep its cookies in `_CookiesWhenSet`."""

    def __init__(self, *, cookies: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = cookies

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies_when_set

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._cookies_when_set = _CookiesWhenSet(cookies)


class _Client(_ReadsCookiesWhenSet, httpx.Client):
    """An httpx client whose fully read responses are freed as soon as they are dropped,
    and that reads cookies only from responses that set some.

    httpx binds a response and its stream to each other; the SDK reads every
    answer whole, so it cuts that cycle once the body is in. Otherwise each
    response would wait for the garbage collector, and a burst of syncs makes
    enough of them to set off full collections that stall the event loop.
    """

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = super().send(request, **kwargs)
        if response.is_closed:  # read whole: nothing streams from it again
            response.stream = _SPENT
        return response


class _AsyncClient(_ReadsCookiesWhenSet, httpx.AsyncClient):
    """The asyncio `_Client`."""

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, **kwargs)
        if response.is_closed:
            response.stream = _SPENT
        return response


def _http_args(settings: Settings) -> dict[str, Any]:
    """What the blocking and the asyncio httpx clients share."""
    return {
        "base_url": settings.base_url,
        "headers": {
            "authorization": f"Bearer {settings.api_key}",
            "Content-Type": "application/json",
            "User-Agent": settings.user_agent,
        },
        "timeout": settings.timeout,
        "follow_redirects": False,
        # The proxy and the CA certificates were chosen when the settings were
        # made (see `resolve_settings`); nothing else is to come from the environment.
        "trust_env": False,
    }


def _transport_args(settings: Settings) -> dict[str, Any]:
    verify = settings.tls.context if settings.uses_tls else no_tls_context()
    limits = _LIMITS
    if settings.max_in_flight > (limits.max_connections or 0):
        # An asyncio client shared by several owners may have this many in flight.
        limits = httpx.Limits(
            max_connections=settings.max_in_flight,
            max_keepalive_connections=limits.max_keepalive_connections,
        )
    return {"verify": verify, "limits": limits, "proxy": settings.proxy}


def _generated_client(settings: Settings) -> AuthenticatedClient:
    # The key travels only in the httpx client's headers (whose repr masks it):
    # the generated client, whose repr would show its token, holds none.
    return AuthenticatedClient(base_url=settings.base_url, token="", prefix="")


def build_client(settings: Settings) -> AuthenticatedClient:
    """A client for blocking calls, with retries, pooling, the proxy and TLS trust."""
    http = _Client(
        **_http_args(settings),
        transport=RetryingTransport(
            settings.retry, httpx.HTTPTransport(**_transport_args(settings))
        ),
    )
    return _generated_client(settings).set_httpx_client(http)


def build_async_client(settings: Settings) -> AuthenticatedClient:
    """A client for one event loop, with retries, pooling, the proxy, TLS trust and
    the loop's limit on requests in flight (taken by each attempt, not by retry waits);
    its connections are the loop's own (`use_asyncio_network`)."""
    network = httpx.AsyncHTTPTransport(**_transport_args(settings))
    use_asyncio_network(network)
    http = _AsyncClient(
        **_http_args(settings),
        transport=AsyncRetryingTransport(
            settings.retry, AsyncGatedTransport(network, settings.max_in_flight)
        ),
    )
    return _generated_client(settings).set_async_httpx_client(http)


def describe_transport_error(error: httpx.HTTPError, settings: Settings) -> str:
    """Why a request got no response, in words that point at the cause.

    TLS failures name the host and what to trust; timeouts say which phase
    ran out and its limit; failures through a proxy name the proxy (never
    its credentials).
    """
    where = settings.base_url
    host = httpx.URL(where).host
    timeout = settings.timeout
    via = "" if settings.proxy is None else f" through the proxy {proxy_label(settings.proxy)}"
    name = type(error).__name__
    if isinstance(error, httpx.ConnectTimeout):
        return f"could not connect to {where}{via} within {_limit(timeout.connect)} ({name})"
    if isinstance(error, httpx.ReadTimeout):
        return f"no response from {where} within {_limit(timeout.read)} ({name})"
    if isinstance(error, httpx.WriteTimeout):
        return f"could not send the request to {where} within {_limit(timeout.write)} ({name})"
    if isinstance(error, httpx.PoolTimeout):
        return f"no connection to {where} was free within {_limit(timeout.pool)} ({name})"
    if isinstance(error, httpx.TimeoutException):
        return f"no response from {where} in time ({name})"
    failure = tls_error(error)
    if isinstance(failure, ssl.SSLCertVerificationError):
        reason = failure.verify_message or failure.reason or str(failure)
        return (
            f"TLS certificate of {host} could not be verified ({reason}) against "
            f"{settings.tls.source}; to trust another CA, point SSL_CERT_FILE or "
            "REQUESTS_CA_BUNDLE at its certificates"
        )
    if failure is not None:
        return f"TLS handshake with {host} failed: {failure.reason or failure}"
    if isinstance(error, httpx.ProxyError):
        return f"the proxy {_proxy(settings)} did not open a tunnel to {host}: {error}"
    return f"could not reach {where}{via}: {str(error) or name}"


def _limit(seconds: float | None) -> str:
    return "no limit" if seconds is None else f"{seconds:g}s"


def _proxy(settings: Settings) -> str:
    return "" if settings.proxy is None else proxy_label(settings.proxy)
