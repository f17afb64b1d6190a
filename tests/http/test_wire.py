"""The generated client, configured as the facade configures it, speaks the documented wire.

A recording HTTP server on 127.0.0.1 captures each request exactly as it
arrives and answers with a canned body, so these tests see the bytes on the
wire rather than what a mock was told.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from agb_context._client import build_client
from agb_context._config import resolve_settings
from agb_context._results import ContextStatusData
from agb_context._retry import RetryPolicy
from agb_context._status_codec import decode_context_status, encode_context_status
from agb_context_api import AuthenticatedClient
from agb_context_api.api.context import get_context_info, sync_context
from agb_context_api.models import ApiEnvelope, ContextInfoResponse, EmptyBody, SyncMode

API_KEY = "wire-test-key-123"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.body: dict[str, Any] = {
            "success": True,
            "code": "",
            "message": "",
            "requestId": "R-1",
        }
        self.headers: list[tuple[str, str]] = []
        """Headers the next answers carry besides the body's."""


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            split = urlsplit(self.path)
            recorder.requests.append(
                {
                    "method": self.command,
                    "path": split.path,
                    "query": parse_qsl(split.query, keep_blank_values=True),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": self.rfile.read(length),
                }
            )
            payload = json.dumps(recorder.body).encode()
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in recorder.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _client(endpoint: str, retries: int = 2) -> AuthenticatedClient:
    settings = resolve_settings(
        api_key=API_KEY, endpoint=endpoint, retry=RetryPolicy(max_retries=retries)
    )
    return build_client(settings)


def test_sync_context_sends_the_documented_request(server: tuple[str, Recorder]) -> None:
    endpoint, recorder = server
    with _client(endpoint) as client:
        response = sync_context.sync_detailed(
            client=client,
            body=EmptyBody(),
            session_id="sess-1",
            context_id="ctx-1",
            path="/home/my-data",
            mode=SyncMode.DOWNLOAD,
        )
    (request,) = recorder.requests
    assert request["method"] == "POST"
    assert request["path"] == "/sdk/SyncContext"
    assert request["query"] == [
        ("sessionId", "sess-1"),
        ("contextId", "ctx-1"),
        ("path", "/home/my-data"),
        ("mode", "download"),
    ]
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["content-type"] == "application/json"
    assert json.loads(request["body"]) == {}
    assert response.status_code == 200
    assert isinstance(response.parsed, ApiEnvelope)
    assert response.parsed.success is True
    assert response.parsed.request_id == "R-1"


def test_a_cookie_the_server_sets_is_sent_back(server: tuple[str, Recorder]) -> None:
    """The clients look for cookies only in answers that set some (it saves httpx's
    copy of every answer), and keep and send those as httpx does."""
    endpoint, recorder = server
    client = _client(endpoint)
    info = functools.partial(
        get_context_info.sync_detailed, client=client, session_id="s-1", task_type=SyncMode.UPLOAD
    )
    info()
    recorder.headers = [("Set-Cookie", "affinity=node-7; Path=/")]
    info()
    recorder.headers = []
    info()
    info()
    sent = [request["headers"].get("cookie") for request in recorder.requests]
    assert sent == [None, None, "affinity=node-7", "affinity=node-7"]


def test_optional_parameters_are_left_out_not_sent_empty(server: tuple[str, Recorder]) -> None:
    endpoint, recorder = server
    with _client(endpoint) as client:
        sync_context.sync_detailed(client=client, body=EmptyBody(), session_id="sess-1")
        get_context_info.sync_detailed(client=client, session_id="sess-1")
    assert [r["query"] for r in recorder.requests] == [
        [("sessionId", "sess-1")],
        [("sessionId", "sess-1")],
    ]
    assert recorder.requests[1]["method"] == "GET"
    assert recorder.requests[1]["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert recorder.requests[1]["headers"]["content-type"] == "application/json"


def test_get_context_info_parses_a_twice_encoded_status(server: tuple[str, Recorder]) -> None:
    endpoint, recorder = server
    task = ContextStatusData(
        context_id="ctx-123",
        path="/home/my-data",
        status="Running",
        task_type="upload",
        start_time=1732500000000,
    )
    inner = json.dumps(
        [
            {
                "contextId": "ctx-123",
                "path": "/home/my-data",
                "status": "Running",
                "taskType": "upload",
                "startTime": 1732500000000,
                "finishTime": 0,
                "errorMessage": "",
            }
        ]
    )
    status = json.dumps([{"type": "log", "data": "ignored"}, {"type": "data", "data": inner}])
    recorder.body = {
        "success": True,
        "code": "",
        "message": "",
        "requestId": "R-2",
        "data": {"contextStatus": status},
    }
    with _client(endpoint) as client:
        response = get_context_info.sync_detailed(
            client=client,
            session_id="s",
            context_id="ctx-123",
            path="/home/my-data",
            task_type=SyncMode.UPLOAD,
        )
    assert recorder.requests[0]["query"] == [
        ("sessionId", "s"),
        ("contextId", "ctx-123"),
        ("path", "/home/my-data"),
        ("taskType", "upload"),
    ]
    parsed = response.parsed
    assert isinstance(parsed, ContextInfoResponse)
    assert parsed.request_id == "R-2"
    assert decode_context_status(parsed.data.context_status) == (task,)
    assert decode_context_status(encode_context_status([task])) == (task,)


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
def test_error_envelope_is_parsed(server: tuple[str, Recorder], status: int) -> None:
    endpoint, recorder = server
    recorder.status = status
    recorder.body = {
        "success": False,
        "code": "InvalidParameter",
        "message": "bad path",
        "requestId": "R-3",
        "httpStatusCode": status,
    }
    with _client(endpoint, retries=0) as client:
        response = get_context_info.sync_detailed(client=client, session_id="s")
    assert response.status_code == status
    assert isinstance(response.parsed, ApiEnvelope)
    assert response.parsed.success is False
    assert response.parsed.code == "InvalidParameter"
    assert response.parsed.message == "bad path"
    assert response.parsed.http_status_code == status
