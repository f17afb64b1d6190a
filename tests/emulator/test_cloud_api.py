"""The two cloud endpoints behave as openapi.yaml describes them, over real HTTP."""

from __future__ import annotations

import itertools
import time

import pytest
from support import API_KEY, REQUEST_ID, Api, assert_error, client_for, wait_final, wait_until

from agb_context._status_codec import decode_context_status, encode_context_status
from agb_context.emulator import Emulator

TASK_DELAY = 1.0


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sdk/SyncContext", "/sdk/GetContextInfo"])
@pytest.mark.parametrize(
    ("key", "hint"),
    [
        (None, "no API key"),
        ("wrong", "not the one"),
        ("Bearer wrong", "not the one"),
        ("Basic {key}", "not the one"),
        ("Bearer  {key}", "not the one"),
    ],
)
def test_a_missing_or_wrong_key_gets_401(
    agb_clean_emulator: Emulator, path: str, key: str | None, hint: str
):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    header = None if key is None else key.format(key=agb_clean_emulator.api_key)
    with client_for(agb_clean_emulator, header) as client:
        response = client.request(
            "POST" if path.endswith("SyncContext") else "GET",
            path,
            params={"sessionId": sid},
            json={} if path.endswith("SyncContext") else None,
        )
    assert_error(response, 401, "InvalidApiKey", hint)
    assert agb_clean_emulator.tasks(sid) == []


@pytest.mark.parametrize("form", ["Bearer {key}", "bearer {key}", "{key}"])
def test_the_key_is_accepted_with_the_bearer_prefix_or_raw(
    agb_clean_emulator: Emulator, form: str
):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    with client_for(agb_clean_emulator, form.format(key=agb_clean_emulator.api_key)) as client:
        response = client.get("/sdk/GetContextInfo", params={"sessionId": sid})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True


def test_the_key_is_never_recorded(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={})
    api.info(sid)
    assert agb_clean_emulator.requests
    assert agb_clean_emulator.api_key not in repr(agb_clean_emulator.requests)
    assert agb_clean_emulator.api_key not in repr(agb_clean_emulator)


# --- envelopes and request ids --------------------------------------------------------------


