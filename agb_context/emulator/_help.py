"""The epilog of the emulator's ``--help``: every admin route and every fault."""

from __future__ import annotations

from agb_context.emulator._admin import ADMIN_ROUTES
from agb_context.emulator._faults import AIM_ARGUMENTS, FAULTS


def _epilog() -> str:
    lines = [
        "admin routes (key in the 'authorization' header as 'Bearer <key>'; all are",
        "described at /emulator/openapi.yaml):",
    ]
    width = max(len(f"{method} {path}") for method, path, _ in ADMIN_ROUTES)
    for method, path, summary in ADMIN_ROUTES:
        lines.append(f"  {f'{method} {path}':<{width}}  {summary}")
    lines += [
        "",
        'faults (POST /emulator/faults {"fault": NAME, ...}, or emulator.faults.NAME()):',
    ]
    width = max(len(name) for name in FAULTS)
    for name, fault in FAULTS.items():
        lines.append(f"  {name:<{width}}  {fault.summary}")
        lines.append(f"  {'':<{width}}    takes {', '.join(fault.arguments)}")
    lines += [
        f"  every fault also takes {', '.join(AIM_ARGUMENTS)}. count: how many",
        "  matching requests or new tasks it applies to (default 1; null: every one",
        "  until cleared); after: how many go by first; sessionId, contextId, path:",
        "  only requests or tasks of that session, context, mount path",
        "",
        "One line per request is logged to stderr unless --quiet.",
    ]
    return "\n".join(lines) + "\n"


EPILOG = _epilog()
