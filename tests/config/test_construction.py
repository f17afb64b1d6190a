"""Building a ContextManager: configuration sources, session objects, lifetime."""

from __future__ import annotations

import asyncio
import inspect
import logging

import httpx
import pytest
from support import SECRETS

from agb_context import ConfigurationError, ContextManager, RetryPolicy, Session
from agb_context._config import DEFAULT_ENDPOINT, normalize_endpoint, resolve_settings
from agb_context.emulator import Emulator


class AgbLikeSession:
    """What the public AGB SDK's Session offers."""

    def __init__(self, session_id: str, api_key: str) -> None:
        self._session_id, self._api_key = session_id, api_key

    def get_session_id(self) -> str:
        return self._session_id

    def get_api_key(self) -> str:
        return self._api_key


def test_environment_variables_are_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGB_API_KEY", "env-key")
    monkeypatch.setenv("AGB_ENDPOINT", "api.example.test")
    monkeypatch.setenv("AGB_TIMEOUT_MS", "2500")
    settings = resolve_settings()
    assert settings.api_key == "env-key"
    assert settings.base_url == "https://api.example.test"
    assert settings.timeout == httpx.Timeout(2.5)
    explicit = resolve_settings(api_key="arg-key", endpoint="other.test", timeout=7)
    assert (explicit.api_key, explicit.base_url, explicit.timeout) == (
        "arg-key",
        "https://other.test",
        httpx.Timeout(7.0),
    )


def test_blank_arguments_count_as_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGB_API_KEY", "env-key")
    monkeypatch.setenv("AGB_ENDPOINT", "api.example.test")
    settings = resolve_settings(
        api_key="  ", endpoint="", proxy=" ", verify=" ", user_agent_suffix=""
    )
    assert settings.api_key == "env-key"
    assert settings.base_url == "https://api.example.test"
    assert settings.tls == resolve_settings(api_key="k").tls


def test_blank_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AGB_ENDPOINT", "AGB_TIMEOUT_MS", "AGB_CONNECT_TIMEOUT_MS", "AGB_MAX_RETRIES"):
        monkeypatch.setenv(name, "  ")
    settings = resolve_settings(api_key="k")
    assert settings.base_url == f"https://{DEFAULT_ENDPOINT}"
    assert settings.timeout == httpx.Timeout(60.0, connect=10.0)
    assert settings.retry == RetryPolicy()
    monkeypatch.setenv("AGB_API_KEY", " ")
    with pytest.raises(ConfigurationError, match=r"no API key.*\(api_key was blank\)"):
        resolve_settings(api_key="")


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AGB_ENDPOINT", "AGB_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    settings = resolve_settings(api_key="k")
    assert settings.base_url == f"https://{DEFAULT_ENDPOINT}"
    assert settings.timeout == httpx.Timeout(60.0, connect=10.0)
    assert settings.retry == RetryPolicy()


def test_missing_api_key_is_a_clear_error_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AGB_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="AGB_API_KEY"):
        ContextManager("session-1")


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "milliseconds"), ("-5", "positive"), ("0", "positive"), ("nan", "positive")],
)
def test_bad_timeout_variable(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv("AGB_TIMEOUT_MS", value)
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(api_key="k")


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("sdk-api.agb.cloud", "https://sdk-api.agb.cloud"),
        ("https://sdk-api.agb.cloud/", "https://sdk-api.agb.cloud"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9000/", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_endpoint_normalisation(endpoint: str, expected: str) -> None:
    assert normalize_endpoint(endpoint) == expected


def test_plain_http_to_a_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        ContextManager("s", api_key="k", endpoint="http://api.example.test")
    cm = ContextManager(
        "s", api_key="k", endpoint="http://api.example.test", allow_insecure_http=True
    )
    assert cm.endpoint == "http://api.example.test"
    cm.close()


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("ftp://host", "the scheme must be https or http, not 'ftp'"),
        ("https://", "it names no host"),
        ("http://", "it names no host"),
        ("not a host", "'not%20a%20host' is not a host name or an IP address"),
        ("https://exa mple.com", "is not a host name or an IP address"),
        ("https://-bad-.example", "'-bad-.example' is not a host name"),
        ("https://host..example", "is not a host name"),
        ("1.2.3", "'1.2.3' is not a host name or an IP address"),
        ("https://host:99999", "the port must be from 1 to 65535, not 99999"),
        ("https://host:0", "the port must be from 1 to 65535, not 0"),
        ("https://host:x", "Invalid port"),
        ("https://host/?q=1", "no query"),
        ("https://host/#top", "or fragment"),
    ],
)
def test_invalid_endpoints(endpoint: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid endpoint") as raised:
        ContextManager("s", api_key="k", endpoint=endpoint)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("münchen.example", "https://xn--mnchen-3ya.example"),
        ("a_b.internal.example:8443", "https://a_b.internal.example:8443"),
        ("https://gateway.example/agb/", "https://gateway.example/agb"),
        ("https://203.0.113.7", "https://203.0.113.7"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
        ("sdk-api.agb.cloud.", "https://sdk-api.agb.cloud."),
    ],
)
def test_host_names_and_addresses_are_accepted(endpoint: str, expected: str) -> None:
    assert normalize_endpoint(endpoint) == expected


