"""The ``agb-context`` command line: ``info``, ``sync``, ``emulator`` and ``demo``.

Installed with the ``cli`` extra (``pip install 'agb-context[cli]'``), which
brings ``rich`` for tables and live progress; nothing else in the package
imports it. Run ``agb-context --help``, or ``python -m agb_context.cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    try:
        from agb_context.cli._app import run
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "rich":
            raise
        print(
            "agb-context: error: the command line needs rich: pip install 'agb-context[cli]'",
            file=sys.stderr,
        )
        return 2
    return run(argv)
