"""The ids the emulator makes: session, context, request and task ids, random or seeded."""

from __future__ import annotations

import random
import secrets
import threading
import uuid


class Ids:
    """Makes ids; with a ``seed`` the same sequence each time (and again after `restart`).

    Requests answered concurrently take ids in the order they arrive, so only
    a test that sends one request at a time sees the same request ids each run.
    """

    def __init__(self, seed: int | str | None = None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._random: random.Random | None = None
        self.restart()

    def restart(self) -> None:
        """Start the sequence again from the seed (nothing happens without one)."""
        with self._lock:
            self._random = None if self._seed is None else random.Random(self._seed)  # noqa: S311

    def request_id(self) -> str:
        """E.g. ``5F2C...-...``: an upper-case UUID 4, like the cloud's."""
        return str(uuid.UUID(int=self._bits(128), version=4)).upper()

    def session_id(self) -> str:
        """E.g. ``session-0123456789abcdef``."""
        return f"session-{self._bits(64):016x}"

    def context_id(self) -> str:
        """E.g. ``SdkCtx-0123456789abcdef``, for a context made by name."""
        return f"SdkCtx-{self._bits(64):016x}"

    def task_id(self) -> str:
        return f"{self._bits(64):016x}"

    def _bits(self, count: int) -> int:
        with self._lock:
            if self._random is None:
                return secrets.randbits(count)
            return self._random.getrandbits(count)