def test_success_envelopes_carry_a_fresh_request_id(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    first, second = api.sync(sid), api.info(sid)
    ids = set()
    for response in (first, second):
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert (body["code"], body["message"], body["httpStatusCode"]) == ("", "", 200)
        assert REQUEST_ID.match(body["requestId"])
        assert body["requestId"] == response.headers["x-request-id"]
        ids.add(body["requestId"])
    assert len(ids) == 2
    assert set(first.json()) == {"success", "code", "message", "requestId", "httpStatusCode"}
    recorded = [r.request_id for r in agb_clean_emulator.requests]
    assert recorded == [first.json()["requestId"], second.json()["requestId"]]


def test_requests_are_recorded_with_query_and_status(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    before = time.monotonic()
    api.sync(sid, contextId="ctx-a", path="/home/data", mode="upload")
    api.info("session-unknown")
    recorded = agb_clean_emulator.requests
    assert [(r.method, r.path, r.status) for r in recorded] == [
        ("POST", "/sdk/SyncContext", 200),
        ("GET", "/sdk/GetContextInfo", 404),
    ]
    assert recorded[0].query == {
        "sessionId": sid,
        "contextId": "ctx-a",
        "path": "/home/data",
        "mode": "upload",
    }
    assert before <= recorded[0].monotonic <= recorded[1].monotonic <= time.monotonic()
    agb_clean_emulator.clear_requests()
    assert agb_clean_emulator.requests == []


# --- SyncContext ------------------------------------------------------------------------------


def test_sync_of_one_mount_creates_one_upload_task(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/a", "ctx-b": "/home/b"})
    (agb_clean_emulator.session_path(sid, "/home/a") / "f.txt").write_text("a")
    response = api.sync(sid, contextId="ctx-a", path="/home/a")
    assert response.status_code == 200
    [task] = wait_final(agb_clean_emulator, sid)
    assert (task.context_id, task.path, task.task_type, task.status) == (
        "ctx-a",
        "/home/a",
        "upload",
        "Success",
    )
    assert (agb_clean_emulator.context_path("ctx-a") / "f.txt").read_text() == "a"
    assert not agb_clean_emulator.context_path("ctx-b").exists()


def test_sync_without_a_context_syncs_every_mount(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"all-a": "/a", "all-b": "/b", "all-c": "/c"})
    assert api.sync(sid).status_code == 200
    tasks = wait_final(agb_clean_emulator, sid, 3)
    assert sorted((t.context_id, t.path, t.task_type) for t in tasks) == [
        ("all-a", "/a", "upload"),
        ("all-b", "/b", "upload"),
        ("all-c", "/c", "upload"),
    ]
    assert all(
        agb_clean_emulator.context_path(cid).is_dir() for cid in ("all-a", "all-b", "all-c")
    )


def test_a_session_without_mounts_has_nothing_to_sync(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={})
    assert api.sync(sid).status_code == 200
    assert agb_clean_emulator.tasks(sid) == []
    assert api.info(sid).json()["data"] == {"contextStatus": ""}


def test_sync_returns_at_once_and_tasks_go_pending_running_final(tmp_path):
    # Half of the task delay is Pending, half Running. A loaded machine may answer a
    # poll too late to see a phase, so each poll is checked against the task's own
    # start and finish times: a poll answered before the start saw Pending, one sent
    # after the start and answered before the finish saw Running, one sent after the
    # finish saw Success (epoch milliseconds, as the emulator writes them).
    with (
        Emulator(data_dir=tmp_path, api_key=API_KEY, task_delay=TASK_DELAY) as emulator,
        client_for(emulator) as client,
    ):
        api = Api(client)
        sid = emulator.create_session(mounts={"ctx-a": "/home/data"})
        started, asked = time.monotonic(), time.time_ns() // 1_000_000
        response = api.sync(sid, contextId="ctx-a", path="/home/data")
        returned = time.monotonic()
        assert response.status_code == 200
        polls: list[tuple[int, int, str]] = []

        def final() -> bool:
            sent = time.time_ns() // 1_000_000
            [task] = api.tasks(sid)
            polls.append((sent, time.time_ns() // 1_000_000, task.status))
            return task.is_final

        wait_until(final, 60, "the task to finish")
        [record] = emulator.tasks(sid)
    seen = [status for status, _ in itertools.groupby(s for _, _, s in polls)]
    assert seen in (
        ["Pending", "Running", "Success"],
        ["Pending", "Success"],
        ["Running", "Success"],
        ["Success"],
    ), seen
    for sent, answered, status in polls:
        if answered < record.start_time:
            assert status == "Pending", (sent, answered, record)
        elif record.start_time < sent and answered < record.finish_time:
            assert status == "Running", (sent, answered, record)
        elif record.finish_time < sent:
            assert status == "Success", (sent, answered, record)
    # Pending for at least half the delay (2 ms for rounding and the clock's slew)
    assert record.start_time >= asked + TASK_DELAY * 1000 / 2 - 2
    assert record.final_monotonic is not None
    # the answer came before the work was done, which took at least the task delay
    assert returned < record.final_monotonic
    assert record.final_monotonic - started >= TASK_DELAY
    assert 0 < record.start_time <= record.finish_time
    assert abs(record.finish_time - time.time() * 1000) < 60_000


def test_download_copies_the_stored_context_into_the_mount(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"ctx-dl": "/home/data"})
    mount = agb_clean_emulator.session_path(sid, "/home/data")
    (mount / "kept.txt").write_text("v1")
    api.sync(sid, contextId="ctx-dl", path="/home/data")
    wait_final(agb_clean_emulator, sid, 1)
    (mount / "kept.txt").write_text("changed locally")
    (mount / "extra.txt").write_text("not in the context")
    assert api.sync(sid, contextId="ctx-dl", path="/home/data", mode="download").status_code == 200
    tasks = wait_final(agb_clean_emulator, sid, 2)
    assert [t.task_type for t in tasks] == ["upload", "download"]
    assert tasks[1].status == "Success"
    assert sorted(p.name for p in mount.iterdir()) == ["kept.txt"]
    assert (mount / "kept.txt").read_text() == "v1"


def test_download_of_a_context_never_uploaded_fails_clearly(
    agb_clean_emulator: Emulator, api: Api
):
    sid = agb_clean_emulator.create_session(mounts={"never-uploaded": "/home/data"})
    (agb_clean_emulator.session_path(sid, "/home/data") / "local.txt").write_text("mine")
    api.sync(sid, contextId="never-uploaded", path="/home/data", mode="download")
    [task] = wait_final(agb_clean_emulator, sid)
    assert task.status == "Failed"
    assert "no stored content" in task.error_message
    assert "upload" in task.error_message
    assert (agb_clean_emulator.session_path(sid, "/home/data") / "local.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({}, "MissingParameter", ["sessionId is required"]),
        ({"sessionId": ""}, "InvalidParameter", ["sessionId must not be empty"]),
        ({"sessionId": "s", "contextId": "ctx-a"}, "InvalidParameter", ["without path"]),
        ({"sessionId": "s", "path": "/home/data"}, "InvalidParameter", ["without contextId"]),
        ({"sessionId": "s", "mode": "sideways"}, "InvalidParameter", ["mode must be"]),
        ({"sessionId": "s", "mode": ""}, "InvalidParameter", ["mode must be"]),
        ({"sessionId": "s\x00"}, "InvalidParameter", ["NUL"]),
        ({"sessionId": "s" * 129}, "InvalidParameter", ["at most 128"]),
        (
            {"sessionId": "s", "contextId": "../x", "path": "/p"},
            "InvalidParameter",
            ["context id"],
        ),
        ({"sessionId": "s", "contextId": "c", "path": "p"}, "InvalidParameter", ["absolute"]),
        (
            {"sessionId": "s", "contextId": "c", "path": "/" + "p" * 1024},
            "InvalidParameter",
            ["1024"],
        ),
    ],
)
def test_sync_refuses_bad_parameters_with_400(api: Api, params, code, words):
    assert_error(api.client.post("/sdk/SyncContext", params=params, json={}), 400, code, *words)


def test_a_repeated_parameter_is_refused(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={})
    response = api.client.post(
        "/sdk/SyncContext", params=[("sessionId", sid), ("sessionId", sid)], json={}
    )
    assert_error(response, 400, "InvalidParameter", "more than once")


@pytest.mark.parametrize("body", [b"[]", b'{"a": 1}', b"not json", b"1"])
def test_sync_refuses_a_body_other_than_the_empty_object(
    agb_clean_emulator: Emulator, api: Api, body: bytes
):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/p"})
    response = api.client.post("/sdk/SyncContext", params={"sessionId": sid}, content=body)
    assert_error(response, 400, "InvalidParameter", "body")
    assert agb_clean_emulator.tasks(sid) == []


def test_sync_accepts_an_empty_body(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/p"})
    assert api.client.post("/sdk/SyncContext", params={"sessionId": sid}).status_code == 200


def test_unknown_session_and_unknown_mount_get_404(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    assert_error(api.sync("session-0000000000000000"), 404, "SessionNotFound", "create one")
    assert_error(api.info("nope"), 404, "SessionNotFound")
    assert_error(
        api.sync(sid, contextId="ctx-a", path="/home/other"),
        404,
        "MountNotFound",
        "ctx-a at /home/data",
    )
    assert_error(api.sync(sid, contextId="ctx-b", path="/home/data"), 404, "MountNotFound")
    assert agb_clean_emulator.tasks(sid) == []


def test_unknown_routes_and_methods_get_the_envelope(api: Api):
    assert_error(api.client.get("/sdk/Nothing"), 404, "NotFound", "POST /sdk/SyncContext")
    response = api.client.get("/sdk/SyncContext")
    assert_error(response, 405, "MethodNotAllowed", "POST")
    assert response.headers["allow"] == "POST"
    assert_error(api.client.get("/sdk/SyncContext/"), 404, "NotFound")


# --- GetContextInfo ------------------------------------------------------------------------


def test_info_encodes_tasks_twice_with_the_shared_codec(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"enc-a": "/home/a", "enc-b": "/home/b"})
    api.sync(sid)
    records = wait_final(agb_clean_emulator, sid, 2)
    raw = api.info(sid).json()["data"]["contextStatus"]
    assert raw == encode_context_status(r.to_status_data() for r in records)
    assert decode_context_status(raw) == tuple(r.to_status_data() for r in records)


def test_info_filters_by_context_path_and_task_type(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"flt-a": "/home/a", "flt-b": "/home/b"})
    api.sync(sid)
    wait_final(agb_clean_emulator, sid, 2)
    api.sync(sid, contextId="flt-a", path="/home/a", mode="download")
    wait_final(agb_clean_emulator, sid, 3)

    def keys(**params: str) -> list[tuple[str, str, str]]:
        return [(t.context_id, t.path, t.task_type) for t in api.tasks(sid, **params)]

    assert keys() == [("flt-a", "/home/a", "download"), ("flt-b", "/home/b", "upload")]
    assert keys(contextId="flt-b") == [("flt-b", "/home/b", "upload")]
    assert keys(path="/home/a") == [("flt-a", "/home/a", "download")]
    assert keys(contextId="flt-a", path="/home/a") == [("flt-a", "/home/a", "download")]
    assert keys(taskType="upload") == [
        ("flt-a", "/home/a", "upload"),
        ("flt-b", "/home/b", "upload"),
    ]
    assert keys(taskType="download") == [("flt-a", "/home/a", "download")]
    assert keys(contextId="flt-b", taskType="download") == []
    assert keys(contextId="flt-a", path="/home/b") == []


def test_info_reports_the_latest_task_of_each_mount(agb_clean_emulator: Emulator, api: Api):
    """A failed sync does not haunt the next one: polling sees only the newest task."""
    sid = agb_clean_emulator.create_session(mounts={"latest": "/home/data"})
    agb_clean_emulator.faults.fail_tasks("disk full", count=1)
    api.sync(sid, contextId="latest", path="/home/data")
    wait_final(agb_clean_emulator, sid, 1)
    [failed] = api.tasks(sid)
    assert (failed.status, failed.error_message) == ("Failed", "disk full")
    api.sync(sid, contextId="latest", path="/home/data")
    wait_final(agb_clean_emulator, sid, 2)
    [latest] = api.tasks(sid, contextId="latest", path="/home/data")
    assert (latest.status, latest.error_message) == ("Success", "")
    assert [t.status for t in agb_clean_emulator.tasks(sid)] == ["Failed", "Success"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"taskType": "sync"}, ["taskType must be"]),
        ({"contextId": "a/b"}, ["context id"]),
        ({"path": "/home/../etc"}, ["'..'"]),
        ({"path": ""}, ["must not be empty"]),
    ],
)
def test_info_refuses_bad_filters_with_400(agb_clean_emulator: Emulator, api: Api, params, words):
    sid = agb_clean_emulator.create_session(mounts={})
    assert_error(api.info(sid, **params), 400, "InvalidParameter", *words)


