"""The request log: headers (the key masked), bodies, reasons, admin calls; over HTTP too."""

from __future__ import annotations

import logging
import threading

import pytest
from support import Api, client_for, wait_until

from agb_context.emulator import Emulator


def test_requests_are_recorded_with_headers_body_and_reason(
    agb_clean_emulator: Emulator, api: Api
):
    sid = agb_clean_emulator.create_session(mounts={"log-a": "/home/data"})
    api.sync(sid, contextId="log-a", path="/home/data")
    api.info("session-ffffffffffffffff")
    api.admin("POST", "faults", json={"fault": "hang_tasks"})
    sync, missing, admin = agb_clean_emulator.requests
    assert (sync.method, sync.path, sync.status, sync.session_id) == (
        "POST",
        "/sdk/SyncContext",
        200,
        sid,
    )
    assert sync.query == {"sessionId": sid, "contextId": "log-a", "path": "/home/data"}
    assert sync.body == b"{}"
    assert sync.headers["authorization"] == "Bearer ***"
    assert sync.headers["content-type"] == "application/json"
    assert sync.reason == ""
    assert not sync.is_admin
    assert missing.status == 404
    assert missing.reason.startswith("SessionNotFound: no session 'session-ffffffffffffffff'")
    assert admin.is_admin
    assert admin.body == b'{"fault":"hang_tasks"}'
    assert agb_clean_emulator.api_key not in repr(agb_clean_emulator.requests)


def test_a_raw_key_is_masked_too(agb_clean_emulator: Emulator):
    with client_for(agb_clean_emulator, key="raw-" + agb_clean_emulator.api_key) as client:
        client.get("/emulator/faults")
    [refused] = agb_clean_emulator.requests
    assert (refused.status, refused.headers["authorization"]) == (401, "***")
    assert refused.reason.startswith("InvalidApiKey: ")


def test_the_log_is_read_and_cleared_over_http(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"log-b": "/home/data"})
    api.info(sid)
    listed = api.admin("GET", "requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in listed] == [
        ("GET", "/sdk/GetContextInfo", 200)
    ]
    [entry] = listed
    assert entry["query"] == {"sessionId": sid}
    assert entry["headers"]["authorization"] == "Bearer ***"
    assert entry["requestId"] == agb_clean_emulator.requests[0].request_id
    assert (entry["body"], entry["reason"]) == ("", "")
    assert api.admin("DELETE", "requests").json()["requests"] == []
    assert [r.path for r in agb_clean_emulator.requests] == ["/emulator/requests"]


def test_each_request_is_logged_in_one_line(agb_clean_emulator: Emulator, api: Api, caplog):
    sid = agb_clean_emulator.create_session(mounts={"log-c": "/home/data"})
    agb_clean_emulator.faults.fail_requests("SyncContext", 503, message="busy right now")
    with caplog.at_level(logging.INFO, logger="agb_context.emulator.requests"):
        api.info(sid)
        api.sync(sid)
    lines = [r.getMessage() for r in caplog.records if r.name == "agb_context.emulator.requests"]
    info_id, sync_id = (r.request_id for r in agb_clean_emulator.requests)
    assert lines == [
        f"GET /sdk/GetContextInfo session={sid} -> 200 ({info_id})",
        f"POST /sdk/SyncContext session={sid} -> 503 ServiceUnavailable: busy right now "
        f"({sync_id})",
    ]


@pytest.mark.parametrize("size", [10, 70 * 1024])
def test_bodies_are_kept_up_to_64_kib(agb_clean_emulator: Emulator, api: Api, size: int):
    api.admin("POST", "sessions", content=b"x" * size)
    [entry] = agb_clean_emulator.requests
    assert entry.status == 400
    assert len(entry.body) == min(size, 64 * 1024)


def test_wait_idle_waits_for_a_request_still_being_answered(agb_clean_emulator: Emulator):
    # held long enough to be seen in flight even when this thread gets the CPU late
    agb_clean_emulator.faults.set_latency("GetContextInfo", 3.0)
    client = client_for(agb_clean_emulator)
    answered = threading.Event()

    def ask() -> None:
        with client:
            Api(client).info("session-ffffffffffffffff")
        answered.set()

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        wait_until(lambda: not agb_clean_emulator.wait_idle(0), what="the request to arrive")
        assert agb_clean_emulator.wait_idle(10)
        paths = [r.path for r in agb_clean_emulator.requests]
        assert paths == ["/sdk/GetContextInfo"], "recorded before wait_idle returned"
    finally:
        asker.join(10)
    assert answered.is_set()
    with pytest.raises(ValueError, match="timeout"):
        agb_clean_emulator.wait_idle(-1)
