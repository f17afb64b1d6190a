"""`ContextService`: the contexts of an account: list, find or create, rename, delete, clear."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import attrs
import httpx

from agb_context import _validation as check
from agb_context._clear_outcome import ClearJudge
from agb_context._config import resolve_settings
from agb_context._errors import AgbContextError
from agb_context._http import ClientPool
from agb_context._lifetime import Closable
from agb_context._operation import ClearOperation, OperationSet
from agb_context._polling import PollingPolicy
from agb_context._results import (
    ClearContextResult,
    Context,
    ContextListResult,
    ContextResult,
    OperationResult,
    log_failure,
)
from agb_context._retry import RetryPolicy
from agb_context._service_files import ContextFiles, TransferTasks
from agb_context._tls import Verify

if TYPE_CHECKING:
    from agb_context._context_calls import Call, ContextCalls

logger = logging.getLogger("agb_context")

R = TypeVar("R")


@runtime_checkable
class ContextLike(Protocol):
    """What `ContextService.update` and `ContextService.delete` need of a context.

    `Context` fits, and so does the AGB SDK's ``Context``.
    """

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


@attrs.frozen(kw_only=True)
class ContextListParams:
    """The paging arguments of `ContextService.list` in one object, as the AGB SDK has them."""

    max_results: int | None = None
    next_token: str | None = None


class ContextListError(AgbContextError):
    """A page of `ContextService.iter_contexts` could not be listed.

    An iterator cannot return a failed result, and stopping early would pass a
    part of the list off as all of it, so it raises this. ``result`` is the
    failed page (``error_message`` says why).
    """

    def __init__(self, result: ContextListResult) -> None:
        # getattr: unpickling calls this with the message, then restores ``result``
        super().__init__(getattr(result, "error_message", result))
        self.result = result


class ContextService(ContextFiles, Closable):
    """The contexts of the account: `list`, `get`, `create`, `update`, `delete`,
    `start_clear` and `get_clear_status`, each with an ``*_async`` twin for async code,
    `iter_contexts` to go through them all, and `clear` to clear one and wait.

    Their files, without a session: `list_files` / `iter_files`, `upload_file`,
    `download_file`, `delete_file`, `upload_dir`, `download_dir`, and the bare
    presigned URLs (`get_file_upload_url`, `get_file_download_url`).

    The names and arguments are the AGB SDK's ``agb.context`` ones. API and
    network failures never raise: results come back with ``success=False``
    and an ``error_message`` that says why. Invalid arguments give such a
    result too, naming the argument, and no request is sent.

    Its keyword arguments (``api_key``, ``endpoint``, ``timeout``,
    ``allow_insecure_http``, ``retry``, ``proxy``, ``verify``,
    ``user_agent_suffix``, ``max_in_flight``) are those of `ContextManager`:
    arguments first, then the ``AGB_*`` environment variables, then the defaults.

    Raises:
        ConfigurationError: No API key, or an invalid endpoint, timeout,
            proxy, CA bundle or User-Agent suffix; the message names it.

    Connections are pooled and reused. Use ``with`` / ``async with`` or call
    `close` (`aclose` in async code) to release them.
    """

    def __init__(
        self,
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
        self._context_calls: ContextCalls | None = None
        self._clients = ClientPool(
            self._settings, "ContextService", imports=("agb_context._context_calls",)
        )
        self._operations = OperationSet()
        self._transfer_tasks = TransferTasks()

    @property
    def _calls(self) -> ContextCalls:
        calls = self._context_calls
        if calls is None:
            # Imported on first use, not in `__init__`: the generated client stays out of
            # `import agb_context`, and async code has it imported off the event loop.
            from agb_context._context_calls import ContextCalls

            calls = self._context_calls = ContextCalls(self._settings)
        return calls

    @property
    def endpoint(self) -> str:
        """The base URL requests go to."""
        return self._settings.base_url

    def __repr__(self) -> str:
        return f"ContextService(endpoint={self.endpoint!r})"

    def _closing(self) -> None:
        super()._closing()
        self._transfer_tasks.cancel_all()

    # -- list ----------------------------------------------------------------

    def list(
        self,
        max_results: int | ContextListParams | None = None,
        next_token: str | None = None,
    ) -> ContextListResult:
        """One page of the account's contexts.

        Args:
            max_results: The most contexts in the page, 1 to 100; 10 when None.
                A `ContextListParams` (or the AGB SDK's) is accepted in its place.
            next_token: The ``next_token`` of the previous page; None for the first
                (or the one of the `ContextListParams`; two different ones are an
                invalid argument).

        Returns:
            A `ContextListResult`: ``contexts``, ``next_token`` (None on the last
            page) and ``total_count``. To go through every context, use
            `iter_contexts` (or `iter_pages`), which follow the tokens.
        """
        return self._send(self._list_call(max_results, next_token))

    async def list_async(
        self,
        max_results: int | ContextListParams | None = None,
        next_token: str | None = None,
    ) -> ContextListResult:
        """The non-blocking `list`, for async code: same arguments, same result."""
        return await self._send_async(lambda: self._list_call(max_results, next_token))

    def iter_pages(self, max_results: int | None = None) -> Iterator[ContextListResult]:
        """Every page of the account's contexts, in order, following the tokens.

        A failed page is yielded (``success=False``) and ends the iteration.
        """
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self.list(max_results, token)
            yield page
            token = page.next_token if page.success else None
            if token is None:
                return
            if token in seen:
                yield _endless(page)
                return
            seen.add(token)

    async def iter_pages_async(
        self, max_results: int | None = None
    ) -> AsyncIterator[ContextListResult]:
        """The asynchronous `iter_pages`: ``async for page in service.iter_pages_async()``."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_async(max_results, token)
            yield page
            token = page.next_token if page.success else None
            if token is None:
                return
            if token in seen:
                yield _endless(page)
                return
            seen.add(token)

    def iter_contexts(self, max_results: int | None = None) -> Iterator[Context]:
        """Every context of the account, fetched ``max_results`` (default 10) at a time.

        Raises:
            ContextListError: A page could not be listed (its ``result`` says why).
                Contexts created or deleted meanwhile may or may not be listed;
                the others are listed exactly once.
        """
        for page in self.iter_pages(max_results):
            if not page.success:
                raise ContextListError(page)
            yield from page.contexts

    async def iter_contexts_async(self, max_results: int | None = None) -> AsyncIterator[Context]:
        """The asynchronous `iter_contexts`: ``async for ctx in service.iter_contexts_async()``."""
        async for page in self.iter_pages_async(max_results):
            if not page.success:
                raise ContextListError(page)
            for context in page.contexts:
                yield context

    # -- get and create ------------------------------------------------------

    def get(
        self,
        name: str | None = None,
        create: bool = False,
        login_region_id: str | None = None,
        context_id: str | None = None,
    ) -> ContextResult:
        """Get a context by name or by id; with ``create=True``, create it by name if needed.

        Args:
            name: The context's name (spaces at either end are removed).
            create: Create the context when there is none of that name (give
                ``name`` only). The same name always gives the same context.
            login_region_id: The region to look in; the account's default when None.
            context_id: The context's id, instead of ``name`` (give one of them).

        Returns:
            A `ContextResult` with the `Context`, or ``success=False`` and why
            (e.g. no such context).
        """
        return self._send(self._get_call(name, create, login_region_id, context_id))

    async def get_async(
        self,
        name: str | None = None,
        create: bool = False,
        login_region_id: str | None = None,
        context_id: str | None = None,
    ) -> ContextResult:
        """The non-blocking `get`, for async code: same arguments, same result."""
        return await self._send_async(
            lambda: self._get_call(name, create, login_region_id, context_id)
        )

    def create(self, name: str) -> ContextResult:
        """Create a context named ``name``, or get the one that already has that name."""
        return self._send(self._create_call(name))

    async def create_async(self, name: str) -> ContextResult:
        """The non-blocking `create`, for async code."""
        return await self._send_async(lambda: self._create_call(name))

    # -- update and delete ---------------------------------------------------

    def update(self, context: ContextLike) -> OperationResult:
        """Rename a context: ``service.update(context.with_name("new name"))``.

        Names are unique: a name another context has is refused by the server.
        """
        return self._send(self._update_call(context))

    async def update_async(self, context: ContextLike) -> OperationResult:
        """The non-blocking `update`, for async code."""
        return await self._send_async(lambda: self._update_call(context))

    def delete(self, context: ContextLike | str) -> OperationResult:
        """Delete a context and its stored data; give the context or its id.

        Sessions that mount it keep their files, but can no longer sync them
        to it.
        """
        return self._send(self._delete_call(context))

    async def delete_async(self, context: ContextLike | str) -> OperationResult:
        """The non-blocking `delete`, for async code."""
        return await self._send_async(lambda: self._delete_call(context))

    # -- clear ---------------------------------------------------------------

    def start_clear(self, context_id: str) -> ClearContextResult:
        """Start clearing a context's stored data, and return once the server accepted it.

        The result's ``status`` is then ``clearing``; `get_clear_status` tells
        when it is ``available`` again, with the data gone.
        """
        return self._send(self._by_id(self._calls.start_clear, context_id))

    async def start_clear_async(self, context_id: str) -> ClearContextResult:
        """The non-blocking `start_clear`, for async code."""
        return await self._send_async(lambda: self._by_id(self._calls.start_clear, context_id))

    def get_clear_status(self, context_id: str) -> ClearContextResult:
        """One look at where the clearing of a context's data stands.

        ``status`` is the context's state: ``clearing`` (or ``pre-available``)
        while clearing, ``available`` once done (``is_clearing`` tells which).
        """
        return self._send(self._by_id(self._calls.clear_status, context_id))

    async def get_clear_status_async(self, context_id: str) -> ClearContextResult:
        """The non-blocking `get_clear_status`, for async code."""
        return await self._send_async(lambda: self._by_id(self._calls.clear_status, context_id))

    def clear(
        self,
        context_id: str,
        timeout: float = 60.0,
        poll_interval: float = 2.0,
        *,
        callback: Callable[[bool], object] | None = None,
        polling: PollingPolicy | None = None,
    ) -> ClearOperation:
        """Clear a context's stored data and wait for it, in whichever style suits the caller.

        As `ContextManager.sync`: ``await service.clear(...)`` in async code,
        ``service.clear(..., callback=fn)`` from plain code (``fn(success)``
        exactly once), or ``service.clear(...).result()`` to block. The
        handle has the same ``progress`` (``state``: the context's state as
        last seen), ``status()``, ``cancel()`` and callbacks as a sync's.

        Args:
            context_id: The context whose data to clear.
            timeout: Seconds to wait for the context to be ``available`` again
                (then a result with ``error_kind="still_running"`` and the state
                last seen; the clearing goes on).
            poll_interval: Seconds between looks at the context's state. The
                first look is immediate, so there is always at least one.
            callback: Called with ``True`` or ``False`` once it is over.
            polling: A `PollingPolicy` instead of ``timeout`` and ``poll_interval``
                (giving both is an invalid argument).

        Returns:
            A `ClearOperation`; invalid arguments give one already over, with
            ``error_kind="invalid_argument"``, and no request is sent.
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        start = self._checked_id(context_id)
        try:
            if polling is not None and (timeout, poll_interval) != (60.0, 2.0):
                raise check.InvalidArgument(
                    "give either polling= or timeout/poll_interval, not both "
                    "(a PollingPolicy has deadline and interval)"
                )
            policy = polling if polling is not None else _clear_policy(timeout, poll_interval)
            if not isinstance(policy, PollingPolicy):
                raise check.InvalidArgument(
                    f"polling must be a PollingPolicy or None, not {type(policy).__name__}"
                )
        except (check.InvalidArgument, TypeError, ValueError) as exc:
            start = ClearContextResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
        if isinstance(start, ClearContextResult):
            operation = ClearOperation._finished(start)
            if callback is not None:
                operation.add_done_callback(lambda op: callback(op.succeeded()))
            return operation
        operation = ClearOperation()
        self._operations.launch(operation, self._run_clear(operation, start, policy), callback)
        return operation

    async def _run_clear(
        self, operation: ClearOperation, context_id: str, policy: PollingPolicy
    ) -> ClearContextResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        client = await self._clients.for_running_loop_async()  # imports off the loop first
        accepted = await self._calls.start_clear(context_id).send_async(client)
        if not accepted.success:
            return accepted
        context_id = accepted.context_id
        operation._accepted(accepted.request_id)
        judge = ClearJudge(context_id, accepted.request_id)
        look = self._calls.clear_status(context_id)

        async def poll() -> ClearContextResult:
            return await look.send_async(client)

        result = await operation._follow(policy, poll, judge, started=started)
        log_failure(f"clear of context {context_id}", result)
        return result

    # -- internals: checked arguments become a call, or a failed result --------

    def _send(self, prepared: Call[R] | R) -> R:
        from agb_context._context_calls import Call

        if isinstance(prepared, Call):
            result: R = prepared.send(self._clients.blocking())
            return result
        return prepared

    async def _send_async(self, build: Callable[[], Call[R] | R]) -> R:
        """``build()``'s call sent, or its refusal: built once the modules it needs
        are imported (off the loop, the first time)."""
        await self._clients.ready_async()
        from agb_context._context_calls import Call

        prepared = build()
        if isinstance(prepared, Call):
            client = await self._clients.for_running_loop_async()
            result: R = await prepared.send_async(client)
            return result
        return prepared

    def _list_call(
        self, max_results: object, next_token: object
    ) -> Call[ContextListResult] | ContextListResult:
        self._clients.check_open()
        try:
            if not isinstance(max_results, int | None) and hasattr(max_results, "max_results"):
                params: Any = max_results
                max_results = params.max_results
                next_token = _one_token(next_token, getattr(params, "next_token", None))
            size = check.page_size(max_results)
            token = check.optional_printable("next_token", next_token)
        except check.InvalidArgument as exc:
            return ContextListResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
        return self._calls.list(size, token)

    def _get_call(
        self, name: object, create: object, login_region_id: object, context_id: object
    ) -> Call[ContextResult] | ContextResult:
        self._clients.check_open()
        try:
            if not isinstance(create, bool):
                raise check.InvalidArgument(f"create must be True or False, not {create!r}")
            cid = None if _blank(context_id) else check.context_id(context_id)
            wanted = None if _blank(name) else check.context_name(name)
            region = check.optional_printable("login_region_id", login_region_id)
            if cid is None and wanted is None:
                raise check.InvalidArgument("give name or context_id: the context to get")
            if create and cid is not None:
                raise check.InvalidArgument(
                    "context_id cannot be given with create=True: a context is created "
                    "by name, and the server makes its id"
                )
        except check.InvalidArgument as exc:
            return ContextResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
        return self._calls.get(context_id=cid, name=wanted, create=create, login_region_id=region)

    def _create_call(self, name: object) -> Call[ContextResult] | ContextResult:
        self._clients.check_open()
        try:
            wanted = check.context_name(name)
        except check.InvalidArgument as exc:
            return ContextResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
        return self._calls.get(name=wanted, create=True)

    def _update_call(self, context: object) -> Call[OperationResult] | OperationResult:
        self._clients.check_open()
        try:
            if not isinstance(context, ContextLike):
                raise check.InvalidArgument(
                    "context must be a Context (an object with id and name), "
                    f"not {type(context).__name__}"
                )
            cid = check.context_id(context.id, "context.id")
            name = check.context_name(context.name, "context.name")
        except check.InvalidArgument as exc:
            return OperationResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
        return self._calls.rename(cid, name)

    def _delete_call(self, context: object) -> Call[OperationResult] | OperationResult:
        self._clients.check_open()
        try:
            if isinstance(context, str):
                cid = check.context_id(context, "context")
            elif isinstance(context, ContextLike) or hasattr(context, "id"):
                cid = check.context_id(getattr(context, "id", None), "context.id")
            else:
                raise check.InvalidArgument(
                    f"context must be a Context or a context id, not {type(context).__name__}"
                )
        except check.InvalidArgument as exc:
            return OperationResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )
        return self._calls.delete(cid)

    def _by_id(
        self, make: Callable[[str], Call[ClearContextResult]], context_id: object
    ) -> Call[ClearContextResult] | ClearContextResult:
        checked = self._checked_id(context_id)
        return checked if isinstance(checked, ClearContextResult) else make(checked)

    def _checked_id(self, context_id: object) -> str | ClearContextResult:
        self._clients.check_open()
        try:
            return check.context_id(context_id)
        except check.InvalidArgument as exc:
            return ClearContextResult(
                success=False, error_message=str(exc), error_kind="invalid_argument"
            )


def _clear_policy(timeout: object, poll_interval: object) -> PollingPolicy:
    """The policy of ``clear(timeout, poll_interval)``: looks until the deadline."""
    for name, value in (("timeout", timeout), ("poll_interval", poll_interval)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise check.InvalidArgument(
                f"{name} must be a positive number of seconds, not {value!r}"
            )
    return PollingPolicy(
        interval=float(poll_interval),  # type: ignore[arg-type]
        max_polls=1_000_000,
        deadline=float(timeout),  # type: ignore[arg-type]
    )


def _one_token(given: object, in_params: object) -> object:
    """The page token of ``list(params, next_token)``: either one, not two that differ."""
    if given is None or _blank(in_params) or given == in_params:
        return in_params if given is None else given
    raise check.InvalidArgument(
        "next_token was given twice, as an argument and in the ContextListParams, "
        "with different values: give one"
    )


def _blank(value: object) -> bool:
    """None or a string of spaces: "not given", as the AGB SDK reads it."""
    return value is None or (isinstance(value, str) and not value.strip(" "))


def _endless(page: ContextListResult) -> ContextListResult:
    return ContextListResult(
        success=False,
        request_id=page.request_id,
        http_status=page.http_status,
        error_kind="unreadable_response",
        error_message="the server gave a next_token it had given before: "
        "following it would never end, so listing stops here",
    )