def test_credentials_in_the_endpoint_are_removed_and_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = "https://someone:hunter2-secret@api.example.test/"
    SECRETS.add("hunter2-secret")
    with caplog.at_level(logging.WARNING, logger="agb_context"):
        cm = ContextManager("s", api_key="k", endpoint=endpoint)
    assert cm.endpoint == "https://api.example.test"
    assert "hunter2" not in repr(cm) + repr(cm._settings)
    assert "user name and password in the endpoint were removed" in caplog.text
    assert "hunter2" not in caplog.text
    cm.close()
    for bad in ("https://someone:hunter2-secret@bad host/", "someone:hunter2@secret@bad host"):
        with pytest.raises(ConfigurationError) as raised:
            ContextManager("s", api_key="k", endpoint=bad)
        assert "hunter2" not in str(raised.value)
        assert "secret" not in str(raised.value)
        assert "***@bad" in str(raised.value)


@pytest.mark.parametrize(
    ("session_id", "message"),
    [("", "session_id is blank"), ("   ", "session_id is blank"), ("a\x00b", "NUL")],
)
def test_invalid_session_id(session_id: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ContextManager(session_id, api_key="k")


def test_session_must_be_an_id_or_session_object() -> None:
    with pytest.raises(TypeError, match="get_session_id"):
        ContextManager(42, api_key="k")  # type: ignore[arg-type]


def test_built_from_an_agb_sdk_style_session(agb_clean_emulator: Emulator) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-s": "/home/s"})
    with ContextManager(
        AgbLikeSession(sid, agb_clean_emulator.api_key), endpoint=agb_clean_emulator.endpoint
    ) as cm:
        assert cm.session_id == sid
        assert cm.info().success


def test_session_object_reads_like_the_seed_api(agb_clean_emulator: Emulator) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-s": "/home/s"})
    with Session(
        sid, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    ) as session:
        assert session.get_session_id() == sid
        assert session.get_api_key() == agb_clean_emulator.api_key
        result = session.context.sync(retry_interval=20).result(timeout=30)
        assert result.success, result.error_message
        assert agb_clean_emulator.api_key not in repr(session)


def test_session_takes_every_option_of_a_manager() -> None:
    manager = inspect.signature(ContextManager).parameters
    session = inspect.signature(Session).parameters
    assert list(session)[1:] == list(manager)[1:]
    for name in list(manager)[1:]:
        assert session[name].default == manager[name].default, name


def test_session_closes_with_async_with(agb_clean_emulator: Emulator) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-s": "/home/s"})

    async def main() -> Session:
        async with Session(
            sid, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as session:
            assert (await session.context.info_async()).success
        return session

    session = asyncio.run(main())
    with pytest.raises(RuntimeError, match="closed"):
        session.context.info()


def test_repr_names_the_session_but_not_the_key(agb_clean_emulator: Emulator) -> None:
    with ContextManager(
        "sess-r", api_key="very-secret-key", endpoint=agb_clean_emulator.endpoint
    ) as cm:
        assert "sess-r" in repr(cm)
        assert "very-secret-key" not in repr(cm)
        assert "very-secret-key" not in repr(cm._settings)


def test_connections_are_reused(agb_clean_emulator: Emulator, cm: ContextManager) -> None:
    for _ in range(5):
        assert cm.info().success
    pool = cm._clients._client.get_httpx_client()._transport._inner._pool  # type: ignore[union-attr]
    assert len(pool.connections) == 1


def test_closed_manager_refuses_work(agb_clean_emulator: Emulator, session_id: str) -> None:
    cm = ContextManager(
        session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    )
    assert cm.info().success
    cm.close()
    cm.close()
    with pytest.raises(RuntimeError, match="closed"):
        cm.info()
    with pytest.raises(RuntimeError, match="closed"):
        cm.sync()


def test_async_with_closes_the_loop_connections(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    async def main() -> ContextManager:
        async with ContextManager(
            session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as cm:
            assert (await cm.info_async()).success
            client = (await cm._async_client()).get_async_httpx_client()
        assert client.is_closed
        return cm

    cm = asyncio.run(main())
    with pytest.raises(RuntimeError, match="closed"):
        cm.info()


class _AgbConfig:
    """The AGB SDK's ``AGB`` object as its ``Session.agb``: key, endpoint and timeout."""

    def __init__(self, api_key: str, endpoint: str, timeout_ms: int) -> None:
        self.api_key, self.endpoint, self.timeout_ms = api_key, endpoint, timeout_ms


class AgbSessionWithConfig(AgbLikeSession):
    """The AGB SDK's Session as it really is: its ``agb`` carries endpoint and timeout."""

    def __init__(self, session_id: str, agb: _AgbConfig) -> None:
        super().__init__(session_id, agb.api_key)
        self.agb = agb


def test_a_session_carrying_endpoint_and_timeout_gives_all_three(
    monkeypatch: pytest.MonkeyPatch, agb_clean_emulator: Emulator
) -> None:
    monkeypatch.setenv("AGB_ENDPOINT", "production.example.test")
    monkeypatch.setenv("AGB_TIMEOUT_MS", "60000")
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    session = AgbSessionWithConfig(
        sid, _AgbConfig(agb_clean_emulator.api_key, agb_clean_emulator.endpoint, 2500)
    )
    with ContextManager(session) as cm:
        assert cm.endpoint == agb_clean_emulator.endpoint
        assert cm._settings.timeout == httpx.Timeout(2.5, connect=2.5)
        assert cm.info().success  # the key went to the session's own endpoint


def test_an_endpoint_argument_other_than_the_sessions_is_refused(
    agb_clean_emulator: Emulator,
) -> None:
    session = AgbSessionWithConfig("s-1", _AgbConfig("staging-key", "staging.example.test", 1000))
    with pytest.raises(ConfigurationError, match="differs from the session's"):
        ContextManager(session, endpoint="sdk-api.agb.cloud")
    same = ContextManager(session, endpoint="https://staging.example.test/", timeout=9)
    assert same.endpoint == "https://staging.example.test"
    assert same._settings.timeout.read == 9  # an explicit timeout wins over the session's
    same.close()


def test_a_session_with_only_a_key_keeps_the_usual_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGB_ENDPOINT", "env.example.test")
    with ContextManager(AgbLikeSession("s-1", "k")) as cm:
        assert cm.endpoint == "https://env.example.test"
    with ContextManager(AgbLikeSession("s-1", "k"), endpoint="arg.example.test") as cm:
        assert cm.endpoint == "https://arg.example.test"


def test_this_packages_session_is_taken_whole(agb_clean_emulator: Emulator) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    session = Session(
        sid, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint, timeout=3
    )
    with session, ContextManager(session) as cm:
        assert cm.endpoint == agb_clean_emulator.endpoint
        assert cm._settings.timeout.read == 3
        assert cm.info().success


def test_settings_can_be_hashed_and_compared() -> None:
    one = resolve_settings(api_key="k", timeout=httpx.Timeout(5, connect=1))
    two = resolve_settings(api_key="k", timeout=httpx.Timeout(5, connect=1))
    assert one == two
    assert hash(one) == hash(two)
    assert one != resolve_settings(api_key="k", timeout=6)
