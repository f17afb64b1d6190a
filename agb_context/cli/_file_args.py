"""The arguments of ``agb-context files``: ls, put, get, rm."""

from __future__ import annotations

import argparse

from agb_context.cli._app import _FORMATTER, Handler, _lazy, _para, _Parser, add_connection_options
from agb_context.cli._arg_types import a_context_id, a_file_path, a_folder_path, non_blank

COMMANDS = "agb_context.cli._file_commands"


def add_files(commands: argparse._SubParsersAction[_Parser]) -> None:
    """Add ``files`` and its subcommands to ``commands``."""
    files = commands.add_parser(
        "files",
        formatter_class=_FORMATTER,
        help="list, upload, download and delete the files of a context",
        description=_para(
            "Reach the files stored in a context, without a session: through "
            "presigned URLs, streamed, with a progress bar on a terminal. Paths are "
            "'/'-separated from the context's root. Exit code 0 on success, 1 on failure, "
            "2 when the command line is wrong (nothing is sent)."
        ),
        epilog="examples:\n"
        "  agb-context files ls SdkCtx-123 /data\n"
        "  agb-context files put SdkCtx-123 /data/a.csv ./a.csv\n"
        "  agb-context files get SdkCtx-123 /data/a.csv ./copy.csv\n"
        "  agb-context files rm SdkCtx-123 /data/a.csv",
    )
    actions = files.add_subparsers(title="subcommands", metavar="SUBCOMMAND", dest="action")
    files.set_defaults(handler=_missing_action(files))

    def action(name: str, handler: str, help: str) -> _Parser:
        parser: _Parser = actions.add_parser(
            name, formatter_class=_FORMATTER, help=help, description=help
        )
        parser.add_argument(
            "context", type=a_context_id, metavar="CONTEXT", help="the context's id"
        )
        add_connection_options(parser)
        parser.set_defaults(handler=_lazy(COMMANDS, handler))
        return parser

    ls = action("ls", "ls_command", "list the files and folders of a folder (every page)")
    ls.add_argument(
        "path",
        nargs="?",
        default="/",
        type=a_folder_path,
        metavar="PATH",
        help="the folder (default /)",
    )
    put = action("put", "put_command", "upload a local file to PATH")
    put.add_argument("path", type=a_file_path, metavar="PATH", help="where, in the context")
    put.add_argument("local", type=non_blank, metavar="LOCAL", help="the local file")
    get = action("get", "get_command", "download PATH to a local file")
    get.add_argument("path", type=a_file_path, metavar="PATH", help="the file, in the context")
    get.add_argument(
        "local", nargs="?", metavar="LOCAL", help="where to write it (default: its name, here)"
    )
    rm = action("rm", "rm_command", "delete the file PATH")
    rm.add_argument("path", type=a_file_path, metavar="PATH", help="the file, in the context")


def _missing_action(parser: _Parser) -> Handler:
    def handler(_: argparse.Namespace) -> int:
        parser.error("choose a subcommand: ls, put, get, rm")

    return handler
