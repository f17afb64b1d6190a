"""Spec and server cannot drift: property-based contract tests of a running emulator.

schemathesis generates requests from ``openapi.yaml`` (the cloud API) and
``openapi-emulator.yaml`` (the admin routes), sends them over HTTP to a real
emulator, and checks every answer: documented status, content type, headers
and body schema, 401 without the key, 405 for undocumented methods.

Valid-looking data may still get 400: the specs state in prose what their
schemas cannot (``contextId`` and ``path`` go together; ids and paths have a
syntax; a session's mounts name contexts and paths; context names are
unique), so the positive-data check accepts 400 and 409 beside the statuses
it expects by default.

Injected faults are checked too: what a fault answers in the cloud's stead (an
error status the spec documents, ``success: false``, a late answer) is what the
spec allows, so code tested under faults meets only what the cloud may send.

The presigned file URLs are in ``openapi-emulator.yaml`` too: a generated
signature never matches, so generated requests are answered 403 (checked as
such when negative), and valid ones are given a freshly signed query.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from support import API_KEY, client_for

from agb_context.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def contract_config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "404", "409"],
                },
            },
        }
    )


@pytest.fixture(scope="module")
def contract_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(data_dir=tmp_path_factory.mktemp("contract"), api_key=API_KEY) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def known_session(contract_emulator: Emulator) -> dict[str, str]:
    """A session whose mount generated requests are steered to half of the time."""
    sid = contract_emulator.create_session(mounts={"ctx-contract": "/home/contract"})
    (contract_emulator.session_path(sid, "/home/contract") / "f.txt").write_text("x")
    return {"sessionId": sid, "contextId": "ctx-contract", "path": "/home/contract"}


@pytest.fixture(scope="module")
def known_context(contract_emulator: Emulator) -> str:
    """A context whose id generated requests are steered to half of the time."""
    return _new_context(contract_emulator)


STEERED_TO_SUCCESS = {
    f"/sdk/{name}"
    for name in (
        "SyncContext",
        "GetContextInfo",
        "ListContexts",
        "GetContext",
        "ModifyContext",
        "DeleteContext",
        "ClearContext",
        "GetContextFileUploadUrl",
        "DescribeContextFiles",
    )
}
"""The paths whose generated requests reach a real session or context often enough that
some succeed."""


@pytest.fixture(scope="module", autouse=True)
def _success_answers_were_checked(
    contract_emulator: Emulator, known_session: dict[str, str]
) -> Iterator[None]:
    """Once the module's tests are over (in whatever order, whichever of them ran), the
    steering reached real sessions and contexts: each path tested got some success."""
    yield
    recorded = contract_emulator.requests
    for path in sorted({r.path for r in recorded} & STEERED_TO_SUCCESS):
        assert any(r.status == 200 for r in recorded if r.path == path), path
    if any(r.path == "/sdk/GetContextInfo" for r in recorded):
        assert any(
            r.status == 200 and r.query.get("sessionId") == known_session["sessionId"]
            for r in recorded
            if r.path == "/sdk/GetContextInfo"
        )


def _new_context(emulator: Emulator) -> str:
    with client_for(emulator) as client:
        name = f"contract-{uuid.uuid4().hex}"
        answer = client.get("/sdk/GetContext", params={"name": name, "allowCreate": "true"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["id"])


def load(name: str) -> Any:
    return schemathesis.openapi.from_path(ROOT / name, config=contract_config())


cloud = load("openapi.yaml")
admin = load("openapi-emulator.yaml")
AUTH = {"authorization": API_KEY}


@cloud.parametrize()
@EXAMPLES
def test_the_cloud_api_conforms_to_openapi_yaml(
    case: Any, contract_emulator: Emulator, known_session: dict[str, str], known_context: str
):
    query = case.query if isinstance(case.query, dict) else None
    if _negative(case):
        query = None  # a request that must be refused stays as generated
    if query is not None and "sessionId" not in query and _steer(query.get("contextId")):
        # the file routes: steer half of them to a real context and a usable path
        query["contextId"] = known_context
        if "filePath" in query:
            query["filePath"] = "/contract/file.txt"
        query.pop("parentFolderPath", None)
    if query is not None and _steer(query.get("id")):
        # Random context ids are unknown (404): steer half of them to a real
        # context (a fresh one for each delete), so that successes are checked too.
        if case.path == "/sdk/DeleteContext":
            query["id"] = _new_context(contract_emulator)
        else:
            query["id"] = known_context
            query.pop("name", None) if case.path == "/sdk/GetContext" else None
    if query is not None and _steer(query.get("sessionId")):
        # Random session ids are all unknown (404); steer half of them to a real
        # session, and its mount, so that successes are checked too.
        query["sessionId"] = known_session["sessionId"]
        if isinstance(query.get("contextId"), str) and isinstance(query.get("path"), str):
            query["contextId"] = known_session["contextId"]
            query["path"] = known_session["path"]
    case.call_and_validate(base_url=contract_emulator.endpoint, headers=AUTH)


@pytest.fixture(scope="module")
def admin_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator of its own: generated admin calls reset it and change its task delay."""
    with Emulator(data_dir=tmp_path_factory.mktemp("admin-contract"), api_key=API_KEY) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def presigned_answers() -> Iterator[list[tuple[str, int]]]:
    """The (method, status) of each steered presigned request; some of each method succeed."""
    answers: list[tuple[str, int]] = []
    yield answers
    for method in sorted({m for m, _ in answers}):
        assert any(200 <= status < 300 for m, status in answers if m == method), method


