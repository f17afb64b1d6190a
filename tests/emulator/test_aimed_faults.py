"""Faults aimed at a session, a context or a mount, after N, with their own code and
message, listed from Python and over HTTP; task speed per session, at runtime."""

from __future__ import annotations

import pytest
from support import Api, wait_final, wait_until

from agb_context.emulator import Emulator


@pytest.fixture
def two(agb_clean_emulator: Emulator) -> tuple[str, str]:
    aimed = agb_clean_emulator.create_session(mounts={"aim-a": "/home/a", "aim-b": "/home/b"})
    other = agb_clean_emulator.create_session(mounts={"aim-a": "/home/a"})
    return aimed, other


def test_a_request_fault_aimed_at_a_session_spares_the_others(
    agb_clean_emulator: Emulator, api: Api, two: tuple[str, str]
):
    aimed, other = two
    agb_clean_emulator.faults.fail_requests("GetContextInfo", 503, count=None, session_id=aimed)
    for _ in range(3):
        assert api.info(other).status_code == 200
        assert api.info(aimed).status_code == 503
    assert api.info(other, contextId="aim-a").status_code == 200


def test_a_request_fault_aimed_at_a_context_or_mount(agb_clean_emulator: Emulator, api: Api, two):
    aimed, _ = two
    agb_clean_emulator.faults.respond_success_false(
        "SyncContext", context_id="aim-b", path="/home/b"
    )
    assert api.sync(aimed).json()["success"] is True, "names no context: not aimed at"
    assert api.sync(aimed, contextId="aim-a", path="/home/a").json()["success"] is True
    assert api.sync(aimed, contextId="aim-b", path="/home/b").json()["success"] is False
    assert agb_clean_emulator.faults.queued() == []


def test_after_lets_n_matching_requests_through_first(agb_clean_emulator: Emulator, api: Api, two):
    aimed, other = two
    agb_clean_emulator.faults.fail_requests(
        "GetContextInfo", 500, count=2, after=2, session_id=aimed
    )
    statuses = []
    for _ in range(5):
        assert api.info(other).status_code == 200, "not matching: not counted"
        statuses.append(api.info(aimed).status_code)
    assert statuses == [200, 200, 500, 500, 200]


def test_a_fault_carries_its_own_code_and_message(agb_clean_emulator: Emulator, api: Api, two):
    aimed, _ = two
    agb_clean_emulator.faults.fail_requests(
        "SyncContext", 403, code="QuotaExceeded", message="too many syncs today"
    )
    body = api.sync(aimed).json()
    assert (body["code"], body["message"]) == ("QuotaExceeded", "too many syncs today")
    agb_clean_emulator.faults.respond_success_false(
        "GetContextInfo", code="Busy", message="try later"
    )
    body = api.info(aimed).json()
    assert (body["success"], body["code"], body["message"]) == (False, "Busy", "try later")


def test_task_faults_aimed_at_a_mount_and_after_n_tasks(
    agb_clean_emulator: Emulator, api: Api, two
):
    aimed, other = two
    agb_clean_emulator.faults.fail_tasks(
        "no space", count=None, session_id=aimed, path="/home/b", after=1
    )
    for _ in range(2):
        api.sync(aimed)
        api.sync(other)
    tasks = wait_final(agb_clean_emulator, aimed, 4)
    assert [(t.path, t.status, t.error_message) for t in tasks] == [
        ("/home/a", "Success", ""),
        ("/home/b", "Success", ""),
        ("/home/a", "Success", ""),
        ("/home/b", "Failed", "no space"),
    ]
    assert all(t.status == "Success" for t in wait_final(agb_clean_emulator, other, 2))


