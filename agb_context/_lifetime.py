"""The end of a client object's life: ``close``, ``with``, a warning when never closed."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Self

from agb_context._http import ClientPool
from agb_context._operation import OperationSet


class ClosedByWith:
    """``with`` and ``async with`` for an object with ``close`` and ``aclose``."""

    def close(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Closable(ClosedByWith):
    """Closing for an object that owns connections (``_clients``) and watches
    operations (``_operations``): ``close``/``aclose``, ``with`` and ``async with``,
    and one `ResourceWarning` naming it when it is collected unclosed."""

    _clients: ClientPool
    _operations: OperationSet

    def close(self) -> None:
        """Cancel the operations still being watched (their callbacks get False) and
        release the connections. Idempotent."""
        self._closing()
        self._clients.close()

    async def aclose(self) -> None:
        """`close` for async code: the current loop's connections are closed awaited."""
        self._closing()
        await self._clients.aclose()

    def _closing(self) -> None:
        self._operations.cancel_all()

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        clients = getattr(self, "_clients", None)  # absent if __init__ raised
        if clients is not None and clients.release_unclosed():
            _warn(
                f"unclosed {self!r}: close it, or use it in a `with` block",
                ResourceWarning,
                source=self,
            )
