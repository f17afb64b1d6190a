"""The arguments of ``agb-context contexts``: list, get, create, rename, delete, clear."""

from __future__ import annotations

import argparse

from agb_context.cli._app import (
    _FORMATTER,
    Handler,
    _lazy,
    _para,
    _Parser,
    add_connection_options,
)
from agb_context.cli._arg_types import (
    a_context_id,
    a_context_name,
    non_blank,
    page_size,
    positive_seconds,
)

COMMANDS = "agb_context.cli._context_commands"


def add_contexts(commands: argparse._SubParsersAction[_Parser]) -> None:
    """Add ``contexts`` and its subcommands to ``commands``."""
    contexts = commands.add_parser(
        "contexts",
        formatter_class=_FORMATTER,
        help="list, find, create, rename, delete and clear the contexts of the account",
        description=_para(
            "Manage the contexts of the account: the persistent storage sessions "
            "mount by id. Each subcommand prints what it did (list, get and create as a "
            "table), or JSON with --json; exit code 0 on success, 1 when the server refused "
            "or could not be reached, 2 when the command line is wrong (nothing is sent)."
        ),
        epilog="examples:\n"
        "  agb-context contexts list\n"
        "  agb-context contexts create my-data\n"
        "  agb-context contexts get my-data --json\n"
        "  agb-context contexts rename SdkCtx-123 new-name\n"
        "  agb-context contexts clear SdkCtx-123\n"
        "  agb-context contexts delete SdkCtx-123",
    )
    actions = contexts.add_subparsers(title="subcommands", metavar="SUBCOMMAND", dest="action")
    contexts.set_defaults(handler=_missing_action(contexts))

    def action(name: str, handler: str, help: str, description: str) -> _Parser:
        parser: _Parser = actions.add_parser(
            name,
            formatter_class=_FORMATTER,
            help=help,
            description=_para(description),
        )
        add_connection_options(parser)
        parser.set_defaults(handler=_lazy(COMMANDS, handler))
        return parser

    listing = action(
        "list",
        "list_command",
        "list the contexts",
        "List every context of the account (all pages). With --max-results or "
        "--next-token, list one page and show the token of the next.",
    )
    listing.add_argument(
        "--max-results", metavar="N", type=page_size, help="one page of at most N (1-100)"
    )
    listing.add_argument(
        "--next-token", metavar="T", type=non_blank, help="the page after the one that gave T"
    )

    get = action(
        "get",
        "get_command",
        "show one context, by name or by --id",
        "Show one context, found by its name or by --id; --create creates it "
        "(by name) when there is none.",
    )
    which = get.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", type=a_context_name, help="the context's name")
    which.add_argument("--id", metavar="ID", type=a_context_id, help="the context's id")
    get.add_argument("--create", action="store_true", help="create it when there is none")

    create = action(
        "create",
        "create_command",
        "create a context (or show the one of that name)",
        "Create a context with this name, or show the context that already has it.",
    )
    create.add_argument("name", type=a_context_name, help="the new context's name")

    rename = action("rename", "rename_command", "rename a context", "Give a context a new name.")
    rename.add_argument("id", type=a_context_id, help="the context's id")
    rename.add_argument("name", type=a_context_name, help="its new name (unique in the account)")

    delete = action(
        "delete",
        "delete_command",
        "delete a context and its stored data",
        "Delete a context and its stored data. Sessions that mount it keep "
        "their files, but can no longer sync them to it.",
    )
    delete.add_argument("id", type=a_context_id, help="the context's id")

    clear = action(
        "clear",
        "clear_command",
        "clear a context's stored data",
        "Clear a context's stored data (the context stays) and follow it until it is done, "
        "showing the context's state live.",
    )
    clear.add_argument("id", type=a_context_id, help="the context's id")
    clear.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        metavar="S",
        help="seconds to wait for the clearing to end (default 60; it goes on after)",
    )
    clear.add_argument(
        "--interval",
        type=positive_seconds,
        default=1.0,
        metavar="S",
        help="seconds between looks at the context's state (default 1)",
    )


def _missing_action(parser: _Parser) -> Handler:
    def handler(_: argparse.Namespace) -> int:
        parser.error("choose a subcommand: list, get, create, rename, delete, clear")

    return handler
