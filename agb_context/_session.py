"""`Session`: a small session object, so that ``session.context.sync()`` reads literally."""

from __future__ import annotations

import httpx

from agb_context._lifetime import ClosedByWith
from agb_context._manager import ContextManager
from agb_context._retry import RetryPolicy
from agb_context._tls import Verify


class Session(ClosedByWith):
    """A session of the AGB cloud, reduced to what the context API needs.

    ``session.context`` is its `ContextManager`; ``get_session_id()`` and
    ``get_api_key()`` match the AGB SDK's ``Session``. The arguments are those
    of `ContextManager`.
    """

    def __init__(
        self,
        session_id: str,
        *,
        api_key: str | None = None,
        endpoint: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        allow_insecure_http: bool = False,
        retry: RetryPolicy | None = None,
        proxy: str | httpx.URL | httpx.Proxy | None = None,
        verify: Verify = True,
        user_agent_suffix: str | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.context = ContextManager(
            session_id,
            api_key=api_key,
            endpoint=endpoint,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
            retry=retry,
            proxy=proxy,
            verify=verify,
            user_agent_suffix=user_agent_suffix,
            max_in_flight=max_in_flight,
        )

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.context.session_id

    @property
    def endpoint(self) -> str:
        """The base URL the session's requests go to."""
        return self.context.endpoint

    @property
    def timeout_ms(self) -> float:
        """The read timeout of each request, in milliseconds."""
        read = self.context._settings.timeout.read
        return 0.0 if read is None else read * 1000

    def get_session_id(self) -> str:
        """The session's id."""
        return self.context.session_id

    def get_api_key(self) -> str:
        """The API key the session's requests carry."""
        return self.context._settings.api_key

    def close(self) -> None:
        """Release the session's connections (see `ContextManager.close`)."""
        self.context.close()

    async def aclose(self) -> None:
        """`close` for async code (see `ContextManager.aclose`)."""
        await self.context.aclose()

    def __repr__(self) -> str:
        return f"Session(session_id={self.session_id!r}, endpoint={self.context.endpoint!r})"
