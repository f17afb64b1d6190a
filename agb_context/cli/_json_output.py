"""What ``--json`` prints: exactly one JSON document on stdout, whatever ends the command.

A command prints its result's document itself; when it ends before it has one
(a usage or configuration error, Ctrl-C before any answer, an unexpected
error), `failure_document` is printed in its place. No rich here: the
documents of a usage error are printed before any command's module is imported.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Literal

FailureKind = Literal["usage", "configuration", "cancelled", "unexpected"]
"""Why a command without a result of its own failed (its ``error_kind``)."""

COMMANDS_WITHOUT_JSON = frozenset({"emulator", "demo"})
"""The commands that take no ``--json``."""

_JSON_SPELLINGS = frozenset({"--j", "--js", "--jso", "--json"})
"""``--json`` and the abbreviations argparse accepts for it."""


class _Stdout:
    """Counts the documents printed, so that a failure adds one only when none was."""

    def __init__(self) -> None:
        self.documents = 0

    def print(self, document: dict[str, Any]) -> None:
        """One JSON document on stdout.

        Text stays as it is where stdout can encode it; elsewhere (an ASCII or
        cp1252 stdout) it is written as JSON escapes, so the document stays whole.
        """
        text = json.dumps(document, indent=2, ensure_ascii=False)
        try:
            text.encode(sys.stdout.encoding or "utf-8", errors="strict")
        except (UnicodeEncodeError, LookupError):
            text = json.dumps(document, indent=2, ensure_ascii=True)
        self.documents += 1
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


STDOUT = _Stdout()


def print_json(document: dict[str, Any]) -> None:
    """One JSON document on stdout, and nothing else (see `_Stdout.print`)."""
    STDOUT.print(document)


def json_requested(arguments: Sequence[str], command: str | None) -> bool:
    """Whether the command line asks for ``--json`` (before any ``--``), for a command
    that takes it, as far as can be told without parsing it."""
    if command in COMMANDS_WITHOUT_JSON:
        return False
    for argument in arguments:
        if argument == "--":
            return False
        if argument in _JSON_SPELLINGS:
            return True
    return False


def failure_document(kind: FailureKind, message: str) -> dict[str, Any]:
    """The document of a command that ended without a result of its own."""
    document: dict[str, Any] = {"success": False, "error_kind": kind, "error_message": message}
    if kind == "cancelled":
        document["interrupted"] = True
    return document
