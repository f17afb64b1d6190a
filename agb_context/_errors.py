"""Exceptions. API failures come back as results; these are for misuse, and for
``result.raise_for_status()`` when a program prefers ``except`` to ``if``.

Every exception a failed result raises is a `RequestFailed` carrying that
result, with a class per kind of failure, so ``except`` clauses need not read
messages::

    AgbContextError
    ├── ConfigurationError            the client cannot be built as asked
    └── RequestFailed                 a failed result (``.result``)
        ├── InvalidArgumentError      refused before any request
        ├── NetworkError              no answer: ``not_sent`` or ``no_response``
        ├── RequestTimeoutError       a request timed out
        ├── StatusError               an HTTP error status (``.http_status``)
        │   ├── BadRequestError       400
        │   ├── AuthenticationError   401
        │   ├── PermissionDeniedError 403
        │   ├── NotFoundError         404
        │   ├── RateLimitError        429
        │   └── ServerError           5xx
        ├── ApiError                  HTTP 200 with ``success: false``
        ├── UnreadableResponseError   not the documented JSON
        ├── SyncFailedError           a task of the sync failed
        ├── StillRunningError         still running when the wait ran out
        └── OperationCancelledError   the wait was cancelled
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agb_context._results import ApiResponse


class AgbContextError(Exception):
    """Base class of the exceptions this package raises."""


class ConfigurationError(AgbContextError, ValueError):
    """The client cannot be built as asked: no API key, a bad endpoint or timeout."""


class RequestFailed(AgbContextError):
    """A failed result, raised by its ``raise_for_status()``; ``result`` is that result."""

    def __init__(self, result: ApiResponse) -> None:
        super().__init__(getattr(result, "error_message", "") or "the request failed")
        self.result = result

    @property
    def request_id(self) -> str:
        """The server's id of the request the failure rests on (``""`` if none)."""
        return self.result.request_id

    @property
    def http_status(self) -> int | None:
        """The HTTP status of the answer, None when no answer came."""
        return self.result.http_status

    @property
    def error_code(self) -> str:
        """The server's ``code`` (``""`` when it gave none)."""
        return self.result.error_code


class InvalidArgumentError(RequestFailed):
    """An argument was refused before any request was sent."""


class NetworkError(RequestFailed):
    """No answer came: the request was not sent, or sent with no answer back."""


class RequestTimeoutError(RequestFailed):
    """A request got no answer in time."""


class StatusError(RequestFailed):
    """The server answered with an HTTP error status."""


class BadRequestError(StatusError):
    """HTTP 400: the server refused the arguments."""


class AuthenticationError(StatusError):
    """HTTP 401: the API key was refused."""


class PermissionDeniedError(StatusError):
    """HTTP 403: the key may not do this."""


class NotFoundError(StatusError):
    """HTTP 404: no such session, mount or context."""


class RateLimitError(StatusError):
    """HTTP 429: too many requests."""


class ServerError(StatusError):
    """HTTP 5xx: the server failed."""


class ApiError(RequestFailed):
    """HTTP 200, but the envelope says ``success: false``."""


class UnreadableResponseError(RequestFailed):
    """The answer was not the documented JSON."""


class SyncFailedError(RequestFailed):
    """A task the sync started ended ``Failed``."""


class StillRunningError(RequestFailed):
    """The work was still running on the server when the wait ran out (it goes on)."""


class OperationCancelledError(RequestFailed):
    """The wait was cancelled (the server's work goes on)."""


_BY_STATUS: dict[int, type[StatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}
_BY_KIND: dict[str, type[RequestFailed]] = {
    "invalid_argument": InvalidArgumentError,
    "not_sent": NetworkError,
    "no_response": NetworkError,
    "timeout": RequestTimeoutError,
    "api_error": ApiError,
    "unreadable_response": UnreadableResponseError,
    "task_failed": SyncFailedError,
    "still_running": StillRunningError,
    "cancelled": OperationCancelledError,
}


def error_for(result: ApiResponse) -> RequestFailed:
    """The exception a failed ``result`` raises."""
    if result.error_kind == "http_status":
        status = result.http_status or 0
        cls: type[RequestFailed] = _BY_STATUS.get(
            status, ServerError if status >= 500 else StatusError
        )
    else:
        cls = _BY_KIND.get(result.error_kind or "", RequestFailed)
    return cls(result)
