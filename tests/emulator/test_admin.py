"""The ``/emulator/`` admin routes drive an emulator over HTTP (see openapi-emulator.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Api, client_for, wait_final

from agb_context.emulator import Emulator

ADMIN_ROUTES = [
    ("POST", "reset", None),
    ("POST", "sessions", {"mounts": {}}),
    ("GET", "sessions/session-0000000000000000", None),
    ("GET", "contexts/ctx-a", None),
    ("POST", "faults", {"fault": "hang_tasks"}),
    ("GET", "faults", None),
    ("DELETE", "faults", None),
    ("GET", "task-delay", None),
    ("POST", "task-delay", {"seconds": 1}),
    ("GET", "requests", None),
    ("DELETE", "requests", None),
]


@pytest.mark.parametrize("path", ["health", "openapi.yaml"])
def test_health_and_the_spec_answer_without_the_key(agb_clean_emulator: Emulator, path: str):
    with client_for(agb_clean_emulator, key=None) as client:
        response = client.get(f"/emulator/{path}")
    assert response.status_code == 200


def test_health(api: Api):
    response = api.admin("GET", "health")
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["status"], body["httpStatusCode"]) == (True, "ok", 200)
    assert body["requestId"] == response.headers["x-request-id"]


def test_create_a_session_and_find_its_folders(agb_clean_emulator: Emulator, api: Api):
    response = api.admin(
        "POST", "sessions", json={"mounts": {"adm-a": "/home/data", "adm-b": "/mnt/b"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    sid = body["sessionId"]
    assert [(m["contextId"], m["path"]) for m in body["mounts"]] == [
        ("adm-a", "/home/data"),
        ("adm-b", "/mnt/b"),
    ]
    for mount in body["mounts"]:
        local = Path(mount["localPath"])
        assert local == agb_clean_emulator.session_path(sid, mount["path"])
        assert local.is_dir()
        assert agb_clean_emulator.data_dir in local.parents
    assert agb_clean_emulator.tasks(sid) == []
    (recorded,) = agb_clean_emulator.requests
    assert (recorded.method, recorded.path, recorded.status) == ("POST", "/emulator/sessions", 200)
    assert b'"adm-a"' in recorded.body


def test_describe_a_session_with_its_task_history(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"adm-hist": "/home/data"})
    api.sync(sid)
    api.sync(sid, contextId="adm-hist", path="/home/data", mode="download")
    records = wait_final(agb_clean_emulator, sid, 2)
    body = api.admin("GET", f"sessions/{sid}").json()
    assert body["sessionId"] == sid
    assert body["mounts"][0]["localPath"] == str(
        agb_clean_emulator.session_path(sid, "/home/data")
    )
    assert [(t["taskType"], t["status"]) for t in body["tasks"]] == [
        (r.task_type, r.status) for r in records
    ]
    assert set(body["tasks"][0]) == {
        "contextId",
        "path",
        "status",
        "taskType",
        "startTime",
        "finishTime",
        "errorMessage",
    }


def test_describe_a_context(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"adm-ctx": "/home/data"})
    before = api.admin("GET", "contexts/adm-ctx").json()
    assert (before["contextId"], before["exists"]) == ("adm-ctx", False)
    assert before["localPath"] == str(agb_clean_emulator.context_path("adm-ctx"))
    api.sync(sid)
    wait_final(agb_clean_emulator, sid)
    assert api.admin("GET", "contexts/adm-ctx").json()["exists"] is True


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "MissingParameter"),
        ({"mounts": {}, "extra": 1}, 400, "InvalidParameter"),
        ({"mounts": ["ctx-a"]}, 400, "InvalidParameter"),
        ({"mounts": {"ctx-a": 1}}, 400, "InvalidParameter"),
        ([], 400, "InvalidParameter"),
        ("not an object", 400, "InvalidParameter"),
    ],
)
def test_bad_session_requests_are_400(api: Api, body, status: int, code: str):
    response = api.admin("POST", "sessions", json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert "mount" in response.json()["message"]


def test_a_body_that_is_not_json_is_400(api: Api):
    response = api.admin("POST", "sessions", content=b"{mounts")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_unknown_session_is_404(api: Api):
    response = api.admin("GET", "sessions/session-ffffffffffffffff")
    assert response.status_code == 404
    assert response.json()["code"] == "SessionNotFound"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_need_the_key(
    agb_clean_emulator: Emulator, api: Api, method: str, path: str, body
):
    with client_for(agb_clean_emulator, key=None) as client:
        response = client.request(method, f"/emulator/{path}", json=body)
    assert response.status_code == 401
    assert response.json()["success"] is False
    sid = agb_clean_emulator.create_session(mounts={})
    assert agb_clean_emulator.tasks(sid) == []
    if path == "faults":
        hang_probe = agb_clean_emulator.create_session(mounts={"not-hung": "/p"})
        api.sync(hang_probe)
        assert wait_final(agb_clean_emulator, hang_probe)[0].status == "Success"


def test_the_admin_spec_is_served_as_shipped(agb_clean_emulator: Emulator):
    with client_for(agb_clean_emulator, key=None) as client:
        response = client.get("/emulator/openapi.yaml")
    root = Path(__file__).resolve().parents[2]
    assert response.content == (root / "openapi-emulator.yaml").read_bytes()
    assert response.headers["content-type"].startswith("application/yaml")


def test_every_emulator_only_route_is_described_in_the_spec():
    import yaml

    from agb_context.emulator._admin import ADMIN_ROUTES
    from agb_context.emulator._context_files import PRESIGNED_ROUTES

    root = Path(__file__).resolve().parents[2]
    spec = yaml.safe_load((root / "openapi-emulator.yaml").read_text())
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in methods}
    assert {(m, p) for m, p, _ in ADMIN_ROUTES} | PRESIGNED_ROUTES == described
