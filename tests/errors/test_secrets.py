"""The API key is never shown: in no repr, str, exception message or log record.

Log records are also checked for every test of the suite (tests/conftest.py);
here every way out is checked on purpose, each with a key used nowhere else.
The command line's output is checked in tests/cli/test_cli_secrets.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import traceback
from collections.abc import Callable

import pytest
from support import SECRETS, CallbackRecorder

from agb_context import (
    ConfigurationError,
    ContextManager,
    RetryPolicy,
    Session,
)
from agb_context.emulator import Emulator

KEY = "reliability-secret-key-8d2f61"
OTHER_KEY = "someone-elses-key-77a0c3"
SECRETS.update({KEY, OTHER_KEY})


def _texts_of(value: object) -> list[str]:
    return [repr(value), str(value)]


def _exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def _no_key(texts: list[str], *keys: str) -> None:
    for key in keys or (KEY,):
        shown = [text for text in texts if key in text]
        assert shown == [], f"the key shows in: {shown[0][:300] if shown else ''}"


def test_no_repr_str_message_or_log_record_shows_the_key(
    agb_clean_emulator: Emulator, callback: CallbackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    texts: list[str] = []
    # One retried answer, so that the retry's log lines are among those checked.
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=503, count=1)
    retry = RetryPolicy(max_retries=1, initial_delay=0.01)
    with Session(sid, api_key=KEY, endpoint=agb_clean_emulator.endpoint, retry=retry) as session:
        cm = session.context
        texts += _texts_of(session) + _texts_of(cm) + _texts_of(cm._settings)
        failed_info = cm.info()
        assert "HTTP 401" in failed_info.error_message
        agb_clean_emulator.faults.hang_tasks(count=None)
        running = cm.sync(callback=callback, max_retries=10_000, retry_interval=10)
        texts += _texts_of(running)
        running.cancel()
        texts += _texts_of(running) + _texts_of(failed_info) + _texts_of(retry)
        failed = cm.sync(retry_interval=10).result(timeout=30)
        texts += [*_texts_of(failed), failed.error_message]
        texts += _texts_of(asyncio.run(cm.info_async()))
    assert callback.wait() == [False]
    assert any(r.name.startswith(("httpx", "httpcore", "agb_context")) for r in caplog.records)
    texts += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    _no_key(texts)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: ContextManager("s", api_key=KEY, endpoint="http://203.0.113.5"), "plain http"),
        (lambda: ContextManager("s", api_key=KEY, endpoint="ftp://x"), "invalid endpoint"),
        (lambda: ContextManager("s", api_key=KEY, endpoint="https://"), "invalid endpoint"),
        (lambda: ContextManager("s", api_key=KEY, timeout=-1), "timeout"),
        (lambda: ContextManager("", api_key=KEY), "session_id"),
        (lambda: ContextManager(42, api_key=KEY), "session"),  # type: ignore[arg-type]
        (lambda: ContextManager("s", api_key=KEY + "\nX-Injected: 1"), "API key"),
        (lambda: ContextManager("s", api_key=KEY + "\x00"), "API key"),
        (lambda: Session("s", api_key=KEY, endpoint="http://198.51.100.1:80"), "plain http"),
        (lambda: RetryPolicy(max_retries=-1), "max_retries"),
    ],
)
def test_configuration_errors_do_not_show_the_key(
    make: Callable[[], object], expected: str
) -> None:
    with pytest.raises((ConfigurationError, TypeError, ValueError)) as raised:
        make()
    assert expected in str(raised.value)
    _no_key(_exception_texts(raised.value))


def test_exceptions_of_misuse_do_not_show_the_key(agb_clean_emulator: Emulator) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    agb_clean_emulator.faults.hang_tasks(count=None)
    caught: list[BaseException] = []
    # The emulator's own key: with a wrong one the sync would end (401) before
    # result(timeout) could time out.
    cm = ContextManager(
        sid, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    )
    try:
        cm.sync(callback="not callable")  # type: ignore[arg-type]
    except TypeError as exc:
        caught.append(exc)
    operation = cm.sync(max_retries=10_000, retry_interval=10)
    try:
        operation.result(timeout=0.01)
    except TimeoutError as exc:
        caught.append(exc)
    operation.cancel()
    try:
        operation.result()
    except concurrent.futures.CancelledError as exc:
        caught.append(exc)
    cm.close()
    try:
        cm.info()
    except RuntimeError as exc:
        caught.append(exc)
    assert [type(exc).__name__ for exc in caught] == [
        "TypeError",
        "TimeoutError",
        "CancelledError",
        "RuntimeError",
    ]
    _no_key([text for exc in caught for text in _exception_texts(exc)], agb_clean_emulator.api_key)


def test_nothing_a_manager_holds_shows_the_key_in_its_repr(agb_clean_emulator: Emulator) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})

    async def use_async_client(cm: ContextManager) -> None:
        await cm.info_async()

    with ContextManager(sid, api_key=KEY, endpoint=agb_clean_emulator.endpoint) as cm:
        assert "HTTP 401" in cm.info().error_message
        held = [*vars(cm).values(), *vars(cm._clients).values()]
        asyncio.run(use_async_client(cm))
        held += list(cm._clients._async_clients.values())
        _no_key([repr(value) for value in held])


NON_ASCII = "cl\u00e9-secr\u00e8te-0451"
SECRETS.add(NON_ASCII)


def test_a_key_that_is_not_ascii_is_a_configuration_error(agb_clean_emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="API key") as raised:
        ContextManager("s", api_key=NON_ASCII, endpoint=agb_clean_emulator.endpoint).close()
    for text in _exception_texts(raised.value):
        assert not re.search("[\u00e9\u00e8]|position", text), text
