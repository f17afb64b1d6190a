"""When to send a request again: one policy, applied by an httpx transport.

Reads (``GET``, ``HEAD``, ``OPTIONS``, such as ``GetContextInfo``) are
retried on connection errors and timeouts, and on HTTP 408, 429, 500, 502,
503 and 504, with exponential backoff and jitter, honouring ``Retry-After``.

Anything else (a ``POST`` such as ``SyncContext``) is retried only when the
server cannot have processed it: the request never left this machine (the
connection, or the proxy tunnel, was never made), or the server answered
429 or 503 with a ``Retry-After`` header, saying it turned the request away.

Never retried: a TLS certificate that could not be verified (it will not
verify the second time either), and a request sent with the extension
``{"agb_context.retry": False}`` (status polls, which have their own schedule).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import ssl
import time

import attrs
import httpx

from agb_context._tls import tls_error

logger = logging.getLogger("agb_context")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses after which a read is sent again."""
REFUSED_STATUSES = frozenset({429, 503})
"""Statuses that, with ``Retry-After``, mean the server did not process the request."""
NO_RETRY_EXTENSION = "agb_context.retry"
"""Request extension: ``False`` means never retry this request."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Errors raised before any byte of the request reached the server.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def _whole_count(_: object, field: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field.name} must be a whole number, not {value!r}")
    if value < 0:
        raise ValueError(f"{field.name} must be >= 0, not {value!r}")


def _seconds(_: object, field: attrs.Attribute[float], value: object) -> None:
    _check_seconds(field.name, value, endless=False)


def _seconds_or_no_cap(_: object, field: attrs.Attribute[float], value: object) -> None:
    _check_seconds(field.name, value, endless=True)


def _check_seconds(name: str, value: object, *, endless: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if math.isnan(value) or value < 0 or (math.isinf(value) and not endless):
        what = "a number of seconds >= 0" + (" (or math.inf)" if endless else ", finite")
        raise ValueError(f"{name} must be {what}, not {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently a failed request is sent again.

    Built with keyword arguments of the attributes' names, e.g.
    ``RetryPolicy(max_retries=0)``.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Seconds before the first retry; doubles each time.
        max_delay: Upper bound on the backoff delay, in seconds.
        max_retry_after: A ``Retry-After`` longer than this (seconds) is not
            waited for: the response is returned as it is (``math.inf``: no cap).

    Raises:
        TypeError, ValueError: A value of the wrong type, negative, or (for the
            delays) endless; the message names it.
    """

    max_retries: int = attrs.field(default=2, validator=_whole_count)
    initial_delay: float = attrs.field(default=0.5, validator=_seconds)
    max_delay: float = attrs.field(default=8.0, validator=_seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds_or_no_cap)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt + 1``: exponential, capped, with jitter."""
        delay = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return delay * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not crypto

    def delay_after_error(
        self, request: httpx.Request, attempt: int, error: Exception
    ) -> float | None:
        """Seconds to wait before retrying after a transport error, or None to give up."""
        if (
            attempt >= self.max_retries
            or not _may_retry(request)
            or not isinstance(error, httpx.TransportError)
            or is_certificate_error(error)
        ):
            return None
        if request.method not in _SAFE_METHODS and not isinstance(error, _NOT_SENT_ERRORS):
            return None
        return self.backoff(attempt)

    def delay_after_response(
        self, request: httpx.Request, attempt: int, response: httpx.Response
    ) -> float | None:
        """Seconds to wait before retrying after a response, or None to keep it."""
        status = response.status_code
        if attempt >= self.max_retries or not _may_retry(request) or status not in RETRY_STATUSES:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if request.method not in _SAFE_METHODS and (
            retry_after is None or status not in REFUSED_STATUSES
        ):
            return None
        if retry_after is None:
            return self.backoff(attempt)
        return retry_after if retry_after <= self.max_retry_after else None


def _may_retry(request: httpx.Request) -> bool:
    return request.extensions.get(NO_RETRY_EXTENSION, True) is not False


def is_certificate_error(error: BaseException) -> bool:
    """Whether ``error`` comes from a TLS certificate that could not be verified."""
    return isinstance(tls_error(error), ssl.SSLCertVerificationError)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _answered(response: httpx.Response) -> str:
    """A retried answer, for the log: its status and request id."""
    return f"HTTP {response.status_code} (request {response.headers.get('x-request-id', 'none')})"


def _log_retry(request: httpx.Request, delay: float, attempt: int, reason: str) -> None:
    logger.debug(
        "retrying %s %s in %.2fs after %s (retry %d)",
        request.method,
        request.url.path,
        delay,
        reason,
        attempt + 1,
    )


class RetryingTransport(httpx.BaseTransport):
    """A blocking transport that applies a `RetryPolicy` around another transport."""

    def __init__(self, policy: RetryPolicy, inner: httpx.BaseTransport | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._inner.handle_request(request)
            except httpx.TransportError as exc:
                delay = self._policy.delay_after_error(request, attempt, exc)
                if delay is None:
                    raise
                reason = type(exc).__name__
            else:
                delay = self._policy.delay_after_response(request, attempt, response)
                if delay is None:
                    return response
                response.close()
                reason = _answered(response)
            _log_retry(request, delay, attempt, reason)
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self._inner.close()


class AsyncRetryingTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of `RetryingTransport`: the same policy, awaited sleeps."""

    def __init__(self, policy: RetryPolicy, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                delay = self._policy.delay_after_error(request, attempt, exc)
                if delay is None:
                    raise
                reason = type(exc).__name__
            else:
                delay = self._policy.delay_after_response(request, attempt, response)
                if delay is None:
                    return response
                await response.aclose()
                reason = _answered(response)
            _log_retry(request, delay, attempt, reason)
            await asyncio.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()
