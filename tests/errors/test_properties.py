"""Property tests: arguments, endpoints and server answers of any kind never break the SDK.

The contextStatus codec has its own properties (tests/info/test_status_codec.py);
here the whole request path is exercised, over real HTTP: argument checks
against the emulator (which records what was sent), and arbitrary answers
from a canned server (which can send any body at all).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SECRETS, CallbackRecorder, CannedServer

from agb_context import (
    ConfigurationError,
    ContextInfoResult,
    ContextManager,
    ContextStatusData,
    ContextSyncResult,
    RetryPolicy,
)
from agb_context._config import is_loopback, resolve_settings
from agb_context._status_codec import encode_context_status
from agb_context._validation import MAX_TEXT_LENGTH
from agb_context.emulator import Emulator

UNKNOWN_SESSION = "session-unknown-to-the-emulator"
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    # The fixtures are made once for all examples: each example takes its own request delta.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

anything = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=8)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    | st.builds(object)
)
texts = (
    st.sampled_from(["", "  ", "ctx-a", "/home/data", "a\x00b", "ctx a", "\x1c", "/x\ud800"])
    | st.text(max_size=30)
    | st.text(st.characters(categories=["Cs", "Ll"]), min_size=1, max_size=5)
    | st.integers(MAX_TEXT_LENGTH - 1, MAX_TEXT_LENGTH + 1).map(lambda n: "/" + "a" * (n - 1))
)
modes = st.sampled_from(["upload", "download", "UPLOAD", "sideways", "", " "]) | anything
counts = st.integers(min_value=-3, max_value=5) | anything
intervals = (
    st.integers(min_value=-5, max_value=100)
    | st.floats(allow_nan=True, allow_infinity=True)
    | anything
)
callbacks = st.sampled_from(["none", "recorder"]) | anything
# Valid values are drawn as often as arbitrary ones, so that both outcomes are common.
valid_texts = st.sampled_from([None, "", " ", "ctx-a", "/home/data"]) | st.text(
    st.characters(exclude_characters="\x00"), max_size=20
)
scopes = (
    st.just((None, None)) | st.tuples(valid_texts, valid_texts) | st.tuples(texts, texts)
) | st.tuples(texts | anything, texts | anything)
valid_modes = st.sampled_from([None, "upload", "download", "", " "])


def _text(value: object) -> tuple[bool, str | None]:
    """(valid, normalised) for an optional text argument, as documented: blank means None.

    Text must be sendable: no NUL, valid Unicode (no lone surrogates), not over the length
    the SDK accepts.
    """
    if value is None:
        return True, None
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_TEXT_LENGTH:
        return False, None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False, None
    return True, value if value.strip() else None


@pytest.fixture
def unknown_session_cm(agb_clean_emulator: Emulator) -> Iterator[ContextManager]:
    """A manager of a session the emulator does not know: a valid call is one refused request."""
    with ContextManager(
        UNKNOWN_SESSION, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    ) as cm:
        yield cm


def _sync(cm: ContextManager, style: str, kwargs: dict[str, Any]) -> ContextSyncResult:
    if style == "awaited":

        async def main() -> ContextSyncResult:
            result = await cm.sync(**kwargs)
            client = cm._clients._async_clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.get_async_httpx_client().aclose()
            return result

        return asyncio.run(main())
    return cm.sync(**kwargs).result(timeout=30)


@PROPERTY_SETTINGS
@given(
    scope=scopes,
    mode=valid_modes | modes,
    max_retries=st.integers(min_value=1, max_value=5) | counts,
    retry_interval=st.integers(min_value=1, max_value=100) | intervals,
    callback=callbacks,
    style=st.sampled_from(["awaited", "blocking"]),
)
def test_sync_arguments_never_raise_and_invalid_ones_send_nothing(
    agb_clean_emulator: Emulator,
    unknown_session_cm: ContextManager,
    scope: tuple[object, object],
    mode: object,
    max_retries: object,
    retry_interval: object,
    callback: object,
    style: str,
) -> None:
    context_id, path = scope
    recorder = CallbackRecorder()
    if callback == "recorder":
        callback = recorder
    elif callback == "none":
        callback = None
    kwargs = {
        "context_id": context_id,
        "path": path,
        "mode": mode,
        "max_retries": max_retries,
        "retry_interval": retry_interval,
        "callback": callback,
    }
    before = len(agb_clean_emulator.requests)
    if callback is not None and not callable(callback):
        with pytest.raises(TypeError, match="callback"):
            unknown_session_cm.sync(**kwargs)  # type: ignore[arg-type]
        assert len(agb_clean_emulator.requests) == before
        return

    result = _sync(unknown_session_cm, style, kwargs)

    ok_cid, cid = _text(context_id)
    ok_path, mount = _text(path)
    ok_mode, chosen = _text(mode)
    problems = [name for name, ok in (("context_id", ok_cid), ("path", ok_path)) if not ok]
    if ok_cid and ok_path and (cid is None) != (mount is None):
        problems += ["context_id", "path"]
    if not ok_mode or chosen not in (None, "upload", "download"):
        problems.append("mode")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 1:
        problems.append("max_retries")
    if (
        isinstance(retry_interval, bool)
        or not isinstance(retry_interval, int | float)
        or not math.isfinite(retry_interval)
        or retry_interval <= 0
    ):
        problems.append("retry_interval")

    assert not result.success
    sent = agb_clean_emulator.requests[before:]
    if problems:
        assert sent == [], "an invalid sync sent a request"
        assert any(name in result.error_message for name in problems), result.error_message
        assert result.request_id == ""
    else:
        # The unknown session is refused at the status read a sync makes before it starts.
        (request,) = sent
        expected = {"sessionId": UNKNOWN_SESSION}
        if cid is not None and mount is not None:
            expected |= {"contextId": cid, "path": mount}
        expected["taskType"] = chosen or "upload"
        assert (request.path, request.query) == ("/sdk/GetContextInfo", expected)
        assert result.error_message.startswith("the sync was not started: ")
        assert result.request_id == request.request_id
    if callback is recorder:
        assert recorder.wait(10) == [False]


@PROPERTY_SETTINGS
@given(
    context_id=valid_texts | texts | anything,
    path=valid_texts | texts | anything,
    task_type=valid_modes | modes,
    style=st.sampled_from(["awaited", "blocking"]),
)
def test_info_arguments_never_raise_and_invalid_ones_send_nothing(
    agb_clean_emulator: Emulator,
    unknown_session_cm: ContextManager,
    context_id: object,
    path: object,
    task_type: object,
    style: str,
) -> None:
    before = len(agb_clean_emulator.requests)
    args: Any = (context_id, path, task_type)
    if style == "blocking":
        result = unknown_session_cm.info(*args)
    else:

        async def main() -> ContextInfoResult:
            result = await unknown_session_cm.info_async(*args)
            clients = unknown_session_cm._clients._async_clients
            client = clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.get_async_httpx_client().aclose()
            return result

        result = asyncio.run(main())

    valid = {
        name: _text(value)
        for name, value in zip(("context_id", "path", "task_type"), args, strict=True)
    }
    problems = [name for name, (ok, _) in valid.items() if not ok]
    if valid["task_type"][1] not in (None, "upload", "download"):
        problems.append("task_type")
    assert not result.success
    sent = agb_clean_emulator.requests[before:]
    if problems:
        assert sent == []
        assert any(name in result.error_message for name in problems), result.error_message
    else:
        (request,) = sent
        wire = {"context_id": "contextId", "path": "path", "task_type": "taskType"}
        expected = {wire[name]: value for name, (_, value) in valid.items() if value is not None}
        assert request.query == {"sessionId": UNKNOWN_SESSION, **expected}
        assert result.request_id == request.request_id


_HOSTS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "127.0.0.1",
    "127.1.2.3",
    "[::1]",
    "0.0.0.0",
    "10.0.0.1",
    "192.168.1.1",
    "[::ffff:127.0.0.1]",
    "example.com",
    "localhost.example.com",
    "127.0.0.1.example.com",
    "sdk-api.agb.cloud",
]
endpoints = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["", "http://", "https://", "HTTP://", "hTTp://", "ftp://", "//", " "]),
        st.sampled_from(["", "user@", "localhost@", "127.0.0.1@", "u:p@", "127.0.0.1:80@"]),
        st.sampled_from(_HOSTS) | st.text(max_size=12),
        st.sampled_from(["", ":80", ":8443", ":0", ":99999", ":x"]),
        st.sampled_from(["", "/", "/api", "/..", "?q=1", "#frag", "\\@example.com", "@x.org"]),
    ),
) | st.text(max_size=40)


ENDPOINT_KEY = "key-of-the-endpoint-property-0042"
SECRETS.add(ENDPOINT_KEY)


@settings(max_examples=300, deadline=None)
@given(endpoint=endpoints, allow=st.booleans())
def test_an_endpoint_never_sends_the_key_over_plain_http_to_another_machine(
    endpoint: str, allow: bool
) -> None:
    """Any endpoint text: refused with ConfigurationError, or a base URL that is safe."""
    try:
        settings_ = resolve_settings(
            api_key=ENDPOINT_KEY, endpoint=endpoint, allow_insecure_http=allow
        )
    except ConfigurationError as exc:
        refusal = str(exc)
        assert ENDPOINT_KEY not in refusal
        return
    url = httpx.URL(settings_.base_url)
    assert url.scheme in ("http", "https")
    assert url.host
    if url.scheme == "http" and not allow:
        assert is_loopback(url.host), f"{endpoint!r} -> {settings_.base_url}"
    # The base URL reads the same the second time: the client goes where it was checked to.
    again = httpx.URL(str(url))
    assert (again.scheme, again.host, again.port) == (url.scheme, url.host, url.port)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://10.0.0.1",
        "http://0.0.0.0:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
        "http://localhost@example.com",
        "http://127.0.0.1:80@example.com/",
        "HTTP://EXAMPLE.COM",
        "  http://example.com  ",
        "http://[::ffff:7f00:1]",
        "http://[fe80::1]",
    ],
)
def test_plain_http_to_another_machine_is_refused_in_every_spelling(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        ContextManager("s", api_key="k", endpoint=endpoint)
    allowed = ContextManager("s", api_key="k", endpoint=endpoint, allow_insecure_http=True)
    assert allowed.endpoint.startswith("http://")
    allowed.close()


def test_plain_http_from_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGB_ENDPOINT", "http://203.0.113.7:8080")
    monkeypatch.setenv("AGB_API_KEY", "env-key-for-http-check")
    SECRETS.add("env-key-for-http-check")
    with pytest.raises(ConfigurationError, match="plain http") as refused:
        ContextManager("s")
    assert "env-key-for-http-check" not in str(refused.value)


# --- any answer at all, over real HTTP -----------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
members = st.sampled_from(["success", "code", "message", "requestId", "httpStatusCode", "data"])
envelopes = st.dictionaries(
    members,
    json_values | st.fixed_dictionaries({"contextStatus": json_values | st.text(max_size=30)}),
    max_size=6,
)
bodies = (
    st.binary(max_size=60)
    | json_values.map(lambda value: json.dumps(value).encode())
    | envelopes.map(lambda value: json.dumps(value).encode())
)
statuses = st.sampled_from([200, 201, 202, 204, 301, 400, 401, 404, 409, 429, 500, 503, 599])


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with CannedServer() as server:
        yield server


def _claims_success(status: int, body: bytes) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return status == 200 and isinstance(document, dict) and document.get("success") is True


@pytest.fixture(scope="module")
def canned_cm(canned: CannedServer) -> Iterator[ContextManager]:
    with ContextManager(
        "s", api_key="k-canned", endpoint=canned.endpoint, retry=RetryPolicy(max_retries=0)
    ) as cm:
        yield cm


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(status=statuses, body=bodies, accepted=st.booleans())
def test_any_answer_is_a_result_never_an_exception(
    canned: CannedServer, canned_cm: ContextManager, status: int, body: bytes, accepted: bool
) -> None:
    """Whatever comes back, ``info`` and ``sync`` give results; success needs 200 + success."""
    canned.answer(status, body)
    if accepted:  # the trigger is accepted; only the polls get the odd answer
        canned.answer(200, json.dumps({"success": True}).encode(), "POST")
    info = canned_cm.info()
    assert isinstance(info, ContextInfoResult)
    assert not info.success or _claims_success(status, body)
    assert info.success or info.error_message
    synced = canned_cm.sync(max_retries=1, retry_interval=1).result(timeout=30)
    assert isinstance(synced, ContextSyncResult)
    assert not synced.success or _claims_success(status, body)
    assert synced.success or synced.error_message


# --- defects found: each test flips to a failure once its bug is fixed ---------------------

_LONG = "/" + "a" * 70_000
_CALLS: dict[str, Callable[[ContextManager], ContextInfoResult | ContextSyncResult]] = {
    "info": lambda cm: cm.info(path=_LONG),
    "info_async": lambda cm: asyncio.run(cm.info_async(path=_LONG)),
    "sync_blocking": lambda cm: cm.sync("ctx-a", _LONG).result(timeout=30),
    "sync_awaited": lambda cm: asyncio.run(_awaited_sync(cm, "ctx-a", _LONG)),
}


async def _awaited_sync(cm: ContextManager, context_id: str, path: str) -> ContextSyncResult:
    return await cm.sync(context_id, path)


@pytest.mark.parametrize("call", list(_CALLS))
def test_a_very_long_argument_is_refused_by_name_without_a_request(
    agb_clean_emulator: Emulator, unknown_session_cm: ContextManager, call: str
) -> None:
    try:
        result = _CALLS[call](unknown_session_cm)
    except Exception as exc:
        pytest.fail(f"{call} raised {type(exc).__name__}: {exc}")
    assert not result.success
    assert "path" in result.error_message
    assert agb_clean_emulator.requests == []


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda cm: cm.info(context_id="ctx\ud800"), "context_id"),
        (lambda cm: cm.info(path="/home/\udcff"), "path"),
        (lambda cm: cm.sync("ctx\ud800", "/home/data").result(timeout=30), "context_id"),
        (lambda cm: cm.sync("ctx-a", "/home/\udcff").result(timeout=30), "path"),
    ],
    ids=["info-context_id", "info-path", "sync-context_id", "sync-path"],
)
def test_text_that_is_not_unicode_is_refused_by_name(
    agb_clean_emulator: Emulator,
    unknown_session_cm: ContextManager,
    call: Callable[[ContextManager], ContextInfoResult | ContextSyncResult],
    argument: str,
) -> None:
    result = call(unknown_session_cm)
    assert not result.success
    assert argument in result.error_message, result.error_message
    assert "response" not in result.error_message, result.error_message
    assert agb_clean_emulator.requests == []


def test_a_session_id_that_is_not_unicode_is_refused_by_name(agb_clean_emulator: Emulator) -> None:
    try:
        cm = ContextManager("s\ud800", api_key="k", endpoint=agb_clean_emulator.endpoint)
    except ConfigurationError as exc:
        message = str(exc)
    else:
        with cm:
            message = cm.info().error_message
    assert "session_id" in message, message


_DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("call", ["info", "info_async", "sync_trigger", "sync_polls"])
def test_a_deeply_nested_body_is_a_result(canned: CannedServer, call: str) -> None:
    canned.answer(200, _DEEP)
    if call == "sync_polls":
        canned.answer(200, json.dumps({"success": True}).encode(), "POST")
    with ContextManager("s", api_key="k-canned", endpoint=canned.endpoint) as cm:
        try:
            if call == "info":
                result: ContextInfoResult | ContextSyncResult = cm.info()
            elif call == "info_async":
                result = asyncio.run(cm.info_async())
            else:
                result = cm.sync(max_retries=2, retry_interval=1).result(timeout=30)
        except Exception as exc:
            pytest.fail(f"{call} raised {type(exc).__name__}")
    assert not result.success
    assert "not the documented JSON envelope" in result.error_message


task_texts = st.text(max_size=20)
tasks = st.builds(
    ContextStatusData,
    context_id=task_texts,
    path=task_texts,
    status=st.sampled_from(["Pending", "Running", "Success", "Failed"]) | task_texts,
    task_type=st.sampled_from(["upload", "download"]) | task_texts,
    start_time=st.integers(min_value=0, max_value=2**53),
    finish_time=st.integers(min_value=0, max_value=2**53),
    error_message=task_texts,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reported=st.lists(tasks, max_size=5), request_id=st.text(min_size=1, max_size=10))
def test_a_valid_status_over_http_decodes_to_exactly_the_tasks_encoded(
    canned: CannedServer,
    canned_cm: ContextManager,
    reported: list[ContextStatusData],
    request_id: str,
) -> None:
    """The codec's round trip, end to end: envelope, HTTP, generated parsing, facade."""
    body = {
        "success": True,
        "code": "",
        "message": "",
        "requestId": request_id,
        "data": {"contextStatus": encode_context_status(reported)},
    }
    canned.answer(200, json.dumps(body).encode())
    result = canned_cm.info()
    assert result.success, result.error_message
    assert result.context_status_data == tuple(reported)
    assert result.request_id == request_id
