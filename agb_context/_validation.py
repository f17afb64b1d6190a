"""Argument checks, done before any request is sent."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import attrs

from agb_context._polling import DEFAULT_INTERVAL, DEFAULT_MAX_POLLS, PollingPolicy
from agb_context._types import DEFAULT_SYNC_MODE, SYNC_MODES, SyncMode

MAX_TEXT_LENGTH = 4096
"""The longest id or path accepted: query strings must stay far below URL limits."""


class InvalidArgument(ValueError):
    """An argument is unusable; the message names it and says what is expected."""


@attrs.frozen(kw_only=True)
class SyncRequest:
    """The checked arguments of one ``sync`` call."""

    context_id: str | None
    path: str | None
    mode: SyncMode | None
    policy: PollingPolicy

    @property
    def direction(self) -> SyncMode:
        """The task type this sync's tasks have (``upload`` when no mode was given)."""
        return self.mode or DEFAULT_SYNC_MODE


@attrs.frozen(kw_only=True)
class InfoQuery:
    """The filters of one ``GetContextInfo`` call (None: not sent)."""

    context_id: str | None = None
    path: str | None = None
    task_type: SyncMode | None = None


def optional_text(name: str, value: object) -> str | None:
    """``None`` for None or a blank string (blank counts as not given); the string
    itself otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string or None, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgument(f"{name} must not contain NUL bytes")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidArgument(
            f"{name} is {len(value)} characters long; at most {MAX_TEXT_LENGTH} are accepted"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(
            f"{name} is not valid Unicode text (it holds a lone surrogate)"
        ) from None
    return value if value.strip() else None


def session_id(value: object) -> str:
    """A session id: a non-blank string without NUL bytes."""
    text = optional_text("session_id", value)
    if text is None:
        what = "is blank" if isinstance(value, str) else "is missing"
        raise InvalidArgument(f"session_id {what}: give the id of a session")
    return text


def sync_mode(name: str, value: object) -> SyncMode | None:
    """``upload``, ``download`` or None (blank counts as None)."""
    text = optional_text(name, value)
    if text is None:
        return None
    if text not in SYNC_MODES:
        allowed = ", ".join(map(repr, SYNC_MODES))
        raise InvalidArgument(f"{name} must be {allowed} or None, not {text!r}")
    return text


def context_scope(context_id: object, path: object) -> tuple[str | None, str | None]:
    """``context_id`` and ``path`` for a sync: both given, or both omitted."""
    cid = optional_text("context_id", context_id)
    mount = optional_text("path", path)
    if (cid is None) != (mount is None):
        given, missing, raw = (
            ("context_id", "path", path) if mount is None else ("path", "context_id", context_id)
        )
        # A blank string counts as not given; say so, since the caller did pass something.
        without = f"but {missing} is blank" if isinstance(raw, str) else f"without {missing}"
        raise InvalidArgument(
            f"{given} was given {without}: give both context_id and path "
            "to sync one context, or neither to sync every context of the session"
        )
    return cid, mount


# Policies are immutable: one object serves every sync with the same polling.
_fixed_policy = functools.lru_cache(maxsize=64)(PollingPolicy.fixed)


def sync_request(
    context_id: object,
    path: object,
    mode: object,
    max_retries: object,
    retry_interval: object,
    timeout: object = None,
    polling: object = None,
) -> SyncRequest:
    """Check every argument of ``sync`` (the callback aside)."""
    cid, mount = context_scope(context_id, path)
    if polling is not None:
        if not isinstance(polling, PollingPolicy):
            raise InvalidArgument(
                f"polling must be a PollingPolicy or None, not {type(polling).__name__}"
            )
        if (max_retries, retry_interval) != (DEFAULT_MAX_POLLS, DEFAULT_INTERVAL * 1000):
            raise InvalidArgument(
                "give either polling= or max_retries/retry_interval, not both "
                "(a PollingPolicy has max_polls and interval)"
            )
        policy = polling
    else:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 1:
            raise InvalidArgument(f"max_retries must be an int >= 1, not {max_retries!r}")
        if (
            isinstance(retry_interval, bool)
            or not isinstance(retry_interval, int | float)
            or not math.isfinite(retry_interval)
            or retry_interval <= 0
        ):
            raise InvalidArgument(
                f"retry_interval must be a positive number of milliseconds, not {retry_interval!r}"
            )
        policy = _fixed_policy(max_retries, retry_interval / 1000)
    if timeout is not None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise InvalidArgument(
                f"timeout must be a positive number of seconds or None, not {timeout!r}"
            )
        policy = attrs.evolve(policy, deadline=float(timeout))
    return SyncRequest(context_id=cid, path=mount, mode=sync_mode("mode", mode), policy=policy)


MAX_NAME_LENGTH = 256
"""The longest context name accepted."""
MAX_ID_LENGTH = 256
"""The longest context id accepted."""


def _unprintable(value: str) -> str | None:
    """The first character of ``value`` that is not printable, shown as ``U+XXXX``."""
    for char in value:
        if not char.isprintable():
            return f"U+{ord(char):04X}"
    return None


def context_name(value: object, name: str = "name", *, strip: bool = True) -> str:
    """A context name: printable text without ``/`` or ``\\``, not ``.`` or ``..``.

    Spaces at either end are removed (``strip``), as the AGB SDK does; with
    ``strip=False`` they are refused instead.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, not {type(value).__name__}")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"{name} is {len(value)} characters long; at most {MAX_NAME_LENGTH} are accepted"
        )
    bad = _unprintable(value)
    if bad is not None:
        raise InvalidArgument(
            f"{name} must be printable text: it holds the control or invisible character {bad}"
        )
    text = value.strip(" ")
    if not text:
        raise InvalidArgument(f"{name} must not be empty or blank")
    if not strip and text != value:
        raise InvalidArgument(f"{name} must not start or end with a space")
    if "/" in text or "\\" in text:
        raise InvalidArgument(f"{name} must not contain '/' or '\\': a context name is not a path")
    if text in (".", ".."):
        raise InvalidArgument(f"{name} must not be '.' or '..'")
    return text


