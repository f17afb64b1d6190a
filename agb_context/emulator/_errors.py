"""Why an emulator could not start: errors that name the folder or the address at fault."""

from __future__ import annotations


class DataDirError(OSError):
    """The data dir cannot be used: it is a file, cannot be created or written, ..."""


class DataDirInUse(DataDirError):
    """Another emulator holds the data dir; two on one folder would lose each other's files."""


class ListenError(OSError):
    """The emulator cannot listen on its address, e.g. because the port is taken."""
