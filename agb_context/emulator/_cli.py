"""The command line of the emulator, reusable as a subcommand of a larger CLI.

``add_arguments`` fills a parser, ``run`` serves with the parsed arguments
until Ctrl-C or SIGTERM, and ``main`` does both (``python -m agb_context.emulator``).
``run`` raises `CommandError` for what the user can put right: a bad key, a
data dir that is a file or is in use, a port that is taken.
"""

from __future__ import annotations

import argparse
import errno
import logging
import math
import os
import signal
import sys
import threading
from types import FrameType

from agb_context.emulator import _validation as check
from agb_context.emulator._errors import DataDirError, DataDirInUse, ListenError
from agb_context.emulator._server import Emulator
from agb_context.emulator._validation import InvalidValue

ENV_API_KEY = "AGB_API_KEY"
REQUEST_LOGGER = "agb_context.emulator.requests"


class CommandError(Exception):
    """Why the emulator did not serve: one line for the user, and the exit code
    (2: the options are wrong; 1: something else holds what they name)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options (and a help epilog listing its admin routes) to ``parser``."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=_data_dir,
        help="where contexts and sessions are kept, and survive restarts; one emulator "
        "per folder (default: a temporary folder removed on exit)",
    )
    parser.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="N",
        help="port to listen on (default: a free one)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        type=_api_key,
        help=f"the key clients must send in the 'authorization' header (default: "
        f"${ENV_API_KEY}, else a random key, printed at start)",
    )
    parser.add_argument(
        "--task-delay",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="least time in seconds each sync task takes (default: 0)",
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument(
        "-q", "--quiet", action="store_true", help="log nothing but warnings and errors"
    )
    talk.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log sync tasks and injected faults too, not only one line per request",
    )
    if parser.epilog is None:
        from agb_context.emulator._help import EPILOG

        parser.epilog = EPILOG
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM); the exit status.

    Raises:
        CommandError: The options cannot be served with; the message says why.
    """
    key_given = args.api_key is not None or os.environ.get(ENV_API_KEY) is not None
    emulator = Emulator(
        data_dir=args.data_dir,
        api_key=_resolve_api_key(args.api_key),
        task_delay=args.task_delay,
        port=args.port,
        host=args.host,
    )
    _set_up_logging(quiet=args.quiet, verbose=args.verbose)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        try:
            emulator.start()
        except (DataDirInUse, ListenError) as exc:
            in_use = isinstance(exc, DataDirInUse) or exc.errno == errno.EADDRINUSE
            raise CommandError(str(exc), 1 if in_use else 2) from None
        except DataDirError as exc:
            raise CommandError(f"--data-dir: {exc}", 2) from None
        lines = [f"AGB context emulator serving at {emulator.endpoint}"]
        lines.append(f"data dir: {emulator.data_dir}")
        if not key_given:
            lines.append(f"api key: {emulator.api_key}")
        _say(*lines, "Press Ctrl-C to stop.")
        while not stopping.wait(0.5):
            pass
        emulator.stop()
        _say("stopped")
        return 0
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _say(*lines: str) -> None:
    """Print ``lines`` on stdout, which a script may have closed after reading the
    endpoint (``| head -1``): the server then serves on, and says nothing more there."""
    try:
        print(*lines, sep="\n", flush=True)
    except BrokenPipeError:
        # Python's own advice: stdout on devnull, so that its flush at exit fails no more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


PROG = "python -m agb_context.emulator"


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and `run`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve a local emulator of the AGB context API until interrupted.",
    )
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except CommandError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return exc.code


def _resolve_api_key(flag: str | None) -> str | None:
    """``--api-key``, else ``$AGB_API_KEY`` (surrounding spaces dropped), else None."""
    if flag is not None:
        return flag
    from_env = os.environ.get(ENV_API_KEY)
    if from_env is None:
        return None
    if not from_env.strip():
        raise CommandError(
            f"{ENV_API_KEY} is blank: set it to the key clients must send, "
            "or unset it for a random key",
            2,
        )
    try:
        return check.api_key(from_env.strip(), ENV_API_KEY)
    except InvalidValue as exc:
        raise CommandError(str(exc), 2) from None


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `run` adds, so that a second `run` in one process adds no second one."""


def _set_up_logging(*, quiet: bool, verbose: bool) -> None:
    emulator_logger = logging.getLogger("agb_context.emulator")
    if not any(isinstance(h, _ConsoleHandler) for h in emulator_logger.handlers):
        handler = _ConsoleHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        emulator_logger.addHandler(handler)
    emulator_logger.propagate = False
    emulator_logger.setLevel(logging.INFO if verbose else logging.WARNING)
    requests = logging.getLogger(REQUEST_LOGGER)
    requests.setLevel(logging.WARNING if quiet else logging.INFO)


def _api_key(text: str) -> str:
    try:
        return check.api_key(text, "the key")
    except InvalidValue as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _data_dir(text: str) -> str:
    if not text.strip():
        # not the current folder: an unset variable ("$DIR") gives a blank value
        raise argparse.ArgumentTypeError(
            "is blank: name a folder, or leave --data-dir out for a temporary one"
        )
    return text


def _host(text: str) -> str:
    if not text or text != text.strip():
        # not every address: an unset variable ("$HOST") gives a blank value
        raise argparse.ArgumentTypeError(f"{text!r} is not an address, e.g. 127.0.0.1")
    return text


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 0 to 65535")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value
