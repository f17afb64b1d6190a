"""Fault injection, from Python and over the admin routes; off by default."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from support import Api, wait_final, wait_until

from agb_context._status_codec import ContextStatusError, decode_context_status
from agb_context.emulator import Emulator

ENDPOINTS = ["SyncContext", "GetContextInfo"]


def call(api: Api, endpoint: str, sid: str) -> httpx.Response:
    return api.sync(sid) if endpoint == "SyncContext" else api.info(sid)


@pytest.fixture
def sid(agb_clean_emulator: Emulator) -> str:
    return agb_clean_emulator.create_session(mounts={"faulty": "/home/data"})


def test_faults_are_off_by_default(agb_clean_emulator: Emulator, api: Api, sid: str):
    for _ in range(3):
        assert api.sync(sid).status_code == 200
        assert api.info(sid).status_code == 200
    assert all(t.status == "Success" for t in wait_final(agb_clean_emulator, sid, 3))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("status", [500, 502, 503, 504, 400, 404])
def test_fail_requests_answers_the_next_n_with_an_error_envelope(
    agb_clean_emulator: Emulator, api: Api, sid: str, endpoint: str, status: int
):
    agb_clean_emulator.faults.fail_requests(endpoint, status=status, count=2)
    for _ in range(2):
        response = call(api, endpoint, sid)
        assert response.status_code == status
        body = response.json()
        assert body["success"] is False
        assert body["httpStatusCode"] == status
        assert "injected fault" in body["message"]
        assert body["requestId"] == response.headers["x-request-id"]
        assert "retry-after" not in response.headers
    assert call(api, endpoint, sid).status_code == 200
    assert len(agb_clean_emulator.tasks(sid)) == (1 if endpoint == "SyncContext" else 0)


def test_a_failed_sync_request_creates_no_task(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.fail_requests("SyncContext", status=500)
    assert api.sync(sid).status_code == 500
    assert agb_clean_emulator.tasks(sid) == []


def test_429_with_retry_after(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=429, retry_after=2)
    response = api.info(sid)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "Throttling"
    when = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=503, retry_after=when)
    assert api.info(sid).headers["retry-after"] == "Tue, 06 May 2031 05:08:09 GMT"


@pytest.mark.parametrize("retry_after", [0.25, 1.5, -1, 86401, True, datetime(2031, 1, 1)])
def test_retry_after_is_whole_seconds_or_an_aware_date(
    agb_clean_emulator: Emulator, retry_after: object
):
    with pytest.raises(ValueError, match="retry_after"):
        agb_clean_emulator.faults.fail_requests("GetContextInfo", 429, retry_after=retry_after)  # type: ignore[arg-type]
    assert agb_clean_emulator.faults.queued() == []


def test_the_other_endpoint_is_not_affected(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.fail_requests("SyncContext", status=500, count=5)
    assert api.info(sid).status_code == 200
    assert api.sync(sid).status_code == 500


def test_unauthenticated_requests_do_not_use_up_faults(
    agb_clean_emulator: Emulator, api: Api, sid: str
):
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=500)
    unauthenticated = api.client.get(
        "/sdk/GetContextInfo", params={"sessionId": sid}, headers={"authorization": "nope"}
    )
    assert unauthenticated.status_code == 401
    assert api.info(sid).status_code == 500


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_respond_success_false(agb_clean_emulator: Emulator, api: Api, sid: str, endpoint: str):
    agb_clean_emulator.faults.respond_success_false(endpoint, count=1)
    response = call(api, endpoint, sid)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "InjectedFault"
    assert body["message"]
    assert call(api, endpoint, sid).json()["success"] is True


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_invalid_json(agb_clean_emulator: Emulator, api: Api, sid: str, endpoint: str):
    agb_clean_emulator.faults.invalid_json(endpoint)
    response = call(api, endpoint, sid)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert call(api, endpoint, sid).json()["success"] is True


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_drop_connections(agb_clean_emulator: Emulator, api: Api, sid: str, endpoint: str):
    agb_clean_emulator.faults.drop_connections(endpoint, count=2)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            call(api, endpoint, sid)
    assert call(api, endpoint, sid).status_code == 200
    recorded = [r.status for r in agb_clean_emulator.requests]
    assert recorded == [0, 0, 200]
    if endpoint == "SyncContext":
        assert len(agb_clean_emulator.tasks(sid)) == 1


def test_latency_delays_the_next_count_answers(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.set_latency("GetContextInfo", 0.3, count=2)
    for left in (1, 0):
        started = time.monotonic()
        assert api.info(sid).status_code == 200
        assert time.monotonic() - started >= 0.3
        assert [f.remaining for f in agb_clean_emulator.faults.queued()] == (
            [left] if left else []
        )
    assert api.sync(sid).status_code == 200


def test_malformed_status(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.malformed_status(count=1)
    body = api.info(sid).json()
    assert body["success"] is True
    with pytest.raises(ContextStatusError):
        decode_context_status(body["data"]["contextStatus"])
    decode_context_status(api.info(sid).json()["data"]["contextStatus"])


def test_faults_queue_in_the_order_they_were_asked_for(
    agb_clean_emulator: Emulator, api: Api, sid: str
):
    agb_clean_emulator.faults.fail_requests("GetContextInfo", status=500)
    agb_clean_emulator.faults.malformed_status()
    agb_clean_emulator.faults.respond_success_false("GetContextInfo")
    first, second, third, fourth = (api.info(sid) for _ in range(4))
    assert first.status_code == 500
    assert second.json()["success"] is True
    with pytest.raises(ContextStatusError):
        decode_context_status(second.json()["data"]["contextStatus"])
    assert third.json()["success"] is False
    assert fourth.json()["success"] is True


def test_fail_tasks_with_a_count(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.fail_tasks(message="disk full", count=2)
    for _ in range(3):
        api.sync(sid)
    tasks = wait_final(agb_clean_emulator, sid, 3)
    assert [(t.status, t.error_message) for t in tasks] == [
        ("Failed", "disk full"),
        ("Failed", "disk full"),
        ("Success", ""),
    ]
    reported = api.tasks(sid)
    assert [(t.status, t.error_message) for t in reported] == [("Success", "")]


def test_fail_tasks_until_cleared_and_copies_nothing(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"never-copied": "/home/data"})
    (agb_clean_emulator.session_path(sid, "/home/data") / "f").write_text("x")
    agb_clean_emulator.faults.fail_tasks("quota exceeded", count=None)
    for _ in range(3):
        api.sync(sid)
    assert all(t.error_message == "quota exceeded" for t in wait_final(agb_clean_emulator, sid, 3))
    assert not agb_clean_emulator.context_path("never-copied").exists()
    [reported] = api.tasks(sid)
    assert (reported.status, reported.error_message) == ("Failed", "quota exceeded")
    agb_clean_emulator.faults.clear()
    api.sync(sid)
    assert wait_final(agb_clean_emulator, sid, 4)[-1].status == "Success"


def test_hang_tasks(agb_clean_emulator: Emulator, api: Api, sid: str):
    agb_clean_emulator.faults.hang_tasks(count=None)
    api.sync(sid)
    wait_until(lambda: agb_clean_emulator.tasks(sid)[0].status == "Running", what="a running task")
    agb_clean_emulator.faults.clear()
    other = agb_clean_emulator.create_session(mounts={"not-hung": "/x"})
    api.sync(other)
    assert wait_final(agb_clean_emulator, other)[0].status == "Success"
    [hung] = agb_clean_emulator.tasks(sid)
    assert (hung.status, hung.finish_time, hung.final_monotonic) == ("Running", 0, None)
    assert [t.status for t in api.tasks(sid)] == ["Running"]


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("fail_requests", ("SyncContex",)),
        ("fail_requests", ("SyncContext", 200)),
        ("fail_requests", ("SyncContext", 500, 0)),
        ("fail_requests", ("SyncContext", 500, 1, -1)),
        ("respond_success_false", ("syncContext",)),
        ("invalid_json", ("GetContextInfos",)),
        ("drop_connections", ("",)),
        ("set_latency", ("GetContextInfo", -1)),
        ("set_latency", ("GetContextInfo", float("inf"))),
        ("set_latency", ("Nope", 1)),
        ("malformed_status", (0,)),
        ("fail_tasks", ("m", 0)),
        ("hang_tasks", ("yes",)),
        ("hang_tasks", (True,)),
        ("fail_copy_midway", (True,)),
    ],
)
def test_bad_fault_arguments_are_value_errors(
    agb_clean_emulator: Emulator, method: str, args: tuple
):
    with pytest.raises(ValueError):
        getattr(agb_clean_emulator.faults, method)(*args)


# --- the same over the admin routes -------------------------------------------------------


def post_fault(api: Api, **body: object) -> httpx.Response:
    return api.admin("POST", "faults", json=body)


def test_admin_fail_requests_with_retry_after(agb_clean_emulator: Emulator, api: Api, sid: str):
    response = post_fault(
        api, fault="fail_requests", endpoint="SyncContext", status=429, count=2, retryAfter=1
    )
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    for _ in range(2):
        answer = api.sync(sid)
        assert (answer.status_code, answer.headers["retry-after"]) == (429, "1")
    assert api.sync(sid).status_code == 200


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ({"fault": "respond_success_false", "endpoint": "GetContextInfo"}, "success_false"),
        ({"fault": "invalid_json", "endpoint": "GetContextInfo"}, "not_json"),
        ({"fault": "drop_connections", "endpoint": "GetContextInfo"}, "dropped"),
        ({"fault": "malformed_status"}, "malformed"),
        ({"fault": "set_latency", "endpoint": "GetContextInfo", "seconds": 0.2}, "slow"),
    ],
)
def test_admin_request_faults(
    agb_clean_emulator: Emulator, api: Api, sid: str, body: dict, check: str
):
    assert post_fault(api, **body).status_code == 200
    started = time.monotonic()
    if check == "dropped":
        with pytest.raises(httpx.RemoteProtocolError):
            api.info(sid)
        return
    response = api.info(sid)
    if check == "success_false":
        assert response.json()["success"] is False
    elif check == "not_json":
        with pytest.raises(json.JSONDecodeError):
            response.json()
    elif check == "malformed":
        with pytest.raises(ContextStatusError):
            decode_context_status(response.json()["data"]["contextStatus"])
    else:
        assert time.monotonic() - started >= 0.2


def test_admin_task_faults_and_clear(agb_clean_emulator: Emulator, api: Api, sid: str):
    assert post_fault(api, fault="fail_tasks", message="no space", count=1).status_code == 200
    api.sync(sid)
    assert wait_final(agb_clean_emulator, sid)[0].error_message == "no space"

    assert post_fault(api, fault="hang_tasks", count=None).status_code == 200
    assert post_fault(api, fault="fail_requests", endpoint="GetContextInfo").status_code == 200
    assert api.admin("DELETE", "faults").json()["success"] is True
    assert api.info(sid).status_code == 200
    api.sync(sid)
    assert wait_final(agb_clean_emulator, sid, 2)[-1].status == "Success"

    (agb_clean_emulator.session_path(sid, "/home/data") / "f").write_text("x")
    assert post_fault(api, fault="fail_copy_midway", count=1).status_code == 200
    api.sync(sid)
    assert "injected fault" in wait_final(agb_clean_emulator, sid, 3)[-1].error_message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "naming the fault"),
        ({"fault": "explode"}, "unknown fault"),
        ({"fault": "fail_requests"}, "fault fail_requests needs endpoint"),
        ({"fault": "fail_requests", "endpoint": "SyncContex"}, "unknown endpoint"),
        ({"fault": "fail_requests", "endpoint": "SyncContext", "status": 99}, "status"),
        ({"fault": "fail_requests", "endpoint": "SyncContext", "retry_after": 1}, "retry_after"),
        ({"fault": "set_latency", "endpoint": "SyncContext"}, "fault set_latency needs seconds"),
        ({"fault": "hang_tasks", "enabled": True}, "enabled"),
        ({"fault": "hang_tasks", "count": "all"}, "count"),
        (
            {"fault": "fail_requests", "endpoint": "SyncContext", "retryAfter": 1.5},
            "retryAfter must be whole seconds",
        ),
        ({"fault": "fail_requests", "endpoint": "SyncContext", "retryAfter": "soon"}, "date"),
        ({"fault": "fail_tasks", "sessionId": ""}, "sessionId must be a non-empty string"),
        (
            {"fault": "fail_requests", "endpoint": "ListContexts", "contextId": "c"},
            "contextId cannot aim a fault at ListContexts",
        ),
        ({"fault": "malformed_status", "encodedOnce": 1}, "encodedOnce must be true or false"),
        ({"fault": "fail_tasks", "after": -1}, "after"),
        ({"fault": "fail_tasks", "count": 0}, "count"),
    ],
)
def test_admin_bad_faults_are_400(
    agb_clean_emulator: Emulator, api: Api, sid: str, body: dict, words: str
):
    response = api.admin("POST", "faults", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameter"
    message = response.json()["message"]
    assert words in message
    # in the names of the JSON sent, not those of the Python methods behind it
    assert "positional" not in message
    assert "Faults." not in message
    assert api.sync(sid).status_code == 200
    assert wait_final(agb_clean_emulator, sid)[0].status == "Success"
