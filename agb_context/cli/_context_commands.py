"""``agb-context contexts ...``: the contexts of the account, as tables or JSON."""

from __future__ import annotations

import argparse
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import attrs
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agb_context import (
    ClearContextResult,
    ClearOperation,
    Context,
    ContextListResult,
    ContextResult,
    ContextService,
    InsecureTLSWarning,
    OperationResult,
    Progress,
)
from agb_context.cli._app import CommandFailed, UsageError
from agb_context.cli._commands import INTERRUPTED, interruptible, stdout_console
from agb_context.cli._connection import check_api_key, check_endpoint, network_options
from agb_context.cli._json_output import print_json

LIST_PAGE = 100
"""Contexts fetched per request when listing them all."""

STATE_STYLES = {"available": "green", "clearing": "yellow", "pre-available": "yellow"}
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d")


def open_service(args: argparse.Namespace) -> ContextService:
    """A `ContextService` from the connection options (flags first, then ``AGB_*``)."""
    check_api_key(args.api_key)
    check_endpoint(args.endpoint, allow_insecure_http=args.allow_insecure_http)
    network = network_options(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureTLSWarning)  # said by network_options
        return ContextService(
            api_key=args.api_key,
            endpoint=args.endpoint,
            allow_insecure_http=args.allow_insecure_http,
            **network,
        )


def list_command(args: argparse.Namespace) -> int:
    """Every context (or one page of them)."""
    with open_service(args) as service, interruptible(args, INTERRUPTED, _cancelled_list):
        if args.max_results is None and args.next_token is None:
            result = _all_pages(service)
        else:
            result = service.list(args.max_results, args.next_token)
    if args.json:
        print_json(result.to_dict())
    elif result.success:
        console = stdout_console()
        if result.contexts:
            console.print(contexts_table(result.contexts))
        count = len(result.contexts)
        total = f" of {result.total_count}" if result.total_count is not None else ""
        console.print(f"{count}{total} context{'s' if count != 1 else ''}.")
        if result.next_token:
            console.print(f"Next page: --next-token {result.next_token}")
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


def get_command(args: argparse.Namespace) -> int:
    """One context, by name or id."""
    if args.create and args.id is not None:
        raise UsageError(
            "--create makes a context by its name: give the name, not --id "
            "(see 'agb-context contexts get --help')",
            "agb-context contexts get",
        )
    interrupted = _cancelled_context(args.id or "")
    with open_service(args) as service, interruptible(args, INTERRUPTED, interrupted):
        result = service.get(args.name, create=args.create, context_id=args.id)
    return _show_context(args, result)


def create_command(args: argparse.Namespace) -> int:
    """Create a context (or show the one of that name)."""
    interrupted = _cancelled_context("")
    with open_service(args) as service, interruptible(args, INTERRUPTED, interrupted):
        result = service.create(args.name)
    return _show_context(args, result)


def rename_command(args: argparse.Namespace) -> int:
    """Give a context a new name."""
    interrupted = _cancelled_operation(args.id)
    with open_service(args) as service, interruptible(args, INTERRUPTED, interrupted):
        result = service.update(Context(id=args.id, name=args.name))
    return _show_done(args, result, f"Context {args.id} renamed to {args.name!r}.")


def delete_command(args: argparse.Namespace) -> int:
    """Delete a context."""
    interrupted = _cancelled_operation(args.id)
    with open_service(args) as service, interruptible(args, INTERRUPTED, interrupted):
        result = service.delete(args.id)
    return _show_done(args, result, f"Context {args.id} deleted.")


def clear_command(args: argparse.Namespace) -> int:
    """Clear a context's data and follow it until it is done, with the state live."""
    console = stdout_console()
    live = not args.json and console.is_terminal
    state = _ClearState(args.id)
    with open_service(args) as service:
        operation: ClearOperation | None = None

        def cancel() -> None:
            if operation is not None:
                operation.cancel()

        def interrupted(message: str) -> dict[str, Any]:
            return state.interrupted(message).to_dict()

        with interruptible(args, CLEAR_INTERRUPTED, interrupted, cancel):
            operation = service.clear(args.id, timeout=args.timeout, poll_interval=args.interval)
            operation.add_progress_callback(state.update)
            if live:
                with Live(state, console=console, refresh_per_second=8, transient=True):
                    operation.wait()
            else:
                operation.wait()
        result = operation.result(0)
    if args.json:
        print_json(result.to_dict())
    elif result.success:
        console.print(
            f"Context {args.id} cleared in {state.elapsed():.1f}s: state {result.status}.",
            markup=False,
        )
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


