"""Cloud behaviours the emulator can show: registration lag, history, an ignored taskType."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from support import Api, wait_final, wait_until

from agb_context.emulator import CloudBehaviour, Emulator

MOUNT = {"ctx-a": "/home/data"}
ONE = {"contextId": "ctx-a", "path": "/home/data"}


@pytest.fixture(autouse=True)
def default_behaviour(agb_clean_emulator: Emulator) -> Iterator[None]:
    agb_clean_emulator.behaviour.clear()
    yield
    agb_clean_emulator.behaviour.clear()


def _sync(api: Api, sid: str, mode: str = "upload") -> None:
    response = api.sync(sid, mode=mode, **ONE)
    assert response.status_code == 200, response.text


def test_by_default_the_newest_task_of_each_mount_is_listed(
    agb_clean_emulator: Emulator, api: Api
):
    sid = agb_clean_emulator.create_session(mounts=MOUNT)
    _sync(api, sid)
    wait_final(agb_clean_emulator, sid, 1)
    _sync(api, sid)
    wait_final(agb_clean_emulator, sid, 2)
    assert agb_clean_emulator.behaviour.current == CloudBehaviour()
    (listed,) = api.tasks(sid, **ONE)
    assert listed == agb_clean_emulator.tasks(sid)[1].to_status_data()


def test_a_new_task_is_listed_only_after_the_registration_lag(
    agb_clean_emulator: Emulator, api: Api
):
    sid = agb_clean_emulator.create_session(mounts=MOUNT)
    agb_clean_emulator.behaviour.set(registration_lag=0.4)
    returned = time.monotonic()
    _sync(api, sid)
    early = api.tasks(sid, **ONE)
    asked = time.monotonic()
    # a task exists at once, but is not listed while in its lag
    assert len(agb_clean_emulator.tasks(sid)) == 1
    if asked - returned < 0.4:
        assert early == ()
    listed = wait_until(lambda: api.tasks(sid, **ONE), 10, "the task to be listed")
    assert time.monotonic() - returned >= 0.4
    assert listed[0].context_id == "ctx-a"


def test_during_the_lag_the_previous_task_is_listed(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts=MOUNT)
    _sync(api, sid)
    (first,) = wait_final(agb_clean_emulator, sid, 1)
    agb_clean_emulator.behaviour.set(registration_lag=30)
    _sync(api, sid)
    assert len(agb_clean_emulator.tasks(sid)) == 2
    assert api.tasks(sid, **ONE) == (first.to_status_data(),)


def test_history_lists_earlier_tasks_oldest_first_and_bounded(
    agb_clean_emulator: Emulator, api: Api
):
    sid = agb_clean_emulator.create_session(mounts=MOUNT)
    for count in (1, 2, 3):
        _sync(api, sid)
        wait_final(agb_clean_emulator, sid, count)
    agb_clean_emulator.behaviour.set(history=1)
    records = agb_clean_emulator.tasks(sid)
    assert api.tasks(sid, **ONE) == tuple(r.to_status_data() for r in records[1:])
    agb_clean_emulator.behaviour.set(history=10)
    assert api.tasks(sid, **ONE) == tuple(r.to_status_data() for r in records)


def test_an_ignored_task_type_lists_both_directions(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts=MOUNT)
    _sync(api, sid, "upload")
    wait_final(agb_clean_emulator, sid, 1)
    assert api.tasks(sid, taskType="download", **ONE) == ()
    agb_clean_emulator.behaviour.set(ignore_task_type=True)
    (listed,) = api.tasks(sid, taskType="download", **ONE)
    assert listed.task_type == "upload"


def test_behaviours_are_set_read_and_cleared_over_http(agb_clean_emulator: Emulator, api: Api):
    response = api.admin(
        "POST", "behaviour", json={"registrationLag": 0.25, "history": 3, "ignoreTaskType": True}
    )
    assert response.status_code == 200, response.text
    assert agb_clean_emulator.behaviour.current == CloudBehaviour(
        registration_lag=0.25, history=3, ignore_task_type=True
    )
    body = api.admin("GET", "behaviour").json()
    assert (body["registrationLag"], body["history"], body["ignoreTaskType"]) == (0.25, 3, True)
    api.admin("POST", "behaviour", json={"history": 0})
    assert agb_clean_emulator.behaviour.current.history == 0
    assert agb_clean_emulator.behaviour.current.registration_lag == 0.25
    assert api.admin("DELETE", "behaviour").json()["registrationLag"] == 0
    assert agb_clean_emulator.behaviour.current == CloudBehaviour()


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"registrationLag": -1}, "registration_lag"),
        ({"registrationLag": True}, "registration_lag"),
        ({"history": 101}, "history"),
        ({"history": 1.5}, "history"),
        ({"ignoreTaskType": "yes"}, "ignore_task_type"),
        ({"lag": 1}, "unknown behaviour"),
        ([], "JSON object"),
    ],
)
def test_bad_behaviours_are_refused_and_change_nothing(
    agb_clean_emulator: Emulator, api: Api, body: object, hint: str
):
    response = api.admin("POST", "behaviour", json=body)
    assert response.status_code == 400
    assert hint in response.json()["message"]
    assert agb_clean_emulator.behaviour.current == CloudBehaviour()
