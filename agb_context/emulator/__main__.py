"""``python -m agb_context.emulator``: serve the emulator until interrupted."""

import importlib.util
import sys


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_missing = [module for module in ("starlette", "uvicorn") if not _installed(module)]
if _missing:
    print(
        f"python -m agb_context.emulator: error: the emulator needs {' and '.join(_missing)}, "
        "which the emulator extra installs: pip install 'agb-context[emulator]'",
        file=sys.stderr,
    )
    raise SystemExit(2)

from agb_context.emulator._cli import main  # noqa: E402

raise SystemExit(main())
