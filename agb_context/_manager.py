"""`ContextManager`: watch and run the context syncs of one session."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx

from agb_context import _validation as check
from agb_context._config import normalize_endpoint, resolve_settings
from agb_context._errors import ConfigurationError
from agb_context._flow import wait_for_room
from agb_context._http import ClientPool
from agb_context._lifetime import Closable
from agb_context._operation import OperationSet, SyncOperation
from agb_context._polling import PollClock, PollingPolicy
from agb_context._results import ContextInfoResult, ContextSyncResult, log_failure
from agb_context._retry import RetryPolicy
from agb_context._sync_outcome import SyncJudge
from agb_context._tls import Verify
from agb_context._types import SyncMode

if TYPE_CHECKING:
    from agb_context._calls import ApiCalls
    from agb_context_api import AuthenticatedClient

logger = logging.getLogger("agb_context")

_BASELINE_TRIES = 3


@runtime_checkable
class SessionLike(Protocol):
    """What `ContextManager` needs of a session object (the AGB SDK's ``Session`` fits)."""

    def get_session_id(self) -> str: ...

    def get_api_key(self) -> str: ...


class ContextManager(Closable):
    """Manages the context syncs of one session: `info` and `sync`.

    Args:
        session: The session id, or an object with ``get_session_id()`` and
            ``get_api_key()`` (such as the AGB SDK's ``Session``; its key is
            used unless ``api_key`` is given).
        api_key: The API key; defaults to ``AGB_API_KEY``.
        endpoint: Host name or URL of the API; defaults to ``AGB_ENDPOINT``,
            then ``sdk-api.agb.cloud``. ``https://`` is added when no scheme is given.
        timeout: Seconds allowed for reading each response (and for writing
            the request, and waiting for a pooled connection), or an
            `httpx.Timeout` for each phase. Defaults to ``AGB_TIMEOUT_MS``
            (milliseconds), then 60 s. Connecting gets at most 10 s unless an
            `httpx.Timeout` or ``AGB_CONNECT_TIMEOUT_MS`` says otherwise.
        allow_insecure_http: Allow plain ``http`` to a host other than this
            machine (the key would travel in clear text).
        retry: How failed requests are retried (see `RetryPolicy`); defaults
            to ``RetryPolicy()``, with ``AGB_MAX_RETRIES`` retries if set.
        proxy: A proxy URL (``http://``, ``https://``, ``socks5://``; any
            ``user:password@`` in it is used and never shown) or an
            `httpx.Proxy`. Defaults to ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
            ``ALL_PROXY`` with ``NO_PROXY``, read as httpx reads them.
        verify: Which TLS certificates to trust: True (``SSL_CERT_FILE``,
            ``SSL_CERT_DIR`` or ``REQUESTS_CA_BUNDLE`` if set, else
            certifi's bundle), the path of a CA bundle file or folder, an
            `ssl.SSLContext`, or False to verify nothing (warns with
            `InsecureTLSWarning`: the key can then be read by anyone on the path).
        user_agent_suffix: Text appended to the ``User-Agent`` header
            (``agb-context-python/<version> Python/<x.y>``); defaults to
            ``AGB_USER_AGENT_SUFFIX``.
        max_in_flight: How many requests of async calls may be in flight at
            once on one event loop, shared with every manager and service on
            that loop with the same limit; defaults to ``AGB_MAX_IN_FLIGHT``,
            then 16. A burst of syncs then runs a few requests per loop step.
            A retry's wait (a ``Retry-After``, say) holds no place.

    Blank strings count as not given: the environment variable, then the
    default, is used instead.

    Raises:
        ConfigurationError: No API key, or an invalid session id, endpoint,
            timeout, proxy, CA bundle, User-Agent suffix or ``max_in_flight``;
            the message names it.

    Connections are pooled and reused. Use ``with`` / ``async with`` or call
    `close` (`aclose` in async code) to release them; closing cancels syncs
    still being watched.
    """

    def __init__(
        self,
        session: str | SessionLike,
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
        if isinstance(session, str):
            raw_id: object = session
        elif isinstance(session, SessionLike):
            raw_id = session.get_session_id()
            if api_key is None:
                api_key = session.get_api_key()
            endpoint, timeout = _take_session_connection(session, endpoint, timeout)
        else:
            raise TypeError(
                "session must be a session id (str) or an object with get_session_id() "
                f"and get_api_key(), not {type(session).__name__}"
            )
        try:
            self._session_id = check.session_id(raw_id)
        except check.InvalidArgument as exc:
            raise ConfigurationError(str(exc)) from None
        self._settings = resolve_settings(
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
        self._api_calls: ApiCalls | None = None
        self._lock = threading.Lock()
        self._clients = ClientPool(self._settings, "ContextManager")
        self._operations = OperationSet()
        self._closed = False

    @property
    def _calls(self) -> ApiCalls:
        calls = self._api_calls
        if calls is None:
            # Imported on first use, not in `__init__`: the generated client stays out of
            # `import agb_context`, and async code has it imported off the event loop.
            from agb_context._calls import ApiCalls

            calls = self._api_calls = ApiCalls(self._session_id, self._settings)
        return calls

    @property
    def session_id(self) -> str:
        """The id of the session whose contexts this manager syncs."""
        return self._session_id

    @property
    def endpoint(self) -> str:
        """The base URL requests go to."""
        return self._settings.base_url

    def __repr__(self) -> str:
        return f"ContextManager(session_id={self._session_id!r}, endpoint={self.endpoint!r})"

    # -- info ----------------------------------------------------------------

    def info(
        self,
        context_id: str | None = None,
        path: str | None = None,
        task_type: SyncMode | None = None,
    ) -> ContextInfoResult:
        """Get the status of the session's context sync tasks (blocking).

        Args:
            context_id: Report only tasks of this context.
            path: Report only tasks of this mount path.
            task_type: Report only ``"upload"`` or ``"download"`` tasks.

        Returns:
            A `ContextInfoResult`. It never raises for API or network failures,
            which give ``success=False`` with ``error_message`` saying why. In
            async code use `info_async`, which does not block the event loop.
        """
        query = self._info_query(context_id, path, task_type)
        if isinstance(query, ContextInfoResult):
            return query
        result = self._calls.info_blocking(self._blocking_client(), query)
        log_failure(f"info of session {self._session_id}", result)
        return result

    async def info_async(
        self,
        context_id: str | None = None,
        path: str | None = None,
        task_type: SyncMode | None = None,
    ) -> ContextInfoResult:
        """The non-blocking `info`, for async code: same arguments, same result."""
        query = self._info_query(context_id, path, task_type)
        if isinstance(query, ContextInfoResult):
            return query
        client = await self._async_client()
        result = await self._calls.info(client, query)
        log_failure(f"info of session {self._session_id}", result)
        return result

    # -- sync ----------------------------------------------------------------

    def sync(
        self,
        context_id: str | None = None,
        path: str | None = None,
        mode: SyncMode | None = None,
        callback: Callable[[bool], object] | None = None,
        max_retries: int = 150,
        retry_interval: int = 1500,
        *,
        timeout: float | None = None,
        polling: PollingPolicy | None = None,
    ) -> SyncOperation:
        """Start a sync and wait for it, in whichever style suits the caller.

        * ``result = await cm.sync(...)`` in async code: waits without blocking
          the event loop and gives the final `ContextSyncResult`.
        * ``cm.sync(callback=fn)`` from plain code returns at once; ``fn(success)``
          is called exactly once when the sync is over (also on failure,
          invalid arguments, timeout or cancellation), on the SDK's background
          thread ``agb-context-loop``. Called inside a running event loop, the
          sync runs on that loop and ``fn`` is called there.
        * ``cm.sync(...).result(timeout=None)`` from plain code blocks until the end.

        What "done" means: the sync is judged only by the tasks it started.
        Just before starting it, the SDK reads the tasks listed for the same
        context, path and direction; tasks listed then (and earlier tasks a
        server lists beside the new ones) never count. Success means every
        task the sync started was seen final with ``Success``. A sync of every
        mount, or one whose task the server never lists, also waits for the
        policy's grace (by default 2 s and 3 polls after the server accepted
        it) so that a task listed late is not missed; if no task is listed by
        then, there was nothing to sync and the result is a success.

        Args:
            context_id: The context to sync; give ``path`` too, or neither to
                sync every context mounted in the session.
            path: The mount path of that context in the session.
            mode: ``"upload"`` (session to context store, the server's default)
                or ``"download"``.
            callback: Called with ``True`` or ``False`` once the sync is over.
            max_retries: How many times to poll for the outcome (>= 1).
            retry_interval: Milliseconds between polls (> 0).
            timeout: Seconds the whole sync may take, polls included; then it
                reports a timeout (the server's sync goes on).
            polling: A `PollingPolicy` instead of ``max_retries`` and
                ``retry_interval`` (e.g. ``PollingPolicy.exponential()``).

        Returns:
            A `SyncOperation` handle, awaitable, with ``result(timeout)``,
            ``done()``, ``cancel()``, ``add_done_callback()``, ``request_id``
            (set once the server accepts the sync) and its progress
            (``progress``, ``status()``, ``add_progress_callback()``,
            ``watch()``). Invalid arguments give an operation that is already
            over, with ``success=False`` and a message naming the argument; no
            request is sent.

        Raises:
            TypeError: ``callback`` is not callable.
            RuntimeError: Nothing can be started: the manager is closed, the
                event loop it is called on is shutting down (``asyncio.run``
                ending), or the interpreter's exit has begun.
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        self._check_open()
        try:
            request = check.sync_request(
                context_id, path, mode, max_retries, retry_interval, timeout, polling
            )
        except check.InvalidArgument as exc:
            refused = ContextSyncResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
            log_failure(f"sync of session {self._session_id}", refused)
            operation = SyncOperation._finished(refused)
            if callback is not None:
                operation.add_done_callback(lambda op: callback(op.succeeded()))
            return operation
        operation = SyncOperation()
        self._operations.launch(operation, self._run_sync(operation, request), callback)
        return operation

    async def _run_sync(
        self, operation: SyncOperation, request: check.SyncRequest
    ) -> ContextSyncResult:
        result = await self._sync_steps(operation, request)
        if result.success:
            logger.debug("sync %s of session %s succeeded", result.request_id, self._session_id)
        else:
            log_failure(f"sync of session {self._session_id}", result)
        return result

    async def _sync_steps(
        self, operation: SyncOperation, request: check.SyncRequest
    ) -> ContextSyncResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # A burst of syncs queues here before any builds what it needs: each one's
        # first step stays short, and the rest comes a few syncs at a time.
        await wait_for_room(self._settings.max_in_flight)
        policy = request.policy
        client = await self._async_client()
        query = check.InfoQuery(
            context_id=request.context_id, path=request.path, task_type=request.direction
        )

        poll = self._calls.status_poll(client, query)

        judge = SyncJudge(
            context_id=request.context_id,
            path=request.path,
            direction=request.direction,
            policy=policy,
        )
        try:
            async with asyncio.timeout_at(
                None if policy.deadline is None else started + policy.deadline
            ):
                baseline = await _read_baseline(poll, policy)
                if not baseline.success:
                    return ContextSyncResult(
                        success=False,
                        request_id=baseline.request_id,
                        http_status=baseline.http_status,
                        error_kind=baseline.error_kind,
                        error_code=baseline.error_code,
                        retryable=baseline.retryable,
                        error_message=f"the sync was not started: {baseline.error_message}",
                    )
                judge.set_baseline(baseline.context_status_data)
                accepted = await self._calls.start_sync(client, request)
        except TimeoutError:
            return ContextSyncResult(
                success=False,
                error_kind="timeout",
                retryable=True,
                error_message=(
                    f"the {policy.deadline:g}s deadline ran out before the server answered "
                    "the request to start the sync; it may or may not have started"
                ),
            )
        if not accepted.success:
            return accepted
        judge.accepted(accepted.request_id, PollClock(polls=0, elapsed=loop.time() - started))
        operation._accepted(accepted.request_id)

        return await operation._follow(policy, poll, judge, started=started)

    # -- lifetime ------------------------------------------------------------

    def _closing(self) -> None:
        with self._lock:
            self._closed = True
        self._operations.cancel_all()

    # -- internals -----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this ContextManager is closed")

    def _info_query(
        self, context_id: object, path: object, task_type: object
    ) -> check.InfoQuery | ContextInfoResult:
        self._check_open()
        try:
            return check.InfoQuery(
                context_id=check.optional_text("context_id", context_id),
                path=check.optional_text("path", path),
                task_type=check.sync_mode("task_type", task_type),
            )
        except check.InvalidArgument as exc:
            refused = ContextInfoResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
            log_failure(f"info of session {self._session_id}", refused)
            return refused

    def _blocking_client(self) -> AuthenticatedClient:
        self._check_open()
        return self._clients.blocking()

    async def _async_client(self) -> AuthenticatedClient:
        """The client of the running loop: httpx connections belong to one loop."""
        self._check_open()
        return await self._clients.for_running_loop_async()


def _take_session_connection(
    session: SessionLike,
    endpoint: str | None,
    timeout: float | httpx.Timeout | None,
) -> tuple[str | None, float | httpx.Timeout | None]:
    """The endpoint and timeout a session object carries, merged with the arguments.

    The AGB SDK's ``Session`` carries them on its ``agb`` object (``endpoint``,
    ``timeout_ms``); this package's `Session` carries them itself. A session
    without them leaves the arguments as they are. An ``endpoint`` argument
    that names another host than the session's is refused: the key belongs
    to the session's.
    """
    source = getattr(session, "agb", None) or session
    own_endpoint = getattr(source, "endpoint", None)
    own_timeout_ms = getattr(source, "timeout_ms", None)
    if isinstance(own_endpoint, str) and own_endpoint.strip():
        if endpoint is not None and endpoint.strip():
            mine = normalize_endpoint(endpoint, allow_insecure_http=True)
            theirs = normalize_endpoint(own_endpoint, allow_insecure_http=True)
            if mine != theirs:
                raise ConfigurationError(
                    f"endpoint {mine!r} differs from the session's {theirs!r}: the session's "
                    "key is for its own endpoint; leave endpoint out to use the session's"
                )
        endpoint = own_endpoint
    if (
        timeout is None
        and isinstance(own_timeout_ms, int | float)
        and not isinstance(own_timeout_ms, bool)
        and own_timeout_ms > 0
    ):
        timeout = own_timeout_ms / 1000
    return endpoint, timeout


async def _read_baseline(
    poll: Callable[[], Awaitable[ContextInfoResult]], policy: PollingPolicy
) -> ContextInfoResult:
    """The tasks listed before a sync starts: up to three tries, ``interval`` apart.

    A refusal that will not change (a 4xx other than 408 and 429) is not tried again.
    """
    info = await poll()
    for _ in range(_BASELINE_TRIES - 1):
        if info.success or (
            info.http_status is not None
            and 400 <= info.http_status < 500
            and info.http_status not in (408, 429)
        ):
            break
        logger.debug("reading the tasks before a sync failed: %s", info.error_message)
        await asyncio.sleep(policy.interval)
        info = await poll()
    return info
