"""One emulator per data dir: an exclusive lock on a file inside it, held while it runs.

The lock is an OS lock (``flock``; a byte-range lock on Windows): it is let go
when the emulator stops or its process ends, however it ends, so a crashed
emulator never leaves its folder locked. The file also says who holds it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from agb_context.emulator._errors import DataDirInUse

LOCK_FILE = ".emulator.lock"

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
