"""The API key is never shown: in no repr, str, exception message or command-line output.

Log records are checked for every test of the suite (tests/conftest.py); here
the other ways out are checked, each with a key used nowhere else.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
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


def test_no_repr_or_str_shows_the_key(
    agb_clean_emulator: Emulator, callback: CallbackRecorder
) -> None:
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    texts: list[str] = []
    retry = RetryPolicy(max_retries=0)
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


# --- the command line ----------------------------------------------------------------------

CLI = (sys.executable, "-m", "agb_context.cli")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGB_")}
    env.update(COLUMNS="200", PYTHONIOENCODING="utf-8", **extra)
    return env


def _cli(*args: str, **env: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=_env(**env),
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def verbose_emulator(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``agb-context emulator -v`` with `KEY`, logging each request to stderr."""
    server = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--data-dir", str(tmp_path), "--api-key", KEY, "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=_env(),
    )
    assert server.stdout is not None
    announced = server.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:[0-9]+", announced)
    try:
        assert found, announced
        yield found.group(), server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=30)


def test_the_command_line_never_prints_a_key(
    verbose_emulator: tuple[str, subprocess.Popen[str]],
) -> None:
    endpoint, server = verbose_emulator
    outputs: list[str] = []
    common = ("--endpoint", endpoint, "--verbose")
    # Someone else's key, as a flag and from the environment: refused (401), shown nowhere.
    code, out, err = _cli("info", "--session", "s-1", "--api-key", OTHER_KEY, *common)
    assert (code, "401" in err) == (1, True)
    outputs.append(out + err)
    code, out, err = _cli("sync", "--session", "s-1", "--json", *common, AGB_API_KEY=OTHER_KEY)
    assert (code, json.loads(out)["success"]) == (1, False)
    outputs.append(out + err)
    # The right key, as a flag, in both output modes, with the SDK logging to stderr.
    created = httpx.post(
        f"{endpoint}/emulator/sessions",
        json={"mounts": {"ctx-cli": "/home/cli"}},
        headers={"authorization": KEY},
        timeout=10,
    )
    sid = created.json()["sessionId"]
    for mode in ((), ("--json",)):
        args = ("sync", "--session", sid, "--interval", "0.05", "--api-key", KEY)
        code, out, err = _cli(*args, *common, *mode)
        assert code == 0, err
        assert "sync accepted" in err, "the SDK's log went to stderr"
        outputs.append(out + err)
    # Configuration and usage errors with the key given.
    for args in (
        ("info", "--session", "s", "--api-key", KEY, "--endpoint", "http://203.0.113.9"),
        ("sync", "--session", "s", "--api-key", KEY, "--endpoint", "ftp://x"),
        ("sync", "--session", "s", "--api-key", KEY, "--mode", "sideways"),
    ):
        code, out, err = _cli(*args, AGB_API_KEY=OTHER_KEY)
        assert code == 2
        outputs.append(out + err)
    server.send_signal(signal.SIGINT)
    out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "GetContextInfo" in err, "the emulator logged the requests"
    outputs.append(out + err)
    _no_key(outputs, KEY, OTHER_KEY)
