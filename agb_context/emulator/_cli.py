"""The command line of the emulator, reusable as a subcommand of a larger CLI.

``add_arguments`` fills a parser, ``run`` serves with the parsed arguments
until Ctrl-C or SIGTERM, and ``main`` does both (``python -m agb_context.emulator``).
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from types import FrameType

from agb_context.emulator._server import Emulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where contexts and sessions are kept, and survive restarts "
        "(default: a temporary folder removed on exit)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
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
        help="the key clients must send in the 'authorization' header "
        "(default: a random key, printed at start)",
    )
    parser.add_argument(
        "--task-delay",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="least time in seconds each sync task takes (default: 0)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each request and sync task to stderr"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM); the exit status."""
    if args.verbose:
        logging.basicConfig(format="%(asctime)s %(message)s", stream=sys.stderr)
        logging.getLogger("agb_context.emulator").setLevel(logging.INFO)
    emulator = Emulator(
        data_dir=args.data_dir,
        api_key=args.api_key,
        task_delay=args.task_delay,
        port=args.port,
        host=args.host,
    )
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        try:
            emulator.start()
        except OSError as exc:
            print(
                f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        print(f"AGB context emulator serving at {emulator.endpoint}")
        print(f"data dir: {emulator.data_dir}")
        if args.api_key is None:
            print(f"api key: {emulator.api_key}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping.wait(0.5):
            pass
        emulator.stop()
        print("stopped", flush=True)
        return 0
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and `run`."""
    parser = argparse.ArgumentParser(
        prog="python -m agb_context.emulator",
        description="Serve a local emulator of the AGB context API until interrupted.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


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