def context_id(value: object, name: str = "context_id") -> str:
    """A context id: non-blank printable text, at most `MAX_ID_LENGTH` characters."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, not {type(value).__name__}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(
            f"{name} is {len(value)} characters long; at most {MAX_ID_LENGTH} are accepted"
        )
    bad = _unprintable(value)
    if bad is not None:
        raise InvalidArgument(
            f"{name} must be printable text: it holds the control or invisible character {bad}"
        )
    text = value.strip(" ")
    if not text:
        raise InvalidArgument(f"{name} must not be empty or blank")
    return text


DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
"""The most contexts one ``list`` page may ask for."""


def page_size(value: object, name: str = "max_results") -> int:
    """A page size: a whole number from 1 to `MAX_PAGE_SIZE`; 10 for None."""
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"{name} must be a whole number from 1 to {MAX_PAGE_SIZE} (or None for 10), "
            f"not {value!r}"
        )
    return value


def optional_printable(name: str, value: object) -> str | None:
    """`optional_text` that also refuses control and invisible characters."""
    text = optional_text(name, value)
    if text is not None:
        bad = _unprintable(text)
        if bad is not None:
            raise InvalidArgument(
                f"{name} must be printable text: it holds the control or invisible character {bad}"
            )
    return text


MAX_FILE_PATH_LENGTH = 1024
"""The longest path of a file in a context accepted."""
MAX_FILE_PAGE_SIZE = 500


def context_file_path(value: object, name: str = "file_path", *, folder: bool = False) -> str:
    """A path in a context, ``/``-separated from its root (``/`` is added in front if missing).

    Refused: empty, over-long, control or invisible characters, ``\\``, and
    ``.``/``..`` or empty segments. ``folder=True`` also accepts ``/`` (the root)
    and a trailing ``/``.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, not {type(value).__name__}")
    if len(value) > MAX_FILE_PATH_LENGTH:
        raise InvalidArgument(
            f"{name} is {len(value)} characters long; at most {MAX_FILE_PATH_LENGTH} are accepted"
        )
    bad = _unprintable(value)
    if bad is not None:
        raise InvalidArgument(
            f"{name} must be printable text: it holds the control or invisible character {bad}"
        )
    if "\\" in value:
        raise InvalidArgument(f"{name} contains '\\': separate folders with '/'")
    text = value if value.startswith("/") else "/" + value
    if folder and text != "/" and text.endswith("/"):
        text = text[:-1]
    if text == "/":
        if folder:
            return text
        raise InvalidArgument(f"{name} must name a file, not the context's root")
    segments = text[1:].split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidArgument(f"{name} {value!r} has an empty, '.' or '..' segment")
    return text


def whole_number(value: object, name: str, low: int, high: int | None = None) -> int:
    """An int from ``low`` to ``high`` (no upper bound when None)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        most = f" to {high}" if high is not None else ""
        raise InvalidArgument(f"{name} must be a whole number from {low}{most}, not {value!r}")
    return value


def local_path(value: object, name: str = "local_path") -> Path:
    """A path on this machine: a ``str`` or ``os.PathLike`` of one, not blank, without NUL.

    ``~`` at its start is the home folder; the result is absolute (relative
    to the working directory).
    """
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(text, str):
        raise InvalidArgument(
            f"{name} must be a path (a str or an os.PathLike giving a str), not {value!r}"
        )
    if not text.strip():
        raise InvalidArgument(f"{name} must not be empty or blank")
    if "\x00" in text:
        raise InvalidArgument(f"{name} must not contain NUL bytes")
    try:
        return Path(text).expanduser().absolute()
    except RuntimeError as exc:  # "~user" of no such user, or no home folder
        raise InvalidArgument(f"{name} {text!r}: {exc}") from None
