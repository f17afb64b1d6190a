"""Checks of the ids and paths that reach the emulator, and the errors they raise.

Every value that may end up in a file-system path is checked here first, so
that nothing a client sends can reach outside the data folder.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MAX_ID_LENGTH = 128
MAX_PATH_LENGTH = 1024
MAX_MOUNTS = 64

_CONTEXT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidValue(ValueError):
    """A parameter is unusable; the message names it and says what is expected."""

    code = "InvalidParameter"


class MissingValue(InvalidValue):
    """A required parameter was not given."""

    code = "MissingParameter"


class NotFound(LookupError):
    """No such session, or no such mount in it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        """``SessionNotFound`` or ``MountNotFound``."""


def api_key(value: object, name: str = "api_key") -> str:
    """An API key the emulator can require: printable ASCII, no spaces at either end."""
    if (
        not isinstance(value, str)
        or not value
        or not (value.isascii() and value.isprintable())
        or value != value.strip()
    ):
        raise InvalidValue(
            f"{name} must be a non-empty string of printable ASCII characters, "
            "without spaces at either end"
        )
    return value


def shown(value: str) -> str:
    """``value`` quoted for a message, cut short when long."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _common(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{name} must be a string, not {type(value).__name__}")
    if value == "":
        raise InvalidValue(f"{name} must not be empty: leave it out instead of sending it empty")
    if len(value) > limit:
        raise InvalidValue(f"{name} is {len(value)} characters long; at most {limit} are allowed")
    if _CONTROL.search(value):
        raise InvalidValue(f"{name} must not contain NUL bytes or other control characters")
    return value


def session_id(value: object, name: str = "sessionId") -> str:
    """A session id as a client sent it (whether it exists is checked elsewhere)."""
    return _common(name, value, MAX_ID_LENGTH)


def context_id(value: object, name: str = "contextId") -> str:
    """A context id: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit."""
    text = _common(name, value, MAX_ID_LENGTH)
    if not _CONTEXT_ID.match(text):
        raise InvalidValue(
            f"{name} {shown(text)} is not a valid context id: use only letters, digits, "
            "'.', '_' and '-', starting with a letter or digit (e.g. ctx-a)"
        )
    return text


def mount_path(
    value: object, name: str = "path", *, example: str = "/home/data", kind: str = "folder"
) -> str:
    """A mount path in a session: absolute, ``/``-separated, no ``.``/``..`` or empty segments.

    ``example`` and ``kind`` (what the path names) are for the messages: the same
    rules hold for the paths of a context's files and folders.
    """
    text = _common(name, value, MAX_PATH_LENGTH)
    if "\\" in text:
        raise InvalidValue(f"{name} {shown(text)} contains '\\': separate folders with '/'")
    if not text.startswith("/"):
        raise InvalidValue(
            f"{name} {shown(text)} is not absolute: start it with '/', e.g. {example}"
        )
    if text == "/":
        raise InvalidValue(f"{name} must name a {kind} below '/', e.g. {example}, not '/' itself")
    decoded = text
    for _ in range(3):
        decoded = unquote(decoded)
    if decoded != text and ("\\" in decoded or _CONTROL.search(decoded) or ".." in decoded):
        raise InvalidValue(
            f"{name} {shown(text)} hides '..', '\\' or control characters in %-escapes: "
            "give the plain path"
        )
    segments = text[1:].split("/")
    if "" in segments:
        raise InvalidValue(
            f"{name} {shown(text)} has an empty segment: remove doubled or trailing '/'"
        )
    if any(segment in (".", "..") for segment in segments):
        raise InvalidValue(f"{name} {shown(text)} must not contain '.' or '..' segments")
    return text


def mounts(value: object) -> dict[str, str]:
    """The mounts of a new session: context id -> mount path, each path used once."""
    if not isinstance(value, dict):
        raise InvalidValue(
            "mounts must map context ids to mount paths, e.g. {'ctx-a': '/home/data'}"
        )
    if len(value) > MAX_MOUNTS:
        raise InvalidValue(f"a session may have at most {MAX_MOUNTS} mounts, not {len(value)}")
    checked: dict[str, str] = {}
    owners: dict[str, str] = {}
    for raw_id, raw_path in value.items():
        cid = context_id(raw_id, "mount context id")
        path = mount_path(raw_path, f"mount path of {cid}")
        if path in owners:
            raise InvalidValue(
                f"contexts {owners[path]} and {cid} are both mounted at {path}: "
                "give each context its own path"
            )
        owners[path] = cid
        checked[cid] = path
    return checked
