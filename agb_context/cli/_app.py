"""Argument parsing, dispatch and the one-line error policy of ``agb-context``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import logging
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from agb_context import ConfigurationError, __version__
from agb_context._types import SYNC_MODES
from agb_context.cli._arg_types import (
    non_blank,
    non_negative_seconds,
    positive_seconds,
    printable,
    retries,
)
from agb_context.cli._json_output import (
    STDOUT,
    FailureKind,
    failure_document,
    json_requested,
    print_json,
)

PROG = "agb-context"
ENV_API_KEY = "AGB_API_KEY"

Handler = Callable[[argparse.Namespace], int]

INTERRUPTED_CODE = 130
"""The exit code of a command stopped by Ctrl-C."""


class UsageError(Exception):
    """The command line is wrong: one line on stderr, exit code 2."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(message)
        self.prog = prog


class CommandFailed(Exception):
    """An expected failure (API error, unreachable endpoint...): one line on stderr."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the usage block too)."""

    def error(self, message: str) -> NoReturn:
        if message.endswith("expected one argument"):
            # argparse takes a value starting with "-" (a generated key may) for an option
            message += "; give a value that starts with '-' as --option=VALUE"
        raise UsageError(f"{message} (see '{self.prog} --help')", self.prog)


_FORMATTER = argparse.RawDescriptionHelpFormatter


def _para(text: str) -> str:
    """One paragraph, wrapped for the help (the formatter keeps line breaks as they are)."""
    return textwrap.fill(" ".join(text.split()), width=78)


DESCRIPTION = """\
Watch and run the context syncs of an AGB cloud session.

A context is persistent storage mounted into a session at a path. `info`
shows the session's sync tasks, `sync` starts a sync and shows its progress
until it is over, `contexts` lists, finds, creates, renames, deletes and
clears the contexts of the account, `files` moves a context's files,
`emulator` serves the API locally for tests, and `demo` tells the whole
story against that emulator in a few seconds.
"""

EPILOG = """\
examples:
  agb-context demo
  export AGB_API_KEY=...            # the key is read from here (or --api-key)
  agb-context info --session s-123
  agb-context sync --session s-123 --context-id ctx-1 --path /home/data --mode upload
  agb-context sync --session s-123 --timeout 120 --json
  agb-context contexts list
  agb-context contexts create my-data

exit codes: 0 success, 1 the operation failed or timed out, 2 usage or
configuration error, 130 interrupted. With --json, stdout holds one JSON
document whatever the exit code.
"""


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by the commands that talk to the API.

    Added to each command's parser rather than through ``parents=``, which
    moves a mutually exclusive group out of its argument group in the help.
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--endpoint",
        metavar="URL",
        type=non_blank,
        help="host name or URL of the API (default: $AGB_ENDPOINT, else sdk-api.agb.cloud); "
        "https:// is added when no scheme is given",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key (default: $AGB_API_KEY; prefer the variable, "
        "a flag is visible in the process list). Never printed",
    )
    group.add_argument(
        "--request-timeout",
        metavar="S",
        type=positive_seconds,
        help="seconds allowed to read each response (default: $AGB_TIMEOUT_MS in ms, else 60)",
    )
    group.add_argument(
        "--connect-timeout",
        metavar="S",
        type=positive_seconds,
        help="seconds allowed to connect (default: $AGB_CONNECT_TIMEOUT_MS in ms, "
        "else 10 or --request-timeout if smaller)",
    )
    group.add_argument(
        "--max-retries",
        metavar="N",
        type=retries,
        help="times a failed request is sent again, when that is safe "
        "(default: $AGB_MAX_RETRIES, else 2)",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http to a host other than this machine (sends the key in clear text)",
    )
    group.add_argument(
        "--proxy",
        metavar="URL",
        type=non_blank,
        help="proxy to go through (default: $HTTPS_PROXY or $ALL_PROXY unless $NO_PROXY "
        "covers the endpoint); credentials in it are used, never printed",
    )
    trust = group.add_mutually_exclusive_group()
    trust.add_argument(
        "--ca-bundle",
        metavar="PATH",
        type=non_blank,
        help="CA certificates (a file or a hashed folder) to trust (default: $SSL_CERT_FILE, "
        "$SSL_CERT_DIR or $REQUESTS_CA_BUNDLE, else certifi's bundle)",
    )
    trust.add_argument(
        "--no-verify-tls",
        action="store_true",
        help="do not verify TLS certificates (anyone on the path can read the key)",
    )
    group.add_argument(
        "--user-agent-suffix",
        metavar="TEXT",
        type=non_blank,
        help="text appended to the User-Agent header (default: $AGB_USER_AGENT_SUFFIX)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout and nothing else, also when the command "
        "fails (then with success false and error_kind)",
    )
    output.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what the SDK does (the 'agb_context' logger) to stderr",
    )


