"""The files of a stored context: paths checked, folders listed, presigned URLs signed.

A file path names a file from the context's root, ``/``-separated (e.g.
``/data/a.csv``), with the rules of mount paths: no ``.``/``..`` or empty
segments, no ``\\``, no control characters, no ``..`` hidden in %-escapes.
Every path is resolved inside the context's folder and refused if any part
of it is a symbolic link, so nothing outside the data folder is ever read or
written.

A presigned URL carries the operation, the context, the path and an expiry,
signed with HMAC-SHA256 under a key made when the emulator starts: changing
any of them, or using it after the expiry, gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import time
from pathlib import Path
from urllib.parse import urlencode

import attrs

from agb_context.emulator import _validation as check
from agb_context.emulator._validation import InvalidValue, NotFound

DEFAULT_URL_LIFETIME = 3600.0
"""Seconds a presigned URL works, unless `UrlSigner.lifetime` says otherwise."""
PRESIGNED_PATH = "/presigned/file"
MAX_PAGE_SIZE = 500
FILE_ENDPOINTS = {
    ("POST", "/sdk/GetContextFileUploadUrl"): "GetContextFileUploadUrl",
    ("POST", "/sdk/GetContextFileDownloadUrl"): "GetContextFileDownloadUrl",
    ("POST", "/sdk/DeleteContextFile"): "DeleteContextFile",
    ("POST", "/sdk/DescribeContextFiles"): "DescribeContextFiles",
}
"""The cloud's routes for a context's files, and their endpoint names."""
PRESIGNED_ROUTES = frozenset({("PUT", PRESIGNED_PATH), ("GET", PRESIGNED_PATH)})
"""Routes open without the API key: a valid signature stands for it."""


class Forbidden(Exception):
    """A presigned URL that is not valid (any more): HTTP 403."""


def file_path(value: object, name: str = "filePath") -> str:
    """A file's path in a context: absolute, ``/``-separated, no ``.``/``..`` segments."""
    return check.mount_path(value, name, example="/data/a.csv", kind="file")


def folder_path(value: str | None, name: str = "parentFolderPath") -> str:
    """A folder's path in a context; ``/`` (the root) when None or ``/``."""
    if value is None or value == "/":
        return "/"
    folder = value.rstrip("/") if value.endswith("/") else value
    return check.mount_path(folder, name, example="/data")


def inside(root: Path, path: str) -> Path:
    """``path`` (checked) under ``root``; refused if a part of it is a symbolic link.

    Raises:
        InvalidValue: A part of the path is a symbolic link or not a folder.
    """
    target = root
    for part in [p for p in path.split("/") if p]:
        target = target / part
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise InvalidValue(f"{check.shown(path)} goes through a symbolic link: refused")
    return target


@attrs.frozen(kw_only=True)
class FileEntry:
    """One entry of a folder listing, as ``DescribeContextFiles`` reports it."""

    path: str
    is_folder: bool
    size: int
    created: float
    modified: float

    def to_wire(self) -> dict[str, object]:
        return {
            "fileId": hashlib.sha256(self.path.encode()).hexdigest()[:16],
            "fileName": self.path.rsplit("/", 1)[-1],
            "filePath": self.path,
            "fileType": "folder" if self.is_folder else "file",
            "gmtCreate": _iso(self.created),
            "gmtModified": _iso(self.modified),
            "size": 0 if self.is_folder else self.size,
            "status": "available",
        }


def list_folder(context_root: Path, folder: str) -> list[FileEntry]:
    """The files and folders directly in ``folder`` of a stored context, sorted by name.

    Symbolic links and special files are left out. An empty or never
    uploaded context has an empty root.

    Raises:
        NotFound: ``folder`` is not a folder of the context.
    """
    where = inside(context_root, folder)
    if not where.is_dir() or where.is_symlink():
        if folder == "/":
            return []
        raise NotFound("FolderNotFound", f"the context has no folder {check.shown(folder)}")
    entries = []
    prefix = "" if folder == "/" else folder
    with os.scandir(where) as found:
        for entry in found:
            info = entry.stat(follow_symlinks=False)
            if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                continue
            entries.append(
                FileEntry(
                    path=f"{prefix}/{entry.name}",
                    is_folder=stat.S_ISDIR(info.st_mode),
                    size=info.st_size,
                    created=info.st_ctime,
                    modified=info.st_mtime,
                )
            )
    return sorted(entries, key=lambda e: e.path)


def page_number(value: str | None, name: str, limit: int | None = None) -> int:
    """A whole number >= 1 (at most ``limit``) given as query text."""
    if value is None:
        raise check.MissingValue(f"{name} is required: a whole number from 1")
    if not value.isdigit() or int(value) < 1 or (limit is not None and int(value) > limit):
        most = f" to {limit}" if limit is not None else ""
        raise InvalidValue(f"{name} must be a whole number from 1{most}, not {check.shown(value)}")
    return int(value)


class UrlSigner:
    """Makes and checks presigned URLs (thread-safe: its key never changes)."""

    def __init__(self, lifetime: float = DEFAULT_URL_LIFETIME) -> None:
        self._key = secrets.token_bytes(32)
        self.lifetime = lifetime
        """Seconds a new URL works."""

    def url(self, base_url: str, op: str, context_id: str, path: str) -> tuple[str, int]:
        """A URL for ``op`` (``put`` or ``get``) of one file, and when it stops working."""
        expires = int(time.time() + self.lifetime)
        query = {
            "op": op,
            "contextId": context_id,
            "filePath": path,
            "expires": str(expires),
            "signature": self._sign(op, context_id, path, str(expires)),
        }
        return f"{base_url.rstrip('/')}{PRESIGNED_PATH}?{urlencode(query)}", expires

    def check(self, query: dict[str, str], op: str) -> tuple[str, str]:
        """The context id and path of a valid URL for ``op``.

        Raises:
            Forbidden: Missing or changed parts, another operation, or expired.
        """
        try:
            given = [query[name] for name in ("op", "contextId", "filePath", "expires")]
            signature = query["signature"]
        except KeyError as missing:
            raise Forbidden(f"the URL lacks its {missing.args[0]}: ask for a new one") from None
        expected = self._sign(*given)
        if not signature.isascii() or not hmac.compare_digest(expected, signature):
            raise Forbidden(
                "the URL's signature does not match: it was changed; ask for a new one"
            )
        if given[0] != op:
            raise Forbidden(f"this URL is for {given[0].upper()}, not {op.upper()}")
        if not given[3].isdigit() or int(given[3]) < time.time():
            raise Forbidden("the URL has expired: ask for a new one")
        return given[1], given[2]

    def _sign(self, op: str, context_id: str, path: str, expires: str) -> str:
        message = "\n".join((op, context_id, path, expires)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
