"""A local emulator of the AGB context API, for developing and testing offline.

Like moto or Azurite, it speaks the cloud's wire format over real HTTP and
moves real files, so code written against it runs unchanged against the
cloud. It needs the optional server dependencies::

    pip install 'agb-context[emulator]'

In-process::

    from agb_context.emulator import Emulator

    with Emulator(task_delay=0.2) as emu:
        sid = emu.create_session(mounts={"ctx-a": "/home/data"})
        ...  # point the SDK at emu.endpoint, with emu.api_key

Standalone: ``python -m agb_context.emulator --help``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agb_context.emulator._behaviour import Behaviour, CloudBehaviour
    from agb_context.emulator._errors import DataDirError, DataDirInUse, ListenError
    from agb_context.emulator._faults import ENDPOINTS, FAULTS, Faults, QueuedFault
    from agb_context.emulator._records import RecordedRequest, TaskRecord
    from agb_context.emulator._server import Emulator

_HOMES = {
    "Behaviour": "_behaviour",
    "CloudBehaviour": "_behaviour",
    "DataDirError": "_errors",
    "DataDirInUse": "_errors",
    "ListenError": "_errors",
    "ENDPOINTS": "_faults",
    "FAULTS": "_faults",
    "Faults": "_faults",
    "QueuedFault": "_faults",
    "RecordedRequest": "_records",
    "TaskRecord": "_records",
    "Emulator": "_server",
}

__all__ = [
    "ENDPOINTS",
    "FAULTS",
    "Behaviour",
    "CloudBehaviour",
    "DataDirError",
    "DataDirInUse",
    "Emulator",
    "Faults",
    "ListenError",
    "QueuedFault",
    "RecordedRequest",
    "TaskRecord",
]


def __getattr__(name: str) -> Any:
    # The server libraries are imported on first use, so that the pytest
    # plugin (`agb_context.emulator.pytest_plugin`) loads on any install.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"agb_context.emulator needs its server dependencies ({exc.name} is missing): "
            "pip install 'agb-context[emulator]'"
        ) from exc
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
