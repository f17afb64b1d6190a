"""pytest fixtures for testing code that uses agb-context, against the local emulator.

Installed with the ``emulator`` extra and loaded by pytest on its own (an
entry point in the ``pytest11`` group); nothing to import or register:

- ``agb_emulator`` (one per test session, or per worker under pytest-xdist):
  a running `Emulator` in a temporary data dir of its own.
- ``agb_clean_emulator``: the same emulator, `Emulator.reset` before the test,
  so that nothing of an earlier test (sessions, contexts, running tasks,
  faults, recorded requests) is left.
- ``agb_context_manager``: a factory of `ContextManager` objects bound to the
  clean emulator (endpoint and key set), closed after the test, whose syncs
  poll every 10 ms unless told otherwise, so a sync takes milliseconds.
- ``agb_context_service``: a `ContextService` bound to the clean emulator,
  closed after the test.
- ``agb_emulator_env``: the clean emulator, with ``AGB_ENDPOINT`` and
  ``AGB_API_KEY`` set to its endpoint and key for the test, so that code
  which makes its own managers and services from the environment talks to it
  unchanged.

Override ``agb_emulator`` in a ``conftest.py`` to start it differently (a
``task_delay``, a ``seed``). The emulator and its server libraries are
imported only when a fixture is used, and only the SDK's package otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agb_context import ContextManager, ContextService, PollingPolicy
    from agb_context.emulator import Emulator

ContextManagerFactory = Callable[..., "ContextManager"]
"""``agb_context_manager(session_id, **options)``: options as for `ContextManager`."""

_POLL_OPTIONS = frozenset({"max_retries", "retry_interval", "polling"})
_POLL_POSITION = 4
"""Where ``max_retries`` stands among the positional arguments of `ContextManager.sync`."""


def fast_polling() -> PollingPolicy:
    """How syncs of the factory's managers poll unless told otherwise.

    Every 10 ms for at most a minute. The emulator lists a task as soon as
    ``SyncContext`` returns, so no grace is needed for late-listed tasks; a
    test that turns on the emulator's registration lag passes its own
    ``polling=`` (or ``max_retries`` / ``retry_interval``).
    """
    from agb_context import PollingPolicy

    return PollingPolicy(interval=0.01, max_polls=6000, deadline=60.0, grace=0.0, grace_polls=1)


@functools.cache
def _fast_polling_manager() -> type[ContextManager]:
    """`ContextManager` whose `sync` polls with `fast_polling` unless told how to poll
    (made on first use: the SDK is imported only by a test that uses a fixture)."""
    from agb_context import ContextManager, SyncOperation

    class FastPollingContextManager(ContextManager):
        def sync(self, *args: Any, **kwargs: Any) -> SyncOperation:
            if len(args) <= _POLL_POSITION and not _POLL_OPTIONS & kwargs.keys():
                kwargs["polling"] = fast_polling()
            return super().sync(*args, **kwargs)

    return FastPollingContextManager


@pytest.fixture(scope="session")
def agb_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A running emulator for the whole test session, in a temporary data dir of its own.

    Tests share it: use ``agb_clean_emulator`` to start each test on an empty one.
    """
    from agb_context.emulator import Emulator

    with Emulator(data_dir=tmp_path_factory.mktemp("agb-emulator")) as emulator:
        yield emulator


@pytest.fixture
def agb_clean_emulator(agb_emulator: Emulator) -> Emulator:
    """The session's emulator, reset before the test: empty, no faults, no requests.

    Requests an earlier test left held by an injected latency are answered
    at once (503) rather than waited for, and none it sent is left to land in
    this test's ``requests`` (see `Emulator.reset`).
    """
    agb_emulator.reset()
    return agb_emulator


@pytest.fixture
def agb_context_manager(agb_clean_emulator: Emulator) -> Iterator[ContextManagerFactory]:
    """Make `ContextManager` objects bound to the clean emulator; closed after the test.

    ``agb_context_manager(session_id, **options)`` takes the options of
    `ContextManager` (``api_key`` and ``endpoint`` default to the
    emulator's). Their syncs poll every 10 ms (see `fast_polling`) unless
    given ``polling``, ``max_retries`` or ``retry_interval``.
    """
    made: list[ContextManager] = []

    def make(session_id: str, **options: Any) -> ContextManager:
        options.setdefault("api_key", agb_clean_emulator.api_key)
        options.setdefault("endpoint", agb_clean_emulator.endpoint)
        manager = _fast_polling_manager()(session_id, **options)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


@pytest.fixture
def agb_context_service(agb_clean_emulator: Emulator) -> Iterator[ContextService]:
    """A `ContextService` bound to the clean emulator (its endpoint and key); closed
    after the test."""
    from agb_context import ContextService

    with ContextService(
        api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    ) as service:
        yield service


@pytest.fixture
def agb_emulator_env(agb_clean_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The clean emulator, with ``AGB_ENDPOINT`` and ``AGB_API_KEY`` set to its endpoint
    and key until the test ends: code that makes ``ContextManager(session_id)`` or
    ``ContextService()`` without arguments reaches it, unchanged."""
    monkeypatch.setenv("AGB_ENDPOINT", agb_clean_emulator.endpoint)
    monkeypatch.setenv("AGB_API_KEY", agb_clean_emulator.api_key)
    return agb_clean_emulator
