"""Argument checks, done before any request is sent."""

from __future__ import annotations

import math

import attrs

from agb_context._polling import DEFAULT_INTERVAL, DEFAULT_MAX_POLLS, PollingPolicy

SYNC_MODES = ("upload", "download")
MAX_TEXT_LENGTH = 4096
"""The longest id or path accepted: query strings must stay far below URL limits."""


class InvalidArgument(ValueError):
    """An argument is unusable; the message names it and says what is expected."""


@attrs.frozen(kw_only=True)
class SyncRequest:
    """The checked arguments of one ``sync`` call."""

    context_id: str | None
    path: str | None
    mode: str | None
    policy: PollingPolicy

    @property
    def direction(self) -> str:
        """The task type this sync's tasks have (``upload`` when no mode was given)."""
        return self.mode or "upload"


@attrs.frozen(kw_only=True)
class InfoQuery:
    """The filters of one ``GetContextInfo`` call (None: not sent)."""

    context_id: str | None = None
    path: str | None = None
    task_type: str | None = None


def optional_text(name: str, value: object) -> str | None:
    """``None`` for None or a blank string; the string itself otherwise."""
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
        raise InvalidArgument("session_id must be a non-empty string")
    return text


def sync_mode(name: str, value: object) -> str | None:
    """``upload``, ``download`` or None (blank counts as None)."""
    text = optional_text(name, value)
    if text is not None and text not in SYNC_MODES:
        raise InvalidArgument(f"{name} must be 'upload', 'download' or None, not {text!r}")
    return text


def context_scope(context_id: object, path: object) -> tuple[str | None, str | None]:
    """``context_id`` and ``path`` for a sync: both given, or both omitted."""
    cid = optional_text("context_id", context_id)
    mount = optional_text("path", path)
    if (cid is None) != (mount is None):
        given, missing = ("context_id", "path") if mount is None else ("path", "context_id")
        raise InvalidArgument(
            f"{given} was given without {missing}: give both context_id and path "
            "to sync one context, or neither to sync every context of the session"
        )
    return cid, mount


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
        policy = PollingPolicy.fixed(max_retries, retry_interval / 1000)
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