def test_task_history_is_bounded(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"hist": "/home/data"})
    for _ in range(105):
        assert api.sync(sid).status_code == 200
    tasks = wait_final(agb_clean_emulator, sid, 100)
    assert len(tasks) == 100
    assert len(api.tasks(sid)) == 1


def test_syncs_of_one_context_never_overlap(tmp_path):
    with (
        Emulator(data_dir=tmp_path, api_key=API_KEY, task_delay=0.05) as emulator,
        client_for(emulator) as client,
    ):
        api = Api(client)
        first = emulator.create_session(mounts={"shared": "/home/data"})
        second = emulator.create_session(mounts={"shared": "/home/data"})
        (emulator.session_path(first, "/home/data") / "f").write_bytes(b"1" * 3_000_000)
        for _ in range(3):
            api.sync(first)
            api.sync(second)
        tasks = wait_final(emulator, first, 3) + wait_final(emulator, second, 3)
    assert all(t.status == "Success" for t in tasks)
    spans = sorted((t.start_time, t.finish_time) for t in tasks)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end


def test_an_unexpected_error_still_answers_the_envelope(
    agb_clean_emulator: Emulator, api: Api, monkeypatch: pytest.MonkeyPatch
):
    """A broken emulator is simulated (no real request can break it): the client
    still gets a JSON envelope, not a bare text page."""

    def broken(endpoint: str) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(agb_clean_emulator.faults, "_take_request_fault", broken)
    sid = agb_clean_emulator.create_session(mounts={})
    assert_error(api.info(sid), 500, "InternalError", "log")