def _scope_options(parser: argparse.ArgumentParser, *, for_sync: bool) -> None:
    parser.add_argument(
        "--session", required=True, metavar="ID", type=printable, help="the session id"
    )
    both = " (give --path too, or neither to cover every mounted context)" if for_sync else ""
    parser.add_argument(
        "--context-id", metavar="C", type=printable, help="only this context" + both
    )
    parser.add_argument(
        "--path", metavar="P", type=printable, help="only the context mounted at this path"
    )


def build_parser(*, with_emulator: bool = True) -> _Parser:
    """The ``agb-context`` parser, every subcommand included.

    ``with_emulator=False`` lists ``emulator`` without importing its options
    (the server libraries take a while to import); use it when another
    command was chosen.
    """
    parser = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=_FORMATTER)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    info = commands.add_parser(
        "info",
        formatter_class=_FORMATTER,
        help="show the session's context sync tasks",
        description=_para(
            "Show the status of the session's context sync tasks as a table "
            "(or as JSON with --json). Exit code 0, or 1 when the server could not be asked."
        ),
        epilog="example:\n  agb-context info --session s-123 --task-type upload",
    )
    add_connection_options(info)
    _scope_options(info, for_sync=False)
    info.add_argument("--task-type", choices=SYNC_MODES, help="only tasks of this type")
    info.set_defaults(handler=_lazy("agb_context.cli._commands", "info_command"))

    sync = commands.add_parser(
        "sync",
        formatter_class=_FORMATTER,
        help="start a sync and show its progress until it is over",
        description=_para(
            "Start a sync of one context (--context-id and --path) or of every "
            "context mounted in the session, and show each task's progress live until the "
            "sync is over. Exit code 0 on success, 1 when the sync failed or timed out."
        ),
        epilog="examples:\n"
        "  agb-context sync --session s-123 --context-id ctx-1 --path /home/data\n"
        "  agb-context sync --session s-123 --mode download --timeout 60 --json",
    )
    add_connection_options(sync)
    _scope_options(sync, for_sync=True)
    sync.add_argument(
        "--mode",
        choices=SYNC_MODES,
        help="upload: session to context store (the server's default); "
        "download: context store to session",
    )
    sync.add_argument(
        "--timeout",
        metavar="S",
        type=positive_seconds,
        help="give up waiting after S seconds (exit code 1; the sync goes on on the server). "
        "Default: up to 150 polls",
    )
    sync.add_argument(
        "--interval",
        metavar="S",
        type=positive_seconds,
        default=1.0,
        help="seconds between status polls (default: %(default)s)",
    )
    sync.set_defaults(handler=_lazy("agb_context.cli._commands", "sync_command"))

    from agb_context.cli._context_args import add_contexts  # it uses this module

    add_contexts(commands)
    from agb_context.cli._file_args import add_files  # it uses this module

    add_files(commands)

    if with_emulator:
        _add_emulator(commands)
    else:
        commands.add_parser("emulator", help=EMULATOR_HELP)

    demo = commands.add_parser(
        "demo",
        formatter_class=_FORMATTER,
        help="the whole story, end to end, on the embedded emulator",
        description=_para(
            "Start the emulator in a temporary folder, create a context through the "
            "context service and a session that mounts it, write files, upload them "
            "(once awaited, once with a callback), "
            "show info, download them into a second session and check they are "
            "byte-identical. Cleans up after itself; exit code 0 when every check passed."
        ),
    )
    demo.add_argument(
        "--task-delay",
        metavar="S",
        type=non_negative_seconds,
        default=0.4,
        help="how long each emulated sync task takes (default: %(default)s)",
    )
    demo.add_argument(
        "-v", "--verbose", action="store_true", help="log what the SDK does to stderr"
    )
    demo.set_defaults(handler=_lazy("agb_context.cli._demo", "demo_command"))
    return parser