def test_every_fault_counts_the_same_way(agb_clean_emulator: Emulator, api: Api):
    """count=1 by default, for request and task faults alike; None lasts until cleared."""
    sid = agb_clean_emulator.create_session(mounts={"aim-count": "/home/data"})
    for inject in (
        lambda: agb_clean_emulator.faults.fail_requests("GetContextInfo"),
        lambda: agb_clean_emulator.faults.respond_success_false("GetContextInfo"),
        lambda: agb_clean_emulator.faults.invalid_json("GetContextInfo"),
        lambda: agb_clean_emulator.faults.malformed_status(),
        lambda: agb_clean_emulator.faults.set_latency("GetContextInfo", 0.01),
        lambda: agb_clean_emulator.faults.fail_tasks(),
        lambda: agb_clean_emulator.faults.hang_tasks(),
        lambda: agb_clean_emulator.faults.fail_copy_midway(),
    ):
        inject()
        [queued] = agb_clean_emulator.faults.queued()
        assert (queued.remaining, queued.after) == (1, 0)
        agb_clean_emulator.faults.clear()
    agb_clean_emulator.faults.fail_tasks(count=None)
    for _ in range(3):
        api.sync(sid)
    assert [t.status for t in wait_final(agb_clean_emulator, sid, 3)] == ["Failed"] * 3
    [queued] = agb_clean_emulator.faults.queued()
    assert queued.remaining is None


def test_queued_faults_are_listed_from_python_and_over_http(
    agb_clean_emulator: Emulator, api: Api, two
):
    aimed, _ = two
    agb_clean_emulator.faults.fail_requests(
        "SyncContext", 429, count=3, retry_after=2, session_id=aimed
    )
    agb_clean_emulator.faults.hang_tasks(count=None, context_id="aim-a", after=4)
    first, second = agb_clean_emulator.faults.queued()
    assert (first.fault, first.endpoint, first.session_id, first.remaining) == (
        "fail_requests",
        "SyncContext",
        aimed,
        3,
    )
    assert first.arguments == {"status": 429, "retryAfter": "2"}
    assert (second.fault, second.endpoint, second.context_id, second.after) == (
        "hang_tasks",
        None,
        "aim-a",
        4,
    )
    api.sync(aimed, contextId="aim-a", path="/home/a")
    listed = api.admin("GET", "faults").json()["faults"]
    assert listed == [
        {
            "fault": "fail_requests",
            "endpoint": "SyncContext",
            "sessionId": aimed,
            "contextId": None,
            "path": None,
            "after": 0,
            "count": 2,
            "status": 429,
            "retryAfter": "2",
        },
        second.to_json(),
    ]


