"""Networks as users have them: proxies, TLS trust, timeouts, the User-Agent.

Everything runs on 127.0.0.1: the emulator behind a TLS front with a
certificate from a test CA, a small proxy, and a listener that never accepts.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import ssl
import subprocess
import sys
import time
import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trustme
from support import (
    API_HOST,
    CONTEXT_ID,
    MOUNT,
    NETWORK_ENV,
    SECRETS,
    Proxy,
    ServerLoop,
    TlsFront,
    never_accepting_listener,
    self_signed_certificate,
)

from agb_context import (
    ConfigurationError,
    ContextInfoResult,
    ContextManager,
    ContextService,
    InsecureTLSWarning,
    RetryPolicy,
    Session,
    __version__,
)
from agb_context._client import build_client
from agb_context._config import resolve_settings
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory
from agb_context_api.api.context import sync_context
from agb_context_api.models import EmptyBody

ONE_TRY = RetryPolicy(max_retries=0)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NETWORK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def https_endpoint(front: TlsFront) -> str:
    return f"https://localhost:{front.port}"


def _info_ok(cm: ContextManager) -> None:
    result = cm.info()
    assert result.success, result.error_message


# --- TLS trust -----------------------------------------------------------------------------


def test_an_unknown_ca_is_reported_as_a_tls_failure_naming_the_host(
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    https_endpoint: str,
    front: TlsFront,
) -> None:
    before = front.connections
    cm = agb_context_manager(session_id, endpoint=https_endpoint)
    result = cm.info()
    assert not result.success
    assert result.error_message.startswith("TLS certificate of localhost could not be verified")
    assert "certifi" in result.error_message
    assert "could not reach" not in result.error_message
    assert front.connections - before == 1, "a certificate failure is not retried"


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.new_event_loop  # type: ignore[no-any-return]
    return asyncio.new_event_loop


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_asyncio_client_reports_an_unknown_ca_and_a_trusted_one_works(
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    https_endpoint: str,
    ca_file: str,
    loop: str,
) -> None:
    async def both() -> tuple[ContextInfoResult, ContextInfoResult]:
        untrusted = agb_context_manager(session_id, endpoint=https_endpoint)
        trusted = agb_context_manager(session_id, endpoint=https_endpoint, verify=ca_file)
        sync = await trusted.sync(CONTEXT_ID, MOUNT, retry_interval=20)
        assert sync.success, sync.error_message
        return await untrusted.info_async(), await trusted.info_async()

    with asyncio.Runner(loop_factory=_loop_factory(loop)) as runner:
        refused, answered = runner.run(both())
    assert not refused.success
    assert refused.error_message.startswith("TLS certificate of localhost could not be verified")
    assert answered.success, answered.error_message


def test_verify_takes_a_ca_bundle_path(
    agb_context_manager: ContextManagerFactory, session_id: str, https_endpoint: str, ca_file: str
) -> None:
    _info_ok(agb_context_manager(session_id, endpoint=https_endpoint, verify=ca_file))
    _info_ok(agb_context_manager(session_id, endpoint=https_endpoint, verify=Path(ca_file)))


def test_verify_takes_an_ssl_context(
    agb_context_manager: ContextManagerFactory, session_id: str, https_endpoint: str, ca_file: str
) -> None:
    context = ssl.create_default_context(cafile=ca_file)
    _info_ok(agb_context_manager(session_id, endpoint=https_endpoint, verify=context))


def test_verify_false_works_but_warns_loudly(
    agb_context_manager: ContextManagerFactory, session_id: str, https_endpoint: str
) -> None:
    with pytest.warns(InsecureTLSWarning, match="verification is turned off"):
        cm = agb_context_manager(session_id, endpoint=https_endpoint, verify=False)
    _info_ok(cm)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_ca_bundle_variables_count_for_every_manager_built(
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    https_endpoint: str,
    ca_file: str,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    # A first manager, built before the variable is set, must not fix the trust for later ones.
    assert not agb_context_manager(session_id, endpoint=https_endpoint).info().success
    monkeypatch.setenv(variable, ca_file)
    _info_ok(agb_context_manager(session_id, endpoint=https_endpoint))
    monkeypatch.delenv(variable)
    assert not agb_context_manager(session_id, endpoint=https_endpoint).info().success


def test_ssl_cert_dir_is_honoured(
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    https_endpoint: str,
    ca_file: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("a hashed CA folder is made with the openssl command, which is missing")
    shutil.copy(ca_file, tmp_path / "test-ca.pem")
    subprocess.run([openssl, "rehash", str(tmp_path)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    _info_ok(agb_context_manager(session_id, endpoint=https_endpoint))


def test_a_changed_ca_file_is_read_again(
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    https_endpoint: str,
    ca_file: str,
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(trustme.CA().cert_pem.bytes())
    assert (
        not agb_context_manager(session_id, endpoint=https_endpoint, verify=bundle).info().success
    )
    bundle.write_bytes(Path(ca_file).read_bytes() + b"\n")
    _info_ok(agb_context_manager(session_id, endpoint=https_endpoint, verify=bundle))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"verify": "/no/such/ca.pem"}, "verify names '/no/such/ca.pem', which cannot be read"),
        ({"SSL_CERT_FILE": "/no/such/ca.pem"}, "the SSL_CERT_FILE environment variable names"),
        ({"verify": "garbage"}, "could not be loaded"),
        ({"verify": 3}, "verify must be True, False, the path"),
    ],
)
def test_unusable_trust_settings_are_configuration_errors(
    setting: dict[str, object],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    arguments: dict[str, object] = {}
    for name, value in setting.items():
        value = str(garbage) if value == "garbage" else value
        if name.isupper():
            monkeypatch.setenv(name, str(value))
        else:
            arguments[name] = value
    with pytest.raises(ConfigurationError, match=message):
        ContextManager("s", api_key="k", **arguments)  # type: ignore[arg-type]


def test_a_self_signed_certificate_is_trusted_when_given_as_the_bundle(
    servers: ServerLoop,
    agb_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    tmp_path: Path,
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    target = ("127.0.0.1", httpx.URL(agb_emulator.endpoint).port)
    own = TlsFront(servers, context, target)
    try:
        endpoint = f"https://127.0.0.1:{own.port}"
        failed = agb_context_manager(session_id, endpoint=endpoint, retry=ONE_TRY).info()
        assert failed.error_message.startswith("TLS certificate of 127.0.0.1 could not be")
        assert "self-signed certificate" in failed.error_message
        _info_ok(agb_context_manager(session_id, endpoint=endpoint, verify=str(cert)))
    finally:
        own.close()


def test_a_host_name_the_certificate_does_not_cover_is_a_tls_failure(
    agb_context_manager: ContextManagerFactory, session_id: str, front: TlsFront, ca_file: str
) -> None:
    cm = agb_context_manager(
        session_id, endpoint=f"https://127.0.0.1:{front.port}", verify=ca_file
    )
    result = cm.info()
    assert not result.success
    assert result.error_message.startswith("TLS certificate of 127.0.0.1 could not be verified")
    assert "mismatch" in result.error_message.lower()


# --- proxies -------------------------------------------------------------------------------


def test_https_proxy_from_the_environment_tunnels_with_connect(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    proxy: Proxy,
    ca_file: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    cm = agb_context_manager(session_id, endpoint=API_HOST, verify=ca_file)
    _info_ok(cm)
    # the asyncio client, too
    result = cm.sync(CONTEXT_ID, MOUNT, retry_interval=20).result(timeout=30)
    assert result.success, result.error_message
    assert {r.request_line for r in proxy.requests} == {f"CONNECT {API_HOST}:443 HTTP/1.1"}
    # info, then the sync's read before it starts, then its trigger
    assert [r.path for r in agb_clean_emulator.requests][:3] == [
        "/sdk/GetContextInfo",
        "/sdk/GetContextInfo",
        "/sdk/SyncContext",
    ]


def test_an_explicit_proxy_wins_over_the_environment_and_carries_plain_http(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    cm = agb_context_manager(session_id, proxy=proxy.url)
    _info_ok(cm)
    (request,) = proxy.requests
    endpoint = agb_clean_emulator.endpoint
    assert request.request_line.startswith(f"GET {endpoint}/sdk/GetContextInfo?")
    assert request.headers["user-agent"].startswith(f"agb-context-python/{__version__} Python/")


def test_proxy_credentials_are_sent_but_never_shown(
    servers: ServerLoop,
    front: TlsFront,
    agb_context_manager: ContextManagerFactory,
    session_id: str,
    ca_file: str,
) -> None:
    secret = "proxy-pass-5f2a"
    SECRETS.add(secret)
    guarded = Proxy(servers, lambda host, port: ("127.0.0.1", front.port), "alice:" + secret)
    try:
        right = f"http://alice:{secret}@127.0.0.1:{guarded.port}"
        cm = agb_context_manager(session_id, endpoint=API_HOST, verify=ca_file, proxy=right)
        _info_ok(cm)
        assert secret not in repr(cm) + repr(cm._settings)
        wrong = f"http://alice:wrong-{secret}@127.0.0.1:{guarded.port}"
        refused = agb_context_manager(
            session_id, endpoint=API_HOST, verify=ca_file, proxy=wrong
        ).info()
    finally:
        guarded.close()
    assert not refused.success
    assert refused.error_message.startswith(
        f"the proxy http://127.0.0.1:{guarded.port} did not open a tunnel to {API_HOST}"
    )
    assert "407" in refused.error_message
    assert secret not in refused.error_message


@pytest.mark.parametrize("refused", [1, 3])
def test_a_post_that_never_left_this_machine_is_sent_again(
    agb_clean_emulator: Emulator,
    servers: ServerLoop,
    front: TlsFront,
    session_id: str,
    ca_file: str,
    refused: int,
) -> None:
    # A refused tunnel means the POST cannot have reached the server: it is sent
    # again (the sync trigger is the first request on a fresh client here).
    wary = Proxy(servers, lambda host, port: ("127.0.0.1", front.port), refuse_tunnels=refused)
    settings = resolve_settings(
        api_key=agb_clean_emulator.api_key,
        endpoint=API_HOST,
        verify=ca_file,
        proxy=wary.url,
        retry=RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05),
    )
    try:
        with build_client(settings) as client:
            if refused <= 2:
                response = sync_context.sync_detailed(
                    client=client, body=EmptyBody(), session_id=session_id
                )
                assert response.status_code == 200
            else:
                with pytest.raises(httpx.ProxyError):
                    sync_context.sync_detailed(
                        client=client, body=EmptyBody(), session_id=session_id
                    )
    finally:
        wary.close()
    tunnels = min(refused + 1, 3)
    assert [r.request_line for r in wary.requests] == [
        f"CONNECT {API_HOST}:443 HTTP/1.1"
    ] * tunnels
    assert [r.path for r in agb_clean_emulator.requests] == (
        ["/sdk/SyncContext"] if refused <= 2 else []
    )


def test_an_unreachable_proxy_is_named_in_the_message(
    agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    with never_accepting_listener() as port:
        closed = port
    cm = agb_context_manager(
        session_id, endpoint=API_HOST, proxy=f"http://127.0.0.1:{closed}", retry=ONE_TRY
    )
    result = cm.info()
    assert not result.success
    assert f"through the proxy http://127.0.0.1:{closed}" in result.error_message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HTTPS_PROXY": "http://p1:3128"}, "http://p1:3128"),
        ({"https_proxy": "p2:8080"}, "http://p2:8080"),
        ({"HTTP_PROXY": "http://p1:3128"}, None),
        ({"ALL_PROXY": "http://p3:1080"}, "http://p3:1080"),
        ({"HTTPS_PROXY": "http://p1:3128", "ALL_PROXY": "http://p3:1080"}, "http://p1:3128"),
        ({"HTTPS_PROXY": "http://p1:3128", "NO_PROXY": API_HOST}, None),
        ({"HTTPS_PROXY": "http://p1:3128", "NO_PROXY": "example.test"}, None),
        ({"HTTPS_PROXY": "http://p1:3128", "NO_PROXY": ".example.test"}, None),
        ({"HTTPS_PROXY": "http://p1:3128", "NO_PROXY": "other.test,*"}, None),
        ({"HTTPS_PROXY": "http://p1:3128", "NO_PROXY": "xample.test"}, "http://p1:3128"),
        ({"HTTPS_PROXY": "http://p1:3128", "NO_PROXY": "localhost,127.0.0.1"}, "http://p1:3128"),
    ],
)
def test_environment_proxies_are_chosen_as_httpx_chooses_them(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = resolve_settings(api_key="k", endpoint=API_HOST)
    chosen = None if settings.proxy is None else str(settings.proxy.url)
    assert chosen == expected
    # The same answer as a plain httpx client reading the same variables.
    with httpx.Client() as client:
        transport = client._transport_for_url(httpx.URL(f"https://{API_HOST}/"))
        pool = transport._pool  # type: ignore[attr-defined]
        origin = getattr(pool, "_proxy_url", None)
        via = (
            None
            if origin is None
            else f"{origin.scheme.decode()}://{origin.host.decode()}:{origin.port}"
        )
    assert via == expected


def test_an_endpoint_on_this_machine_ignores_environment_proxies(
    agb_context_manager: ContextManagerFactory, session_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    cm = agb_context_manager(session_id)
    assert cm._settings.proxy is None
    _info_ok(cm)


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("ftp://user:pw-123@proxy.example:21", "expected http://, https://, socks5://"),
        ("http://proxy.example:99999999", "is not a proxy URL"),
        (42, "proxy must be a proxy URL or an httpx.Proxy, not int"),
    ],
)
def test_unusable_proxies_are_configuration_errors(proxy: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        resolve_settings(api_key="k", endpoint=API_HOST, proxy=proxy)  # type: ignore[arg-type]
    assert "pw-123" not in str(raised.value)


def test_an_unusable_environment_proxy_names_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.example")
    with pytest.raises(ConfigurationError, match="HTTPS_PROXY, HTTP_PROXY or ALL_PROXY"):
        resolve_settings(api_key="k", endpoint=API_HOST)


def test_plain_http_never_goes_through_a_remote_proxy_unless_allowed() -> None:
    with pytest.raises(ConfigurationError, match="plain http through the proxy"):
        resolve_settings(api_key="k", endpoint="http://127.0.0.1:8080", proxy="http://p1:3128")
    allowed = resolve_settings(
        api_key="k",
        endpoint="http://127.0.0.1:8080",
        proxy="http://p1:3128",
        allow_insecure_http=True,
    )
    assert allowed.proxy is not None


# --- timeouts ------------------------------------------------------------------------------


def test_an_unreachable_endpoint_fails_well_under_a_minute_with_the_defaults(
    agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    with never_accepting_listener() as port:
        cm = agb_context_manager(session_id, endpoint=f"http://127.0.0.1:{port}", retry=None)
        started = time.monotonic()
        result = cm.info()
        elapsed = time.monotonic() - started
    assert not result.success
    assert result.error_message == (
        f"could not connect to http://127.0.0.1:{port} within 10s (ConnectTimeout)"
    )
    assert elapsed < 45, elapsed


def test_timeout_takes_an_httpx_timeout_per_phase(
    agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    with never_accepting_listener() as port:
        cm = agb_context_manager(
            session_id,
            endpoint=f"http://127.0.0.1:{port}",
            timeout=httpx.Timeout(5, connect=0.2),
            retry=ONE_TRY,
        )
        result = cm.info()
    assert result.error_message.endswith("within 0.2s (ConnectTimeout)")


def test_the_read_timeout_is_its_own(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory, session_id: str
) -> None:
    agb_clean_emulator.faults.set_latency("GetContextInfo", 1.0)
    cm = agb_context_manager(session_id, timeout=httpx.Timeout(0.2, connect=5), retry=ONE_TRY)
    result = cm.info()
    endpoint = agb_clean_emulator.endpoint
    assert result.error_message == f"no response from {endpoint} within 0.2s (ReadTimeout)"


@pytest.mark.parametrize(
    ("timeout", "env", "expected"),
    [
        (None, {}, httpx.Timeout(60, connect=10)),
        (5, {}, httpx.Timeout(5, connect=5)),
        (30, {"AGB_CONNECT_TIMEOUT_MS": "2500"}, httpx.Timeout(30, connect=2.5)),
        (None, {"AGB_TIMEOUT_MS": "120000"}, httpx.Timeout(120, connect=10)),
        (
            httpx.Timeout(5, connect=1),
            {"AGB_CONNECT_TIMEOUT_MS": "2500"},
            httpx.Timeout(5, connect=1),
        ),
        (httpx.Timeout(None, connect=3), {}, httpx.Timeout(None, connect=3)),
    ],
)
def test_timeout_resolution(
    monkeypatch: pytest.MonkeyPatch,
    timeout: float | httpx.Timeout | None,
    env: dict[str, str],
    expected: httpx.Timeout,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_settings(api_key="k", timeout=timeout).timeout == expected


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (httpx.Timeout(5, connect=-1), "timeout.connect must be a positive number"),
        (httpx.Timeout(5, read=float("nan")), "timeout.read must be a positive number"),
        ("5", "timeout must be a number of seconds or an httpx.Timeout"),
        (0, "timeout must be a positive number of seconds"),
    ],
)
def test_bad_timeouts(timeout: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(api_key="k", timeout=timeout)  # type: ignore[arg-type]


# --- User-Agent, and the same options on Session ----------------------------------------------


def test_user_agent_suffix_from_the_argument_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = f"agb-context-python/{__version__} Python/{sys.version_info[0]}.{sys.version_info[1]}"
    assert resolve_settings(api_key="k").user_agent == base
    assert resolve_settings(api_key="k", user_agent_suffix="my-app/2.1").user_agent == (
        f"{base} my-app/2.1"
    )
    monkeypatch.setenv("AGB_USER_AGENT_SUFFIX", "from-env/1")
    assert resolve_settings(api_key="k").user_agent == f"{base} from-env/1"
    with pytest.raises(ConfigurationError, match="user_agent_suffix must be printable ASCII"):
        resolve_settings(api_key="k", user_agent_suffix="bad\r\nX-Injected: 1")


def test_the_version_in_the_user_agent_is_the_package_version() -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["version"] == __version__


def test_session_takes_the_same_network_options(
    session_id: str, agb_clean_emulator: Emulator, proxy: Proxy
) -> None:
    with Session(
        session_id,
        api_key=agb_clean_emulator.api_key,
        endpoint=agb_clean_emulator.endpoint,
        proxy=proxy.url,
        timeout=httpx.Timeout(10, connect=2),
        user_agent_suffix="session-test/1",
    ) as session:
        assert session.context.info().success
    (request,) = proxy.requests
    assert request.headers["user-agent"].endswith(" session-test/1")


def test_the_insecure_warning_points_at_the_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ContextManager("s", api_key="k", verify=False).close()
    (warning,) = caught
    assert warning.category is InsecureTLSWarning
    assert os.path.basename(warning.filename) == "test_network.py"


NETWORK_ARGUMENTS = (
    "api_key",
    "endpoint",
    "timeout",
    "allow_insecure_http",
    "retry",
    "proxy",
    "verify",
    "user_agent_suffix",
)


@pytest.mark.parametrize("made", [ContextManager, Session, ContextService])
def test_every_client_takes_the_same_connection_arguments(made: type) -> None:
    expected = inspect.signature(ContextManager).parameters
    parameters = inspect.signature(made).parameters
    for name in NETWORK_ARGUMENTS:
        assert name in parameters, f"{made.__name__} has no {name}="
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default == expected[name].default, name


def test_context_service_goes_through_the_proxy_with_the_ca_bundle(
    agb_clean_emulator: Emulator, proxy: Proxy, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    with ContextService(
        api_key=agb_clean_emulator.api_key, endpoint=API_HOST, user_agent_suffix="service-test/3"
    ) as service:
        result = service.list()
    assert result.success, result.error_message
    assert {r.request_line for r in proxy.requests} == {f"CONNECT {API_HOST}:443 HTTP/1.1"}
    assert "/sdk/ListContexts" in [r.path for r in agb_clean_emulator.requests]


def test_context_service_reports_an_untrusted_certificate_as_such(
    agb_clean_emulator: Emulator, https_endpoint: str
) -> None:
    with ContextService(api_key=agb_clean_emulator.api_key, endpoint=https_endpoint) as service:
        result = service.list()
    assert not result.success
    assert "TLS certificate of localhost could not be verified" in result.error_message
    assert "could not reach" not in result.error_message
