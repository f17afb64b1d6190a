"""``agb-context files ...``: a context's files as a table, transfers with a progress bar."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

import attrs
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from agb_context import (
    ContextFileEntry,
    ContextFileListError,
    ContextFileListResult,
    FileTransferResult,
    OperationResult,
)
from agb_context.cli._app import CommandFailed
from agb_context.cli._commands import INTERRUPTED, interruptible, stdout_console
from agb_context.cli._context_commands import open_service, server_time
from agb_context.cli._json_output import print_json


def ls_command(args: argparse.Namespace) -> int:
    """Every entry of a folder of a context."""

    def interrupted(message: str) -> dict[str, Any]:
        cancelled = ContextFileListResult(
            success=False, error_message=message, error_kind="cancelled"
        )
        return cancelled.to_dict()

    with open_service(args) as service, interruptible(args, INTERRUPTED, interrupted):
        try:
            entries = tuple(service.iter_files(args.context, args.path, page_size=500))
        except ContextFileListError as exc:
            if args.json:
                print_json(attrs.evolve(exc.result, entries=()).to_dict())
            raise CommandFailed(str(exc)) from None
    if args.json:
        listed = ContextFileListResult(success=True, entries=entries, count=len(entries))
        print_json(listed.to_dict())
        return 0
    console = stdout_console()
    if entries:
        console.print(_files_table(entries))
    console.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.", markup=False)
    return 0


def put_command(args: argparse.Namespace) -> int:
    """Upload a local file."""
    interrupted = _cancelled_transfer(args, args.local)
    with (
        open_service(args) as service,
        interruptible(args, INTERRUPTED, interrupted),
        _bar(args, f"put {args.path}") as progress,
    ):
        result = service.upload_file(args.context, args.local, args.path, progress=progress)
    return _show_transfer(args, result, "uploaded")


def get_command(args: argparse.Namespace) -> int:
    """Download a file."""
    local = args.local or PurePosixPath(args.path).name or "download"
    interrupted = _cancelled_transfer(args, local)
    with (
        open_service(args) as service,
        interruptible(args, INTERRUPTED, interrupted),
        _bar(args, f"get {args.path}") as progress,
    ):
        result = service.download_file(args.context, args.path, local, progress=progress)
    return _show_transfer(args, result, "downloaded")


def rm_command(args: argparse.Namespace) -> int:
    """Delete a file."""

    def interrupted(message: str) -> dict[str, Any]:
        cancelled = OperationResult(
            success=False, context_id=args.context, error_message=message, error_kind="cancelled"
        )
        return cancelled.to_dict()

    with open_service(args) as service, interruptible(args, INTERRUPTED, interrupted):
        result = service.delete_file(args.context, args.path)
    if args.json:
        print_json(result.to_dict())
    elif result.success:
        stdout_console().print(f"Deleted {args.path}.", markup=False)
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


_SDK_LOCAL = "local_path "
"""How the SDK's messages about the local file begin."""


@contextmanager
def _bar(args: argparse.Namespace, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar (bytes, rate, time left) on a terminal; nothing otherwise."""
    console = stdout_console()
    if args.json or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _show_transfer(args: argparse.Namespace, result: FileTransferResult, verb: str) -> int:
    if result.error_message.startswith(_SDK_LOCAL):
        # The SDK names its argument; here the user typed the LOCAL operand.
        message = "LOCAL " + result.error_message.removeprefix(_SDK_LOCAL)
        result = attrs.evolve(result, error_message=message)
    if args.json:
        print_json(result.to_dict())
    elif result.success:
        stdout_console().print(
            f"{verb.capitalize()} {result.file_path} ({result.size:,} bytes) "
            f"{'to' if verb == 'uploaded' else 'from'} context {result.context_id}: "
            f"{result.local_path}",
            markup=False,
        )
    if not result.success:
        raise CommandFailed(result.error_message)
    return 0


def _cancelled_transfer(args: argparse.Namespace, local: str) -> Callable[[str], dict[str, Any]]:
    """The document of a transfer Ctrl-C stopped (the SDK stops it with the command)."""

    def document(message: str) -> dict[str, Any]:
        cancelled = FileTransferResult(
            success=False,
            context_id=args.context,
            file_path=args.path,
            local_path=local,
            error_message=message,
            error_kind="cancelled",
        )
        return cancelled.to_dict()

    return document


def _files_table(entries: tuple[ContextFileEntry, ...]) -> Table:
    table = Table(expand=False)
    table.add_column("Path", overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Size", justify="right", no_wrap=True)
    table.add_column("Modified")
    for entry in entries:
        size = "-" if entry.is_folder else f"{entry.size:,}"
        table.add_row(entry.file_path, entry.file_type, size, server_time(entry.gmt_modified))
    return table
