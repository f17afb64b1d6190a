"""The types of the command line's values: each checked as the SDK would check it.

A value the SDK would refuse is refused here, before any request, as a usage
error (exit code 2) whose message names the option or operand as ``--help``
shows it (``argument --id: ...``), not by the SDK's Python argument name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from agb_context._validation import (
    InvalidArgument,
    context_file_path,
    context_id,
    context_name,
    optional_printable,
    optional_text,
)

_VALUE = "the value"
"""How a message names the value (argparse puts the option's name in front)."""


def _checked(check: Callable[[str], object], text: str) -> str:
    """``text`` as given, once ``check`` accepted it (its refusal becomes argparse's)."""
    try:
        check(text)
    except InvalidArgument as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _seconds(text: str, *, zero: bool) -> float:
    """A finite number of seconds above 0 (or from 0, with ``zero``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        wanted = "0 or more seconds" if zero else "a positive number of seconds"
        raise argparse.ArgumentTypeError(f"expected {wanted}, not {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds above 0."""
    return _seconds(text, zero=False)


def non_negative_seconds(text: str) -> float:
    """A number of seconds, 0 included."""
    return _seconds(text, zero=True)


def retries(text: str) -> int:
    """A whole number of retries, 0 or more."""
    if not text.strip().isdecimal():
        raise argparse.ArgumentTypeError(
            f"expected a whole number of retries (0 or more), not {text!r}"
        )
    return int(text)


def page_size(text: str) -> int:
    """A page size, 1 to 100."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 100, not {value}")
    return value


def non_blank(text: str) -> str:
    """Text that is not blank (an endpoint, a proxy, a file of this machine...)."""
    if _checked(lambda value: optional_text(_VALUE, value), text).strip() == "":
        raise argparse.ArgumentTypeError("must not be blank")
    return text


def printable(text: str) -> str:
    """A session id or a mount path: printable text, not blank."""
    if _checked(lambda value: optional_printable(_VALUE, value), text).strip() == "":
        raise argparse.ArgumentTypeError("must not be blank")
    return text


def a_context_id(text: str) -> str:
    """A context's id."""
    return _checked(lambda value: context_id(value, _VALUE), text)


def a_context_name(text: str) -> str:
    """A context's name."""
    return _checked(lambda value: context_name(value, _VALUE), text)


def a_file_path(text: str) -> str:
    """The path of a file in a context."""
    return _checked(lambda value: context_file_path(value, _VALUE), text)


def a_folder_path(text: str) -> str:
    """The path of a folder in a context (``/`` is its root)."""
    return _checked(lambda value: context_file_path(value, _VALUE, folder=True), text)