@admin.parametrize()
@EXAMPLES
def test_the_admin_routes_conform_to_openapi_emulator_yaml(
    case: Any, admin_emulator: Emulator, presigned_answers: list[tuple[str, int]]
):
    steered = case.path == "/presigned/file" and not _negative(case)
    if steered:
        # A generated signature never matches (403): valid requests use a signed URL,
        # of a fresh context (generated resets delete contexts) holding a 10-byte file.
        case.query = _signed_query(admin_emulator, case.method.lower())
        if case.headers and "Range" in case.headers:
            case.headers["Range"] = "bytes=2-5"  # a generated one mostly starts past the end
    response = case.call_and_validate(base_url=admin_emulator.endpoint, headers=AUTH)
    if steered:
        presigned_answers.append((case.method, response.status_code))


def _signed_query(emulator: Emulator, op: str) -> dict[str, str]:
    """The query of a fresh presigned URL for ``op`` of a file holding ``0123456789``."""
    cid = _new_context(emulator)
    with client_for(emulator) as client:

        def url(name: str) -> str:
            answer = client.post(
                f"/sdk/{name}", params={"contextId": cid, "filePath": "/f"}, json={}
            )
            assert answer.status_code == 200, answer.text
            return str(answer.json()["data"]["url"])

        stored = client.put(url("GetContextFileUploadUrl"), content=b"0123456789")
        assert stored.status_code == 200, stored.text
        signed = url("GetContextFileUploadUrl" if op == "put" else "GetContextFileDownloadUrl")
    return {name: values[0] for name, values in parse_qs(urlsplit(signed).query).items()}


def _negative(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == schemathesis.GenerationMode.NEGATIVE


def _steer(value: object) -> bool:
    return isinstance(value, str) and len(value) % 2 == 0


# --- fault answers ---------------------------------------------------------------------------

faulted = schemathesis.openapi.from_path(
    ROOT / "openapi.yaml",
    config=schemathesis.Config.from_dict(
        {
            "checks": {
                # the statuses are asked for: a 5xx is the point, not a server error
                "not_a_server_error": {"enabled": False},
                "positive_data_acceptance": {"enabled": False},
            }
        }
    ),
)
OPERATIONS = [result.ok() for result in faulted.get_all_operations()]


def _answered_faults() -> list[tuple[Any, str, int | None]]:
    """Each operation with each fault that answers it as the cloud may: every error
    status it documents (Retry-After on 429 and 503), ``success: false``, a latency."""
    cases: list[tuple[Any, str, int | None]] = []
    for operation in OPERATIONS:
        documented = sorted(int(s) for s in operation.definition.raw["responses"] if s != "200")
        cases += [(operation, "fail_requests", status) for status in documented]
        cases += [(operation, "respond_success_false", None), (operation, "set_latency", None)]
    return cases


@pytest.mark.parametrize(
    ("operation", "fault", "status"),
    [
        *_answered_faults(),
        (next(o for o in OPERATIONS if o.path == "/sdk/GetContextInfo"), "malformed_status", None),
    ],
    ids=lambda value: getattr(value, "path", value),
)
def test_injected_faults_answer_as_openapi_yaml_describes(
    agb_clean_emulator: Emulator, operation: Any, fault: str, status: int | None
):
    """Code under test sees, under a fault, only answers the cloud's description allows
    (the faults that break the wire on purpose, ``invalid_json``, ``drop_connections``
    and ``malformed_status(encoded_once=True)``, aside)."""
    emulator = agb_clean_emulator
    endpoint = operation.path.rsplit("/", 1)[1]
    if fault == "fail_requests":
        assert status is not None
        emulator.faults.fail_requests(
            endpoint, status, retry_after=2 if status in (429, 503) else None
        )
    elif fault == "set_latency":
        emulator.faults.set_latency(endpoint, 0.01)
    else:
        getattr(emulator.faults, fault)(*([] if fault == "malformed_status" else [endpoint]))
    sid = emulator.create_session(mounts={"ctx-fault": "/home/fault"})
    names = {p.name for p in operation.iter_parameters() if p.location == "query"}
    query = {
        "sessionId": sid,
        "contextId": "ctx-fault",
        "path": "/home/fault",
        "id": "ctx-fault",
        "filePath": "/f.txt",
        "allowCreate": "false",
    }
    chosen = {name: value for name, value in query.items() if name in names}
    case = (
        operation.Case(query=chosen, body={})
        if operation.method.upper() == "POST"
        else operation.Case(query=chosen)
    )
    response = case.call_and_validate(
        base_url=emulator.endpoint, headers={"authorization": f"Bearer {emulator.api_key}"}
    )
    if status is not None:
        assert response.status_code == status
    assert [f.fault for f in emulator.faults.queued()] == [], "the fault was used"