def _lazy(module: str, name: str) -> Handler:
    """A handler imported when it runs, so that ``--help`` stays quick."""

    def handler(args: argparse.Namespace) -> int:
        function: Handler = getattr(importlib.import_module(module), name)
        return function(args)

    return handler


EMULATOR_HELP = "serve the context API locally (for tests and the demo)"


def _add_emulator(commands: argparse._SubParsersAction[_Parser]) -> None:
    """Mount the emulator's own command line as ``agb-context emulator``."""
    emulator_cli = importlib.import_module("agb_context.emulator._cli")
    parser = commands.add_parser(
        "emulator",
        help=EMULATOR_HELP,
        description=_para(
            "Serve the AGB context API on this machine, backed by plain folders. "
            "Point the SDK or this command line at it with --endpoint / AGB_ENDPOINT."
        ),
        formatter_class=_FORMATTER,
    )
    emulator_cli.add_arguments(parser)
    serve: Handler = emulator_cli.run

    def run(args: argparse.Namespace) -> int:
        try:
            return serve(args)
        except emulator_cli.CommandError as exc:
            if exc.code == 2:
                raise UsageError(str(exc), f"{PROG} emulator") from None
            raise CommandFailed(str(exc), exc.code) from None

    parser.set_defaults(handler=run)


EXTRAS = {"rich": "cli", "starlette": "emulator", "uvicorn": "emulator"}
"""The optional libraries, and the extra of ``agb-context`` that brings each."""

REQUIRES = {
    "info": ("rich",),
    "sync": ("rich",),
    "contexts": ("rich",),
    "files": ("rich",),
    "demo": ("rich", "starlette", "uvicorn"),
    "emulator": ("starlette", "uvicorn"),
}
"""The optional libraries each command needs."""


def _is_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder refused it, or a half-imported module
        return False


def missing_extra(command: str | None) -> str | None:
    """The one-line complaint when ``command`` needs a library that is not installed."""
    missing = [module for module in REQUIRES.get(command or "", ()) if not _is_installed(module)]
    if not missing:
        return None
    # The cli extra brings the emulator's libraries too: name it when rich is among the missing.
    extra = "cli" if "rich" in missing else EXTRAS[missing[0]]
    named = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
    return (
        f"this command needs {named}, which the {extra} extra installs: "
        f"pip install 'agb-context[{extra}]'"
    )


def _enable_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("agb_context")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with the API key masked: it must never reach the terminal."""
    for secret in secrets:
        secret = (secret or "").strip()
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def error_line(prog: str, message: str, *secrets: str | None) -> str:
    """Print the one line an expected failure gets, on stderr; returns its message."""
    line = " ".join(redact(message, *secrets).split())
    print(f"{prog}: error: {line}", file=sys.stderr, flush=True)
    return line


def given_api_keys(arguments: Sequence[str]) -> list[str]:
    """The values given to ``--api-key`` (or an abbreviation of it), found without
    parsing, so that a usage error cannot show them either."""
    keys: list[str] = []
    for index, argument in enumerate(arguments):
        if argument == "--":
            break
        name, equals, value = argument.partition("=")
        if len(name) >= len("--ap") and "--api-key".startswith(name):
            if equals:
                keys.append(value)
            elif index + 1 < len(arguments):
                keys.append(arguments[index + 1])
    return keys


def _drop_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit fails no more."""
    try:
        target = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (replaced in-process, or closed)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, target)
    finally:
        os.close(devnull)


class _Outcome:
    """How a run that failed ends: one line on stderr and, when ``--json`` was asked
    for and the command printed no document of its own, a failure document."""

    def __init__(self, secrets: list[str | None], wants_json: bool) -> None:
        self.secrets = secrets
        self.wants_json = wants_json

    def fail(self, prog: str, message: str, kind: FailureKind, code: int) -> int:
        line = error_line(prog, message, *self.secrets)
        if self.wants_json and STDOUT.documents == 0:
            try:
                print_json(failure_document(kind, line))
            except BrokenPipeError:
                _drop_stdout()  # no one reads stdout: the line on stderr and the code remain
        return code


