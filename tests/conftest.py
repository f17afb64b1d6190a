"""Fixtures shared by the whole suite: emulators on 127.0.0.1, managers bound to them, watches."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from support import (
    CONTEXT_ID,
    MOUNT,
    SECRETS,
    CallbackRecorder,
    Proxy,
    ServerLoop,
    TlsFront,
    Watch,
    logged_lines,
    refusing_endpoint,
    tls_server_context,
)

from agb_context import ContextManager, ContextService
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

if TYPE_CHECKING:
    import trustme


def pytest_configure(config: pytest.Config) -> None:
    """Let the tests press Ctrl-C on the processes they start.

    A shell starts a background job (``nox &``, a CI step) with SIGINT ignored,
    and a child inherits an ignored signal; a handled one is reset to the default
    in a child. Handling it here makes the children's Ctrl-C live again.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        with contextlib.suppress(ValueError):  # not on the main thread: nothing to do
            signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Name the random order's seed last, where it shows even with ``-q``."""
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and isinstance(seed, int):
        terminalreporter.write_line(
            f"tests ran in random order; to repeat it: pytest -p randomly --randomly-seed={seed}"
        )


@pytest.fixture(autouse=True)
def _api_keys_are_never_logged(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs with all loggers at DEBUG; no record may show an API key."""
    if "agb_emulator" in request.fixturenames:
        SECRETS.add(request.getfixturevalue("agb_emulator").api_key)
    with logged_lines() as lines:
        yield
    leaks = [line.replace(key, "<API KEY>") for line in lines for key in SECRETS if key in line]
    assert not leaks, f"an API key was logged: {leaks[:3]}"


@pytest.fixture
def session_id(agb_clean_emulator: Emulator) -> str:
    """A new session of the plugin's clean emulator, with `CONTEXT_ID` mounted at `MOUNT`."""
    return agb_clean_emulator.create_session(mounts={CONTEXT_ID: MOUNT})


@pytest.fixture
def cm(agb_context_manager: ContextManagerFactory, session_id: str) -> ContextManager:
    """A manager of `session_id`, made by the plugin's ``agb_context_manager``."""
    return agb_context_manager(session_id)


@pytest.fixture
def make_service(agb_clean_emulator: Emulator) -> Iterator[Callable[..., ContextService]]:
    """``make_service(target=agb_clean_emulator, **options)`` makes a `ContextService` of
    the ``target`` emulator (its key and endpoint unless given); closed after the test."""
    made: list[ContextService] = []

    def make(target: Emulator = agb_clean_emulator, **options: Any) -> ContextService:
        options.setdefault("api_key", target.api_key)
        options.setdefault("endpoint", target.endpoint)
        SECRETS.add(str(options["api_key"]))
        service = ContextService(**options)
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., ContextService]) -> ContextService:
    """A `ContextService` of the plugin's clean emulator."""
    return make_service()


@pytest.fixture
def callback() -> CallbackRecorder:
    return CallbackRecorder()


@pytest.fixture
def watch() -> Iterator[Watch]:
    """Threads, background tasks and unhandled errors, watched from before the test acts."""
    watcher = Watch()
    with watcher.installed():
        yield watcher


@pytest.fixture
def refused_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` where nothing listens and nothing can start to."""
    with refusing_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def module_latency_emulator() -> Iterator[Emulator]:
    """An emulator of its own for latency faults.

    A request the client gave up on is still answered once its latency is
    over; kept apart, such stragglers never show in another module's requests.
    """
    with Emulator() as emulator:
        SECRETS.add(emulator.api_key)
        yield emulator


@pytest.fixture
def latency_emulator(module_latency_emulator: Emulator) -> Iterator[Emulator]:
    """The module's emulator for latency faults: no faults, an empty request log."""
    module_latency_emulator.wait_idle()
    module_latency_emulator.faults.clear()
    module_latency_emulator.clear_requests()
    yield module_latency_emulator
    module_latency_emulator.faults.clear()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators of the test's own (stopped at its end); their keys are secrets."""
    made: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emulator = Emulator(**kwargs)
        SECRETS.add(emulator.api_key)
        emulator.start()
        made.append(emulator)
        return emulator

    yield make
    for emulator in made:
        emulator.stop()


# --- networks on 127.0.0.1: a TLS front for the emulator and a proxy ---------------------


@pytest.fixture(scope="module")
def servers() -> Iterator[ServerLoop]:
    """The loop the module's small servers (TLS front, proxies) run on."""
    runner = ServerLoop()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    import trustme  # only for the modules that use it: it loads the cryptography package

    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The path of `ca`'s certificate, as a CA bundle."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def front(servers: ServerLoop, ca: trustme.CA, agb_emulator: Emulator) -> Iterator[TlsFront]:
    """TLS with a certificate of `ca` for localhost, in front of the plugin's emulator."""
    target = ("127.0.0.1", httpx.URL(agb_emulator.endpoint).port)
    tls = TlsFront(servers, tls_server_context(ca), target)
    yield tls
    tls.close()


@pytest.fixture
def proxy(servers: ServerLoop, front: TlsFront) -> Iterator[Proxy]:
    """A proxy that sends every tunnel to the TLS front and plain requests where asked."""
    made = Proxy(servers, lambda host, port: ("127.0.0.1", front.port if port == 443 else port))
    yield made
    made.close()
