"""Checked by mypy in ``nox -s typecheck``, not run: the public signatures catch typos.

Each ``type: ignore`` below must be needed (``--warn-unused-ignores``, part of
``--strict``): if a signature stopped catching the typo, mypy would fail here.
"""

from __future__ import annotations

from agb_context import ContextManager, ContextSyncResult, ErrorKind, SyncMode


def typos(cm: ContextManager) -> None:
    cm.sync("ctx-a", "/home/data", mode="uplaod")  # type: ignore[arg-type]
    cm.info(task_type="downlaod")  # type: ignore[arg-type]
    mode: SyncMode = "sideways"  # type: ignore[assignment]
    kind: ErrorKind = "network"  # type: ignore[assignment]
    del mode, kind


def fine(cm: ContextManager) -> ContextSyncResult:
    cm.info(task_type="download")
    return cm.sync("ctx-a", "/home/data", mode="upload").result()