CLEAR_INTERRUPTED = "interrupted; the clearing goes on on the server"


class _ClearState:
    """The live line of a clear: the context's state as the operation last saw it."""

    def __init__(self, context_id: str) -> None:
        self._context_id = context_id
        self._started = time.monotonic()
        self._progress = Progress()

    def update(self, progress: Progress) -> None:
        self._progress = progress

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def interrupted(self, message: str) -> ClearContextResult:
        """The result of a clear the user interrupted: the state as last seen."""
        return ClearContextResult(
            success=False,
            context_id=self._context_id,
            status=self._progress.state or "",
            error_message=message,
            error_kind="cancelled",
        )

    def __rich__(self) -> Text:
        seen = self._progress
        state = seen.state or "starting"
        line = Text(f"Clearing context {self._context_id}: ")
        line.append(state, style=STATE_STYLES.get(state, ""))
        line.append(f"  {self.elapsed():.1f}s, {seen.polls} looks")
        if seen.last_error:
            line.append(f"  (last look failed: {seen.last_error})", style="red")
        return line


def contexts_table(contexts: tuple[Context, ...] | list[Context]) -> Table:
    """One row per context: id, name, state, created, last used."""
    table = Table(title_justify="left", expand=False)
    # An id is kept on one line, whole, to be copied; on a narrow terminal the
    # times wrap between date and time instead.
    table.add_column("ID", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("State", no_wrap=True)
    table.add_column("Created")
    table.add_column("Last used")
    for context in contexts:
        style = STATE_STYLES.get(context.state, "")
        table.add_row(
            context.id,
            context.name,
            f"[{style}]{context.state}[/]" if style else context.state or "-",
            server_time(context.created_at),
            server_time(context.last_used_at),
        )
    return table


def server_time(text: str) -> str:
    """A time the server gave, for a table: an ISO 8601 one with a space between date
    and time (where a narrow table may break the line); "-" for none."""
    if not text:
        return "-"
    return text.replace("T", " ", 1) if _ISO_TIME.match(text) else text


def _all_pages(service: ContextService) -> ContextListResult:
    """Every page, as one result: the first failure, or all the contexts."""
    contexts: list[Context] = []
    last = ContextListResult(success=True)
    for page in service.iter_pages(LIST_PAGE):
        if not page.success:
            return page
        contexts += page.contexts
        last = page
    return attrs.evolve(last, contexts=tuple(contexts), next_token=None, max_results=None)


def _show_context(args: argparse.Namespace, result: ContextResult) -> int:
    if args.json:
        print_json(result.to_dict())
    elif result.success and result.context is not None:
        stdout_console().print(contexts_table([result.context]))
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


def _show_done(args: argparse.Namespace, result: OperationResult, done: str) -> int:
    if args.json:
        print_json(result.to_dict())
    elif result.success:
        stdout_console().print(done, markup=False)
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


def _cancelled_list(message: str) -> dict[str, Any]:
    return ContextListResult(
        success=False, error_message=message, error_kind="cancelled"
    ).to_dict()


def _cancelled_context(context_id: str) -> Callable[[str], dict[str, Any]]:
    def document(message: str) -> dict[str, Any]:
        return ContextResult(
            success=False, context_id=context_id, error_message=message, error_kind="cancelled"
        ).to_dict()

    return document


def _cancelled_operation(context_id: str) -> Callable[[str], dict[str, Any]]:
    def document(message: str) -> dict[str, Any]:
        return OperationResult(
            success=False, context_id=context_id, error_message=message, error_kind="cancelled"
        ).to_dict()

    return document
