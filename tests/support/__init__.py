"""Helpers for the tests, importable as `support` (pytest puts tests/ on sys.path).

Everything is re-exported here: ``from support import wait_until, Api``. By subject:

- `support.waiting`: `wait_until` and `wait_until_async` (a condition, with a
  deadline), `drain_background` (the SDK's background loop has run what was
  scheduled).
- `support.managers`: the ``session_id`` fixture's `CONTEXT_ID` and `MOUNT`,
  `SECRETS` (keys the log check looks for in `logged_lines`), `WRONG_KEY`,
  `CallbackRecorder`.
- `support.outcomes`: `run_sync` runs one sync in a calling style (`STYLES`) and
  returns its `Outcome`; `FAST`, `FAST_BACKOFF`, `SLACK` and `matches` for
  exact fault outcomes.
- `support.watch`: `Watch`, nothing left behind (threads, tasks, unhandled
  errors, ERROR records); `sdk_threads`, `background_tasks`.
- `support.emulator`: the emulator over raw HTTP (`Api`, `client_for`,
  `API_KEY`), `assert_error` for its error envelope, `wait_final` for its
  tasks, `tree` of a folder.
- `support.network`: servers and ports on 127.0.0.1 (`TlsFront`, `Proxy`,
  `CannedServer`, `never_accepting_listener`, `refusing_endpoint`,
  `free_port`) and test certificates.
- `support.cli`: the command line in a subprocess (`run_cli`, `Run`, `base_env`),
  a fresh interpreter (`run_python`), Ctrl-C at a chosen point (`interrupt_when`),
  `assert_cli_words` (messages speak in flags, not Python names).
"""

from support.cli import (
    CLI_CONTEXT_ID,
    CLI_MOUNT,
    Run,
    RunCli,
    assert_cli_words,
    base_env,
    interrupt_when,
    run_cli,
    run_python,
)
from support.emulator import (
    API_KEY,
    REQUEST_ID,
    Api,
    assert_error,
    client_for,
    tree,
    wait_final,
)
from support.managers import (
    CONTEXT_ID,
    MOUNT,
    SECRETS,
    WRONG_KEY,
    CallbackRecorder,
    logged_lines,
)
from support.network import (
    API_HOST,
    NETWORK_ENV,
    CannedServer,
    ProxiedRequest,
    Proxy,
    ServerLoop,
    TlsFront,
    free_port,
    never_accepting_listener,
    refusing_endpoint,
    self_signed_certificate,
    tls_server_context,
)
from support.outcomes import FAST, FAST_BACKOFF, SLACK, STYLES, Outcome, matches, run_sync
from support.waiting import drain_background, wait_until, wait_until_async
from support.watch import Watch, background_tasks, sdk_threads

__all__ = [
    "API_HOST",
    "API_KEY",
    "CLI_CONTEXT_ID",
    "CLI_MOUNT",
    "CONTEXT_ID",
    "FAST",
    "FAST_BACKOFF",
    "MOUNT",
    "NETWORK_ENV",
    "REQUEST_ID",
    "SECRETS",
    "SLACK",
    "STYLES",
    "WRONG_KEY",
    "Api",
    "CallbackRecorder",
    "CannedServer",
    "Outcome",
    "ProxiedRequest",
    "Proxy",
    "Run",
    "RunCli",
    "ServerLoop",
    "TlsFront",
    "Watch",
    "assert_cli_words",
    "assert_error",
    "background_tasks",
    "base_env",
    "client_for",
    "drain_background",
    "free_port",
    "interrupt_when",
    "logged_lines",
    "matches",
    "never_accepting_listener",
    "refusing_endpoint",
    "run_cli",
    "run_python",
    "run_sync",
    "sdk_threads",
    "self_signed_certificate",
    "tls_server_context",
    "tree",
    "wait_final",
    "wait_until",
    "wait_until_async",
]
