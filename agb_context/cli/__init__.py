"""The ``agb-context`` command line: ``info``, ``sync``, ``emulator`` and ``demo``.

Installed with the ``cli`` extra (``pip install 'agb-context[cli]'``), which
brings ``rich`` for tables and live progress (nothing else in the package
imports it) and the emulator's server libraries. Without the extra, each
command says in one line which extra to install, with exit code 2.
Run ``agb-context --help``, or ``python -m agb_context.cli``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    from agb_context.cli._app import run

    return run(argv)
