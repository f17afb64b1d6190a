"""Copying folder trees without losing data: copy aside, then swap in.

Only folders and regular files are copied. Symbolic links are never followed
and, like sockets, FIFOs and devices, not copied either: a copy can never
read anything outside the folder it copies.

A target is replaced only once the copy beside it is complete, by renaming,
so a copy that fails or is stopped half-way leaves the target as it was.
Leftovers of an interrupted swap are put right by `recover`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import threading
from pathlib import Path

import attrs

_CHUNK = 1 << 20
_STAGING = ".staging-"
_REPLACED = ".replaced-"
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


class CopyCancelled(Exception):
    """The copy was stopped (the emulator is shutting down); the target is unchanged."""


class CopyFailed(Exception):
    """The copy could not be completed; the message says why. The target is unchanged."""


@attrs.frozen(kw_only=True)
class CopyStats:
    """What one copy moved."""

    files: int
    folders: int
    bytes: int
    skipped: tuple[str, ...]
    """Relative paths of entries not copied: symbolic links and special files."""


def count_files(source: Path) -> int:
    """How many regular files `replace_tree` would copy from ``source``."""
    total = 0
    pending = [source]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += 1
    return total


def replace_tree(
    source: Path,
    target: Path,
    *,
    cancel: threading.Event,
    fail_after_files: int | None = None,
) -> CopyStats:
    """Make ``target`` a copy of the folder ``source``, replacing what it held.

    ``cancel`` stops the copy between two chunks. ``fail_after_files`` makes
    the copy fail once that many files have been copied (or before the swap
    when there are fewer): a fault injected for tests.

    Raises:
        CopyFailed: ``source`` is not a real folder, or the injected fault.
        CopyCancelled: ``cancel`` was set.
        OSError: Reading or writing failed.
    """
    try:
        mode = os.lstat(source).st_mode
    except FileNotFoundError:
        raise CopyFailed(f"{source} does not exist") from None
    if not stat.S_ISDIR(mode):
        raise CopyFailed(f"{source} is not a folder")
    staging = _beside(target, _STAGING)
    try:
        stats = _copy_tree(source, staging, cancel, fail_after_files)
        if cancel.is_set():
            raise CopyCancelled
        _swap_in(staging, target)
    except BaseException:
        _remove(staging)
        raise
    return stats


def recover(folder: Path) -> None:
    """Put right what an interrupted `replace_tree` left in ``folder``.

    Unfinished copies are deleted; a target renamed aside but never replaced
    gets its previous content back.
    """
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name.startswith(_STAGING):
            _remove(child)
        elif child.name.startswith(_REPLACED):
            original = folder / child.name[len(_REPLACED) :].rsplit("-", 1)[0]
            if os.path.lexists(original):
                _remove(child)
            else:
                os.rename(child, original)


def discard_tree(target: Path) -> None:
    """Remove the folder ``target`` all at once: it is renamed aside, then deleted.

    Readers see the whole folder or none of it; what a stop leaves of the
    renamed copy is deleted by `recover`.
    """
    if not os.path.lexists(target):
        return
    aside = _beside(target, _STAGING)
    os.rename(target, aside)
    _remove(aside)


def _beside(target: Path, prefix: str) -> Path:
    return target.with_name(f"{prefix}{target.name}-{secrets.token_hex(8)}")


def _swap_in(new: Path, target: Path) -> None:
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    old = _beside(target, _REPLACED)
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _copy_tree(
    source: Path, dest: Path, cancel: threading.Event, fail_after_files: int | None
) -> CopyStats:
    files = folders = size = 0
    skipped: list[str] = []
    os.mkdir(dest)
    pending = [(source, dest)]
    while pending:
        src_dir, dst_dir = pending.pop()
        with os.scandir(src_dir) as entries:
            for entry in entries:
                if cancel.is_set():
                    raise CopyCancelled
                src = Path(entry.path)
                dst = dst_dir / entry.name
                if entry.is_dir(follow_symlinks=False):
                    os.mkdir(dst)
                    folders += 1
                    pending.append((src, dst))
                    continue
                copied = (
                    _copy_file(src, dst, cancel) if entry.is_file(follow_symlinks=False) else None
                )
                if copied is None:
                    skipped.append(src.relative_to(source).as_posix())
                    continue
                files += 1
                size += copied
                if fail_after_files is not None and files >= fail_after_files:
                    raise CopyFailed(f"injected fault: the copy failed after {files} file(s)")
    if fail_after_files is not None:
        raise CopyFailed(f"injected fault: the copy failed after {files} file(s)")
    return CopyStats(files=files, folders=folders, bytes=size, skipped=tuple(skipped))


def _copy_file(src: Path, dst: Path, cancel: threading.Event) -> int | None:
    """Copy one regular file; its size, or None when ``src`` is not a regular file."""
    try:
        fd = os.open(src, _OPEN_FLAGS)
    except OSError:
        if os.path.islink(src):
            return None
        raise
    with open(fd, "rb") as reader:
        info = os.fstat(reader.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        copied = 0
        with open(dst, "xb") as writer:
            while chunk := reader.read(_CHUNK):
                if cancel.is_set():
                    raise CopyCancelled
                writer.write(chunk)
                copied += len(chunk)
    os.chmod(dst, stat.S_IMODE(info.st_mode))
    os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
    return copied
