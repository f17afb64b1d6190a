"""The emulator over raw HTTP: calls as the SDK makes them, waits for its tasks, file trees."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import httpx

from agb_context._results import ContextStatusData
from agb_context._status_codec import decode_context_status
from agb_context.emulator import Emulator, TaskRecord
from support.waiting import wait_until

API_KEY = "emulator-test-key"
"""The key of the emulators the emulator's tests start of their own."""


def wait_final(
    emulator: Emulator, sid: str, count: int = 1, timeout: float = 10.0
) -> list[TaskRecord]:
    """Wait until the session has at least ``count`` tasks, all final; return them."""

    def done() -> list[TaskRecord] | None:
        tasks = emulator.tasks(sid)
        return tasks if len(tasks) >= count and all(t.is_final for t in tasks) else None

    return wait_until(done, timeout, f"{count} final task(s) in {sid}")


class Api:
    """The cloud endpoints over real HTTP, as the SDK calls them."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def sync(self, sid: str | None = None, **params: str) -> httpx.Response:
        query = {"sessionId": sid, **params} if sid is not None else params
        return self.client.post("/sdk/SyncContext", params=query, json={})

    def info(self, sid: str | None = None, **params: str) -> httpx.Response:
        query = {"sessionId": sid, **params} if sid is not None else params
        return self.client.get("/sdk/GetContextInfo", params=query)

    def tasks(self, sid: str, **params: str) -> tuple[ContextStatusData, ...]:
        response = self.info(sid, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        return decode_context_status(body["data"]["contextStatus"])

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, f"/emulator/{path}", **kwargs)


_TLS = ssl.create_default_context()
"""Made once: building one per client would cost more than most tests take."""


_ITS_OWN = "its own key"


def client_for(emulator: Emulator, key: str | None = _ITS_OWN) -> httpx.Client:
    """A client of the emulator: its own key as the SDK sends it (``Bearer <key>``) unless
    told otherwise; ``key`` is sent as the whole header (none when None)."""
    headers = {"content-type": "application/json"}
    if key == _ITS_OWN:
        headers["authorization"] = f"Bearer {emulator.api_key}"
    elif key is not None:
        headers["authorization"] = key
    return httpx.Client(base_url=emulator.endpoint, headers=headers, timeout=10.0, verify=_TLS)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every entry below ``root``: relative path -> file bytes (None for folders)."""
    entries: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        entries[relative] = None if path.is_dir() else path.read_bytes()
    return entries


REQUEST_ID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\Z")
"""A request id as the emulator makes them."""


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    """``response`` is the error envelope: ``status``, ``code``, a request id, ``words`` said."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert body["httpStatusCode"] == status
    assert REQUEST_ID.match(body["requestId"])
    assert body["requestId"] == response.headers["x-request-id"]
    for word in words:
        assert word in body["message"]