def test_aimed_faults_over_http(agb_clean_emulator: Emulator, api: Api, two):
    aimed, other = two
    response = api.admin(
        "POST",
        "faults",
        json={
            "fault": "fail_requests",
            "endpoint": "GetContextInfo",
            "status": 429,
            "retryAfter": "Wed, 21 Oct 2026 07:28:00 GMT",
            "code": "SlowDown",
            "count": None,
            "sessionId": aimed,
        },
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["faults"]) == 1
    refused = api.info(aimed)
    assert refused.headers["retry-after"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert refused.json()["code"] == "SlowDown"
    assert api.info(other).status_code == 200
    assert api.admin("DELETE", "faults").json()["faults"] == []


# --- task speed -----------------------------------------------------------------------------


def test_task_delay_per_session_changed_at_runtime(agb_clean_emulator: Emulator, api: Api, two):
    slow, fast = two
    agb_clean_emulator.set_task_delay(600, session_id=slow)
    api.sync(slow, contextId="aim-a", path="/home/a")
    api.sync(fast)
    assert wait_final(agb_clean_emulator, fast)[0].status == "Success"
    [held] = agb_clean_emulator.tasks(slow)
    assert not held.is_final
    agb_clean_emulator.set_task_delay(0, session_id=slow)
    api.sync(slow, contextId="aim-b", path="/home/b")
    wait_until(
        lambda: agb_clean_emulator.tasks(slow)[-1].is_final, what="the task made after the change"
    )
    assert not agb_clean_emulator.tasks(slow)[0].is_final, (
        "a task keeps the delay it was made with"
    )


def test_task_delay_over_http(agb_clean_emulator: Emulator, api: Api, two):
    slow, _ = two
    answer = api.admin("POST", "task-delay", json={"seconds": 2.5, "sessionId": slow})
    assert answer.status_code == 200, answer.text
    assert answer.json()["sessions"][slow] == 2.5
    api.admin("POST", "task-delay", json={"seconds": 0.25})
    listed = api.admin("GET", "task-delay").json()
    assert (listed["seconds"], listed["sessions"][slow]) == (0.25, 2.5)
    assert agb_clean_emulator.task_delay == 0.25
    unknown = api.admin("POST", "task-delay", json={"seconds": 1, "sessionId": "session-0"})
    assert unknown.status_code == 404
    bad = api.admin("POST", "task-delay", json={"seconds": -1})
    assert bad.status_code == 400
    assert "seconds" in bad.json()["message"]


@pytest.mark.parametrize("seconds", [-1, 3601, float("nan"), True, "1"])
def test_a_bad_task_delay_is_a_value_error(agb_clean_emulator: Emulator, seconds: object):
    with pytest.raises(ValueError, match="seconds"):
        agb_clean_emulator.set_task_delay(seconds)  # type: ignore[arg-type]


def test_a_task_delay_for_an_unknown_session_is_refused_as_over_http(
    agb_clean_emulator: Emulator,
):
    """A mistyped session id would otherwise slow down no session, silently."""
    with pytest.raises(LookupError, match="session-0"):
        agb_clean_emulator.set_task_delay(1, session_id="session-0")
    with pytest.raises(ValueError, match="session_id"):
        agb_clean_emulator.set_task_delay(1, session_id=7)  # type: ignore[arg-type]
    assert agb_clean_emulator.task_delay == 0
    assert agb_clean_emulator.set_task_delay(1) is None


ACCOUNT_ENDPOINTS = [
    "GetContext",
    "ModifyContext",
    "DeleteContext",
    "ClearContext",
    "GetContextFileUploadUrl",
    "GetContextFileDownloadUrl",
    "DeleteContextFile",
    "DescribeContextFiles",
]
"""The endpoints whose requests name a context but no session or mount path."""


@pytest.mark.parametrize(
    ("endpoint", "aim"),
    [
        *[(endpoint, "session_id") for endpoint in ACCOUNT_ENDPOINTS],
        *[(endpoint, "path") for endpoint in ACCOUNT_ENDPOINTS],
        ("ListContexts", "session_id"),
        ("ListContexts", "context_id"),
        ("ListContexts", "path"),
    ],
)
@pytest.mark.parametrize("fault", ["fail_requests", "set_latency", "let_through"])
def test_an_aim_the_endpoints_requests_never_name_is_refused(
    agb_clean_emulator: Emulator, endpoint: str, aim: str, fault: str
):
    """It would never match, and the fault would wait unused while the test goes on
    as if it were armed."""
    faults = agb_clean_emulator.faults
    arguments = (endpoint, 1) if fault == "set_latency" else (endpoint,)
    with pytest.raises(ValueError, match=rf"{aim} cannot aim a fault at {endpoint}") as refused:
        getattr(faults, fault)(*arguments, **{aim: "x"})
    if aim != "context_id":
        assert "only SyncContext and GetContextInfo requests name a" in str(refused.value)
    assert faults.queued() == []


def test_an_aim_never_named_is_refused_over_http(agb_clean_emulator: Emulator, api: Api):
    body = {"fault": "fail_requests", "endpoint": "ListContexts", "sessionId": "s"}
    response = api.admin("POST", "faults", json=body)
    assert response.status_code == 400, response.text
    assert "sessionId cannot aim a fault at ListContexts" in response.json()["message"]
    assert agb_clean_emulator.faults.queued() == []


@pytest.mark.parametrize("endpoint", ACCOUNT_ENDPOINTS)
def test_the_context_routes_are_aimed_at_by_context(
    agb_clean_emulator: Emulator, api: Api, endpoint: str
):
    agb_clean_emulator.faults.fail_requests(endpoint, 503, context_id="aim-ctx")
    assert [f.context_id for f in agb_clean_emulator.faults.queued()] == ["aim-ctx"]
