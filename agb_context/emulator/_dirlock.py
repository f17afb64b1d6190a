"""One emulator per data dir: an exclusive lock on a file inside it, held while it runs.

The lock is an OS lock (``flock``; a byte-range lock on Windows): it is let go
when the emulator stops or its process ends, however it ends, so a crashed
emulator never leaves its folder locked. The file also says who holds it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
import sys
import time
from pathlib import Path

from agb_context.emulator._errors import DataDirInUse

LOCK_FILE = ".emulator.lock"
ABANDONED_AFTER = 60.0
"""Seconds since its lock was last taken before a folder no process holds counts as left."""

logger = logging.getLogger("agb_context.emulator")

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    # The lock covers one byte far beyond the holder's description, which stays readable.
    _LOCKED_BYTE = 1 << 30

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class DataDirLock:
    """The lock of one data dir (``root``), taken by `acquire`, let go by `release`."""

    def __init__(self, root: Path) -> None:
        self._path = root / LOCK_FILE
        self._root = root
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise `DataDirInUse` naming the folder and its holder."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            raise DataDirInUse(
                f"the data dir {self._root} is in use by another emulator "
                f"({self._holder()}): two emulators on one folder would delete each "
                "other's files; stop that one, or give each emulator its own data dir"
            )
        self._fd = fd
        self.describe(endpoint=None)

    def describe(self, endpoint: str | None) -> None:
        """Write down who holds the lock, for the message a second emulator gets."""
        if self._fd is None:
            return
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "endpoint": endpoint}
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps(holder).encode())

    def release(self) -> None:
        """Let the lock go (nothing happens when it is not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def _holder(self) -> str:
        try:
            holder = json.loads(self._path.read_text(encoding="utf-8"))
            described = f"process {int(holder['pid'])} on {holder['host']}"
            if holder.get("endpoint"):
                described += f", serving at {holder['endpoint']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that is starting or stopping"
        return described


def remove_abandoned(parent: Path, prefix: str, *, after: float = ABANDONED_AFTER) -> list[Path]:
    """Remove the folders ``parent/<prefix>*`` that emulators killed while running left.

    Such a folder has a lock file that no process holds and that was last
    taken more than ``after`` seconds ago (a folder being made has a young
    one). Each is removed while this process holds its lock. Folders of
    other users, without a lock file, or that cannot be checked are left
    alone. Returns the folders removed.
    """
    removed: list[Path] = []
    uid = getattr(os, "getuid", lambda: None)()
    now = time.time()
    for folder in parent.glob(f"{prefix}*"):
        lock_path = folder / LOCK_FILE
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            found = lock_path.lstat()
            if (
                not stat.S_ISREG(found.st_mode)
                or (uid is not None and found.st_uid != uid)
                or now - found.st_mtime < after
            ):
                continue
            fd = os.open(lock_path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if not _try_lock(fd):
                continue  # an emulator runs on it
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)  # and with it the lock
    if removed:
        logger.info("removed %d data folder(s) left by emulators that were killed", len(removed))
    return removed