def _subcommand_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> _Parser:
    """The parser of the (sub)command ``args`` chose, the one whose usage applies."""
    chosen = parser
    for dest in ("command", "action"):
        name = getattr(args, dest, None)
        commands = [a for a in chosen._actions if isinstance(a, argparse._SubParsersAction)]
        if name is None or not commands or name not in commands[0].choices:
            break
        chosen = commands[0].choices[name]
    assert isinstance(chosen, _Parser)
    return chosen


def _unrecognized(parser: _Parser, extras: list[str]) -> str:
    """The complaint about arguments no parser took, by the parser of the subcommand.

    A ``--flag=value`` is shown without its value (a mistyped ``--api-key=`` holds the
    key); an option of the subcommand given before it is said to belong after it.
    """
    shown = [
        extra.partition("=")[0] + "=..." if extra.startswith("--") and "=" in extra else extra
        for extra in extras
    ]
    message = f"unrecognized arguments: {' '.join(shown)}"
    misplaced = [
        extra.partition("=")[0]
        for extra in extras
        if extra.startswith("-") and extra.partition("=")[0] in parser._option_string_actions
    ]
    if misplaced:
        message += (
            f"; {misplaced[0]} goes after the subcommand: '{parser.prog} ... {misplaced[0]}'"
        )
    return message


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, turn expected failures into one line and a code
    (and, with ``--json``, a JSON document on stdout)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A name the terminal's encoding lacks is shown escaped, not a crash
        # (JSON is written escaped by print_json).
        sys.stdout.reconfigure(errors="backslashreplace")
    STDOUT.documents = 0
    command = next((arg for arg in arguments if not arg.startswith("-")), None)
    outcome = _Outcome(
        [os.environ.get(ENV_API_KEY), *given_api_keys(arguments)],
        json_requested(arguments, command),
    )
    complaint = missing_extra(command)
    if complaint is not None:
        return outcome.fail(f"{PROG} {command}", complaint, "configuration", 2)
    parser = build_parser(with_emulator=command == "emulator")
    try:
        args, extras = parser.parse_known_args(arguments)
        if extras:
            chosen = _subcommand_parser(parser, args)
            chosen.error(_unrecognized(chosen, extras))
    except UsageError as exc:
        return outcome.fail(exc.prog, str(exc), "usage", 2)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        commands = "info, sync, contexts, files, emulator, demo"
        return outcome.fail(
            PROG, f"choose a command: {commands} (see '{PROG} --help')", "usage", 2
        )
    outcome.wants_json = bool(getattr(args, "json", False))
    verbose = bool(getattr(args, "verbose", False))
    if verbose and args.command != "emulator":  # the emulator sets up its own logging
        _enable_logging()
    elif args.command != "emulator":
        # The command prints each failure itself, in one line; without this, the
        # SDK's WARNING records would reach stderr through logging's last resort.
        logging.getLogger("agb_context").addHandler(logging.NullHandler())
    prog = " ".join(filter(None, (PROG, args.command, getattr(args, "action", None))))
    try:
        return handler(args)
    except UsageError as exc:
        return outcome.fail(exc.prog, str(exc), "usage", 2)
    except ConfigurationError as exc:
        return outcome.fail(prog, str(exc), "configuration", 2)
    except CommandFailed as exc:
        kind: FailureKind = "cancelled" if exc.code == INTERRUPTED_CODE else "unexpected"
        return outcome.fail(prog, str(exc), kind, exc.code)
    except KeyboardInterrupt:
        return outcome.fail(prog, "interrupted", "cancelled", INTERRUPTED_CODE)
    except BrokenPipeError:
        # Whoever read stdout stopped early (`| head -1`): nothing more is wanted from this
        # command, and no more can be said; exit 1 (what rich's console does there too).
        _drop_stdout()
        return 1
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        detail = f"unexpected {type(exc).__name__}: {exc}"
        if not verbose:
            detail += " (run with --verbose for details)"
        return outcome.fail(prog, detail, "unexpected", 1)
