"""Logging goes to the `agb_context` logger, adds no handlers, and never shows the key."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support import SECRETS, CallbackRecorder

from agb_context import ContextManager, RetryPolicy
from agb_context.emulator import Emulator

SECRET = "test-secret-value-0123456789"
SECRETS.add(SECRET)


def test_the_library_configures_no_handlers() -> None:
    assert logging.getLogger("agb_context").handlers == []


def test_the_key_is_in_no_log_record_repr_or_message(
    agb_clean_emulator: Emulator, caplog: pytest.LogCaptureFixture, callback: CallbackRecorder
) -> None:
    caplog.set_level(logging.DEBUG)
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=503, count=1)
    retry = RetryPolicy(initial_delay=0.01)
    texts: list[str] = []
    with ContextManager(
        sid, api_key=SECRET, endpoint=agb_clean_emulator.endpoint, retry=retry
    ) as wrong:
        texts += [repr(wrong), str(wrong), repr(wrong._settings)]
        failed = wrong.info()
        texts += [repr(failed), failed.error_message]
        operation = wrong.sync(callback=callback, retry_interval=10)
        texts += [repr(operation.result(timeout=30)), repr(operation)]
        texts.append(repr(asyncio.run(wrong.info_async())))
    assert callback.wait() == [False]
    assert any(r.name.startswith(("httpx", "httpcore", "agb_context")) for r in caplog.records)
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    assert not [t for t in texts if SECRET in t]
