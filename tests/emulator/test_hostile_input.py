"""Hostile input to the emulator, through the SDK and over raw HTTP.

Everything here runs against one emulator whose data folder sits in a folder
of its own, next to a sentinel folder holding a secret. After every test,
the sentinel's tree, bytes, modes and times are as they were, nothing new
sits beside the data folder, and the secret's bytes are in no file of the
data folder: nothing outside was written, and nothing outside was copied in.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import select
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import httpx
import pytest
from support import SECRETS, wait_until
from support.watch import SERVER_LOGGERS

from agb_context import (
    ContextInfoResult,
    ContextManager,
    ContextSyncResult,
    PollingPolicy,
    RetryPolicy,
)
from agb_context.emulator import Emulator

KEY = "hostile-input-key-5c0ffee"
SECRETS.add(KEY)
SECRET = b"the-sentinel-secret-4b1d: must never be copied into the data folder"
MOUNT = "/home/data"


def _snapshot(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry below ``folder`` (and itself), by lstat: type, mode, size, mtime, bytes."""
    entries: dict[str, tuple[Any, ...]] = {}
    for path in [folder, *_walk(folder)]:
        info = os.lstat(path)
        content: bytes | str | None = None
        if stat.S_ISREG(info.st_mode):
            content = path.read_bytes()
        elif stat.S_ISLNK(info.st_mode):
            content = os.readlink(path)
        key = path.relative_to(folder).as_posix()
        entries[key] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return entries


def _walk(folder: Path) -> Iterator[Path]:
    """Entries below ``folder``; symbolic links are listed, never followed."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in sorted(dirnames + filenames):
            yield Path(dirpath) / name


@attrs.define
class Fortress:
    root: Path
    data: Path
    sentinel: Path
    emu: Emulator
    before: dict[str, tuple[Any, ...]]
    root_mtime: int
    managers: list[ContextManager] = attrs.field(factory=list)

    def cm(self, session_id: str) -> ContextManager:
        manager = ContextManager(
            session_id,
            api_key=KEY,
            endpoint=self.emu.endpoint,
            retry=RetryPolicy(max_retries=0),
        )
        self.managers.append(manager)
        return manager

    def session(self, mounts: dict[str, str]) -> str:
        return self.emu.create_session(mounts=mounts)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.raw(method, f"/emulator/{path}", **kwargs)

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request over raw HTTP, with what the SDK itself would refuse to send."""
        with httpx.Client(base_url=self.emu.endpoint, headers={"authorization": KEY}) as client:
            return client.request(method, path, **kwargs)

    def raw_sync(self, session_id: str, **params: str) -> httpx.Response:
        return self.raw(
            "POST", "/sdk/SyncContext", params={"sessionId": session_id, **params}, json={}
        )

    def raw_info(self, session_id: str, **params: str) -> httpx.Response:
        return self.raw("GET", "/sdk/GetContextInfo", params={"sessionId": session_id, **params})

    def assert_untouched(self) -> None:
        assert _snapshot(self.sentinel) == self.before, "the sentinel folder changed"
        assert sorted(p.name for p in self.root.iterdir()) == ["data", "sentinel"]
        assert os.lstat(self.root).st_mtime_ns == self.root_mtime
        for path in _walk(self.data):
            if stat.S_ISREG(os.lstat(path).st_mode):
                assert SECRET not in path.read_bytes(), f"the secret was copied into {path}"
        contexts = self.data / "contexts"
        assert not [p for p in _walk(contexts) if p.is_symlink()], "a stored context has links"
        assert sorted(p.name for p in self.data.iterdir()) == [
            ".emulator.lock",
            "contexts",
            "contexts.json",
            "sessions",
        ]
        for path in _walk(self.data):
            if not path.is_symlink():
                assert self.data in path.resolve().parents, f"{path} leads outside"


@pytest.fixture(scope="module")
def fortress_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fortress]:
    root = tmp_path_factory.mktemp("fortress")
    sentinel = root / "sentinel"
    (sentinel / "nested" / "deeper").mkdir(parents=True)
    (sentinel / "secret.txt").write_bytes(SECRET)
    (sentinel / "nested" / "deeper" / "secret-copy.bin").write_bytes(SECRET * 3)
    (sentinel / "nested" / "readme.txt").write_text("outside the data folder")
    os.chmod(sentinel / "nested" / "readme.txt", 0o640)
    with Emulator(data_dir=root / "data", api_key=KEY) as emu:
        fortress = Fortress(
            root=root,
            data=emu.data_dir,
            sentinel=sentinel,
            emu=emu,
            before=_snapshot(sentinel),
            root_mtime=os.lstat(root).st_mtime_ns,
        )
        yield fortress
        for manager in fortress.managers:
            manager.close()
    fortress.assert_untouched()


@pytest.fixture
def fortress(fortress_module: Fortress) -> Iterator[Fortress]:
    fortress_module.emu.faults.clear()
    yield fortress_module
    fortress_module.assert_untouched()


def _sync(cm: ContextManager, context_id: str | None, path: str | None, mode: str = "upload"):
    return cm.sync(context_id, path, mode=mode, retry_interval=10).result(timeout=30)


def _assert_refused(result: ContextInfoResult | ContextSyncResult, argument: str) -> None:
    """Refused by the SDK (naming the argument, nothing sent) or by the emulator with 400."""
    assert not result.success
    if result.request_id:
        assert result.error_message.endswith("(HTTP 400, code InvalidParameter)"), (
            result.error_message
        )
    else:
        assert argument in result.error_message, result.error_message


# --- hostile context ids -------------------------------------------------------------------

HOSTILE_CONTEXT_IDS = [
    "",
    ".",
    "..",
    "a/b",
    "a\\b",
    "ctx with space",
    "\u00fcn\u00efcode",
    "../sentinel",
    "../../sentinel",
    "..%2fsentinel",
    "%2e%2e",
    "%2e%2e%2fsentinel",
    "%252e%252e%252fsentinel",
    "ctx/../../sentinel",
    "ctx/..",
    "..\\sentinel",
    "ctx\\..\\..\\sentinel",
    "/abs",
    "/etc/passwd",
    "C:\\Windows",
    "C:",
    "\\\\server\\share",
    "~",
    "$HOME",
    "ctx\x00",
    "\x00",
    "ctx\n",
    "ctx\r\nX-Injected: yes",
    "ctx\t",
    " ctx",
    ".hidden",
    "-ctx",
    "x" * 129,
    "x" * 10_000,
    "ctx;rm -rf ~",
    "ctx$(id)",
    "ctx\u202e",
    "\uff0e\uff0e",
    "ctx/",
]


@pytest.mark.parametrize("context_id", HOSTILE_CONTEXT_IDS, ids=repr)
def test_hostile_context_ids_are_refused_through_the_sdk(
    fortress: Fortress, context_id: str
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    (fortress.emu.session_path(sid, MOUNT) / "f.txt").write_text("data")
    cm = fortress.cm(sid)
    for mode in ("upload", "download"):
        _assert_refused(_sync(cm, context_id, MOUNT, mode), "context_id")
    if context_id:  # a blank filter means none to info
        _assert_refused(cm.info(context_id=context_id), "context_id")
    for mode in ("upload", "download"):
        raw = fortress.raw_sync(sid, contextId=context_id, path=MOUNT, mode=mode)
        assert raw.status_code == 400, raw.text
    assert fortress.raw_info(sid, contextId=context_id).status_code == 400
    created = fortress.admin("POST", "sessions", json={"mounts": {context_id: MOUNT}})
    assert created.status_code == 400, created.text
    assert created.json()["code"] == "InvalidParameter"
    with pytest.raises(ValueError, match=r"id|empty"):
        fortress.session({context_id: MOUNT})
    with pytest.raises(ValueError, match=r"context id|contextId|empty|characters"):
        fortress.emu.context_path(context_id)
    described = fortress.admin("GET", f"contexts/{quote(context_id, safe='')}")
    assert described.status_code in (400, 404), described.text
    assert fortress.emu.tasks(sid) == []


# --- hostile mount paths -------------------------------------------------------------------

REFUSED_PATHS = [
    "",
    "/",
    "..",
    "relative/path",
    "/home/da\x1bta",
    "/..",
    "/../sentinel",
    "/home/../../sentinel",
    "/home/data/..",
    "/./home",
    "/home/./data",
    "//home",
    "/home//data",
    "/home/data/",
    "home/data",
    "./data",
    "~/data",
    "\\home\\data",
    "/home\\..\\..\\sentinel",
    "/home/%2e%2e/%2e%2e/sentinel",
    "/home/%2E%2E/x",
    "/home/%252e%252e/x",
    "/home/..%2f..%2fsentinel",
    "/home/%5c..%5c..%5csentinel",
    "/home/%00",
    "/home/data\x00",
    "/home/\n",
    "/home/\x1b[31m",
    "C:/sentinel",
    "C:\\sentinel",
    "/" + "a" * 1024,
    "/" + "a" * 10_000,
]

CONTAINED_PATHS = [
    "/home/donn\u00e9es/\u65e5\u672c",
    "/x/.hidden/..y",
    "/~/$HOME",
    "/proc/self/root",
    "/etc",
    "/home/\u2026/x",
    "/home/\uff0e\uff0e/x",
    "/home/%41",
    "/~root",
    "/$HOME",
    "/home/data;rm -rf ~",
    "/home/\u00fcn\u00efc\u00f8de/\u65e5\u672c",
    "/" + "a" * 1023,
    "/.hidden/..x",
    "/...",
    "/home/. /x",
]


@pytest.mark.parametrize("path", REFUSED_PATHS, ids=lambda p: repr(p)[:40])
def test_hostile_mount_paths_are_refused(fortress: Fortress, path: str) -> None:
    created = fortress.admin("POST", "sessions", json={"mounts": {"ctx-h": path}})
    assert created.status_code == 400, created.text
    with pytest.raises(ValueError):
        fortress.session({"ctx-h": path})
    sid = fortress.session({"ctx-ok": MOUNT})
    cm = fortress.cm(sid)
    for mode in ("upload", "download"):
        _assert_refused(_sync(cm, "ctx-ok", path, mode), "path")
    if path:  # a blank filter means none to info
        _assert_refused(cm.info(path=path), "path")
    assert fortress.raw_sync(sid, contextId="ctx-ok", path=path).status_code == 400
    assert fortress.raw_info(sid, path=path).status_code == 400
    assert fortress.emu.tasks(sid) == []


def test_two_contexts_cannot_share_a_mount_path(fortress: Fortress) -> None:
    created = fortress.admin("POST", "sessions", json={"mounts": {"a": "/home/x", "b": "/home/x"}})
    assert created.status_code == 400
    assert "both mounted at /home/x" in created.json()["message"]
    with pytest.raises(ValueError, match="both mounted"):
        fortress.session({"a": "/home/x", "b": "/home/x"})


@pytest.mark.parametrize(
    "index", range(len(CONTAINED_PATHS)), ids=lambda i: repr(CONTAINED_PATHS[i])[:40]
)
def test_odd_mount_paths_are_contained_in_the_data_folder(fortress: Fortress, index: int) -> None:
    path, context_id = CONTAINED_PATHS[index], f"ctx-contained-{index}"
    created = fortress.admin("POST", "sessions", json={"mounts": {context_id: path}})
    assert created.status_code == 200, created.text
    writer = created.json()["sessionId"]
    reader = fortress.session({context_id: path})
    for sid in (writer, reader):
        folder = fortress.emu.session_path(sid, path)
        assert fortress.data / "sessions" / sid / "mounts" in folder.parents
    (fortress.emu.session_path(writer, path) / "f.txt").write_text(path)
    assert _sync(fortress.cm(writer), context_id, path).success
    assert _sync(fortress.cm(reader), context_id, path, "download").success
    assert (fortress.emu.session_path(reader, path) / "f.txt").read_text() == path
    assert fortress.emu.context_path(context_id).parent == fortress.data / "contexts"


# --- symbolic links pointing out -----------------------------------------------------------


def test_links_in_a_mount_are_never_followed(fortress: Fortress) -> None:
    other = fortress.session({"ctx-neighbour": MOUNT})
    (fortress.emu.session_path(other, MOUNT) / "neighbour.txt").write_bytes(SECRET)
    sid = fortress.session({"ctx-links": MOUNT})
    mount = fortress.emu.session_path(sid, MOUNT)
    (mount / "real.txt").write_text("real")
    (mount / "sub" / "deeper").mkdir(parents=True)
    (mount / "sub" / "deeper" / "real2.txt").write_text("real too")
    links = {
        "to-secret-file": fortress.sentinel / "secret.txt",
        "to-sentinel": fortress.sentinel,
        "sub/deeper/to-sentinel": fortress.sentinel / "nested",
        "climbing": Path("../" * 12) / fortress.sentinel.relative_to("/"),
        "to-root": Path("/"),
        "to-neighbour": fortress.emu.session_path(other, MOUNT),
        "to-data-folder": fortress.data,
        "loop": mount / "loop",
        "dangling": fortress.root / "missing",
    }
    for name, target in links.items():
        (mount / name).symlink_to(target)
    fortress.emu.clear_requests()

    assert _sync(fortress.cm(sid), "ctx-links", MOUNT).success
    stored = fortress.emu.context_path("ctx-links")
    assert sorted(p.relative_to(stored).as_posix() for p in _walk(stored)) == [
        "real.txt",
        "sub",
        "sub/deeper",
        "sub/deeper/real2.txt",
    ]
    reader = fortress.session({"ctx-links": "/restore"})
    assert _sync(fortress.cm(reader), "ctx-links", "/restore", "download").success
    restored = fortress.emu.session_path(reader, "/restore")
    assert (restored / "real.txt").read_text() == "real"
    assert not [p for p in _walk(restored) if p.is_symlink()]
    # The links themselves are still in the mount: their targets were never read.
    (fortress.emu.session_path(other, MOUNT) / "neighbour.txt").unlink()
    for name in links:
        (mount / name).unlink()


def test_a_mount_replaced_by_a_link_outside_is_neither_read_nor_written(
    fortress: Fortress,
) -> None:
    source = fortress.session({"ctx-swapped": MOUNT})
    (fortress.emu.session_path(source, MOUNT) / "stored.txt").write_text("stored")
    assert _sync(fortress.cm(source), "ctx-swapped", MOUNT).success
    sid = fortress.session({"ctx-swapped": "/home/victim"})
    mount = fortress.emu.session_path(sid, "/home/victim")
    mount.rmdir()
    mount.symlink_to(fortress.sentinel, target_is_directory=True)
    cm = fortress.cm(sid)

    upload = _sync(cm, "ctx-swapped", "/home/victim")
    assert not upload.success
    assert "is not a folder" in upload.error_message
    assert (fortress.emu.context_path("ctx-swapped") / "stored.txt").read_text() == "stored"

    download = _sync(cm, "ctx-swapped", "/home/victim", "download")
    assert download.success, download.error_message
    assert not mount.is_symlink(), "the link was replaced by a real folder"
    assert (mount / "stored.txt").read_text() == "stored"


def test_a_stored_context_replaced_by_a_link_outside_is_contained(fortress: Fortress) -> None:
    stored = fortress.emu.context_path("ctx-tampered")
    stored.symlink_to(fortress.sentinel, target_is_directory=True)
    sid = fortress.session({"ctx-tampered": MOUNT})
    cm = fortress.cm(sid)
    try:
        download = _sync(cm, "ctx-tampered", MOUNT, "download")
        assert not download.success
        assert "is not a folder" in download.error_message
        assert os.listdir(fortress.emu.session_path(sid, MOUNT)) == []
        (fortress.emu.session_path(sid, MOUNT) / "new.txt").write_text("new")
        assert _sync(cm, "ctx-tampered", MOUNT).success
        assert not stored.is_symlink()
        assert sorted(os.listdir(stored)) == ["new.txt"]
    finally:
        if stored.is_symlink():
            stored.unlink()


# --- one session cannot see or sync another's mounts ---------------------------------------


def test_one_session_cannot_see_or_sync_anothers_mounts(fortress: Fortress) -> None:
    alice = fortress.session({"ctx-alice": MOUNT})
    bob = fortress.session({"ctx-bob": MOUNT, "ctx-bob-2": "/home/bob"})
    (fortress.emu.session_path(bob, MOUNT) / "bob.txt").write_text("bob's")
    alice_cm, bob_cm = fortress.cm(alice), fortress.cm(bob)
    assert _sync(bob_cm, "ctx-bob", MOUNT).success

    for mode in ("upload", "download"):
        for cid, path in (("ctx-bob", MOUNT), ("ctx-bob-2", "/home/bob")):
            refused = _sync(alice_cm, cid, path, mode)
            assert not refused.success
            # The answer lists Alice's own mounts, nothing of Bob's.
            assert refused.error_message.endswith(
                f"its mounts: ctx-alice at {MOUNT} (HTTP 404, code MountNotFound)"
            ), refused.error_message
    assert alice_cm.info(context_id="ctx-bob").context_status_data == ()
    assert alice_cm.info(path="/home/bob").context_status_data == ()
    assert alice_cm.info().context_status_data == ()
    assert fortress.emu.tasks(alice) == []

    # Syncing everything of Alice's session touches Alice's contexts only.
    everything = alice_cm.sync(polling=PollingPolicy(interval=0.01, grace=0.05))
    assert everything.result(timeout=30).success
    assert [t.context_id for t in fortress.emu.tasks(alice)] == ["ctx-alice"]
    assert [t.context_id for t in fortress.emu.tasks(bob)] == ["ctx-bob"]
    assert not fortress.emu.context_path("ctx-bob-2").exists()
    assert sorted(os.listdir(fortress.emu.session_path(bob, MOUNT))) == ["bob.txt"]
    assert [t.context_id for t in alice_cm.info().context_status_data] == ["ctx-alice"]

    for guess in (bob.upper(), bob + "0", bob[:-1], f"{bob}/..", f"../{bob}", f" {bob}"):
        with ContextManager(guess, api_key=KEY, endpoint=fortress.emu.endpoint) as guesser:
            result = guesser.info()
        assert not result.success
        assert result.error_message.endswith("(HTTP 404, code SessionNotFound)"), (
            result.error_message
        )


# --- wrong and missing keys ----------------------------------------------------------------


def _routes(sid: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/sdk/SyncContext", {"params": {"sessionId": sid}, "json": {}}),
        ("GET", "/sdk/GetContextInfo", {"params": {"sessionId": sid}}),
        ("POST", "/emulator/reset", {}),
        ("POST", "/emulator/sessions", {"json": {"mounts": {"ctx-intruder": "/x"}}}),
        ("GET", f"/emulator/sessions/{sid}", {}),
        ("GET", "/emulator/contexts/ctx-ok", {}),
        ("POST", "/emulator/faults", {"json": {"fault": "hang_tasks", "count": None}}),
        ("GET", "/emulator/faults", {}),
        ("DELETE", "/emulator/faults", {}),
        ("POST", "/emulator/task-delay", {"json": {"seconds": 60}}),
        ("GET", "/emulator/requests", {}),
        ("DELETE", "/emulator/requests", {}),
        ("GET", "/sdk/Nothing", {}),
        ("PUT", "/sdk/SyncContext", {}),
        ("GET", "/", {}),
    ]


BAD_KEYS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "missing": lambda: [],
    "empty": lambda: [("authorization", "")],
    "wrong": lambda: [("authorization", "not-the-key")],
    "truncated": lambda: [("authorization", KEY[:-1])],
    "extended": lambda: [("authorization", KEY + "x")],
    "other_case": lambda: [("authorization", KEY.swapcase())],
    "bearer_wrong": lambda: [("authorization", f"Bearer {KEY}x")],
    "bearer_twice": lambda: [("authorization", f"Bearer Bearer {KEY}")],
    "basic": lambda: [("authorization", "Basic " + base64.b64encode(KEY.encode()).decode())],
    "other_header": lambda: [("x-api-key", KEY)],
    "twice": lambda: [("authorization", KEY), ("authorization", KEY)],
    "right_and_wrong": lambda: [("authorization", KEY), ("authorization", "not-the-key")],
}


@pytest.mark.parametrize("bad_key", list(BAD_KEYS))
def test_a_wrong_or_missing_key_gets_401_on_every_route_and_changes_nothing(
    fortress: Fortress, bad_key: str
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    fortress.emu.faults.fail_requests("GetContextInfo", 500, count=1)
    sessions_before = sorted(os.listdir(fortress.data / "sessions"))
    headers = BAD_KEYS[bad_key]()
    # httpx logs each URL at INFO; with the key in the query it would log the key.
    quiet = logging.getLogger("httpx")
    level, quiet.level = quiet.level, logging.WARNING
    with contextlib.ExitStack() as restore, httpx.Client(base_url=fortress.emu.endpoint) as client:
        restore.callback(quiet.setLevel, level)
        for method, path, kwargs in _routes(sid):
            params = dict(kwargs.get("params", {}))
            if bad_key == "other_header":
                params["authorization"] = KEY  # nor does the key in the query
            response = client.request(
                method,
                path,
                params=params,
                json=kwargs.get("json"),
                headers=httpx.Headers(headers),
            )
            where = f"{method} {path}"
            assert response.status_code == 401, f"{where}: {response.status_code}"
            body = response.json()
            assert body["success"] is False, where
            assert body["code"] == "InvalidApiKey", where
            assert body["requestId"] == response.headers["x-request-id"], where
            assert KEY not in response.text, where
    assert sorted(os.listdir(fortress.data / "sessions")) == sessions_before
    assert fortress.emu.tasks(sid) == []
    # The queued fault was neither used up nor cleared, and no fault was added.
    with httpx.Client(base_url=fortress.emu.endpoint, headers={"authorization": KEY}) as client:
        info = client.get("/sdk/GetContextInfo", params={"sessionId": sid})
        assert info.status_code == 500
        client.post("/sdk/SyncContext", params={"sessionId": sid}, json={})
    assert wait_until(lambda: [t.status for t in fortress.emu.tasks(sid)] == ["Success"])


# --- oversized query values ----------------------------------------------------------------

OVERSIZED = [
    ("GetContextInfo", "sessionId"),
    ("GetContextInfo", "contextId"),
    ("GetContextInfo", "path"),
    ("GetContextInfo", "taskType"),
    ("SyncContext", "sessionId"),
    ("SyncContext", "contextId"),
    ("SyncContext", "path"),
    ("SyncContext", "mode"),
]


def _oversized_query(sid: str, name: str, size: int) -> dict[str, str]:
    value = ("/" if name == "path" else "") + "a" * size
    query = {"sessionId": sid, "contextId": "ctx-ok", "path": MOUNT}
    query[name] = value
    return query


@pytest.mark.parametrize("size", [2_000, 15_000])
@pytest.mark.parametrize(("endpoint", "name"), OVERSIZED)
def test_oversized_query_values_are_refused_with_the_envelope(
    fortress: Fortress, endpoint: str, name: str, size: int
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    method = "POST" if endpoint == "SyncContext" else "GET"
    with httpx.Client(base_url=fortress.emu.endpoint, headers={"authorization": KEY}) as client:
        response = client.request(
            method,
            f"/sdk/{endpoint}",
            params=_oversized_query(sid, name, size),
            json={} if method == "POST" else None,
        )
    assert response.status_code == 400, response.text[:200]
    body = response.json()
    assert (body["success"], body["code"]) == (False, "InvalidParameter")
    assert body["message"].startswith(name), body["message"][:200]
    assert body["requestId"] == response.headers["x-request-id"]
    assert fortress.emu.tasks(sid) == []


@pytest.mark.parametrize(
    ("endpoint", "name"), [("GetContextInfo", "taskType"), ("SyncContext", "mode")]
)
def test_an_oversized_value_is_not_echoed_whole(
    fortress: Fortress, endpoint: str, name: str
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    method = "POST" if endpoint == "SyncContext" else "GET"
    with httpx.Client(base_url=fortress.emu.endpoint, headers={"authorization": KEY}) as client:
        response = client.request(
            method,
            f"/sdk/{endpoint}",
            params=_oversized_query(sid, name, 15_000),
            json={} if method == "POST" else None,
        )
    assert response.status_code == 400
    assert len(response.json()["message"]) < 500


@pytest.mark.parametrize("argument", ["context_id", "path"])
def test_oversized_arguments_through_the_sdk_are_refused_by_name(
    fortress: Fortress, argument: str
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    cm = fortress.cm(sid)
    value = "/" + "a" * 2_000
    wire, limit = {"context_id": ("contextId", 128), "path": ("path", 1024)}[argument]
    info = cm.info(**{argument: value})
    scope = {"context_id": "ctx-ok", "path": MOUNT, argument: value}
    synced = _sync(cm, scope["context_id"], scope["path"])
    for result in (info, synced):
        assert not result.success
        assert result.error_message.startswith(
            ("", "the sync was not started: ")[result is synced]
            + f"{wire} is 2001 characters long; at most {limit} are allowed"
        ), result.error_message
        assert result.error_message.endswith("(HTTP 400, code InvalidParameter)")


def test_an_oversized_request_head_arriving_in_pieces_gets_the_envelope(
    fortress: Fortress,
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    host, port = httpx.URL(fortress.emu.endpoint).host, httpx.URL(fortress.emu.endpoint).port
    assert port is not None
    target = f"/sdk/GetContextInfo?sessionId={sid}&path=/{'a' * 60_000}"
    # connection: close, so that the server hangs up once it has answered
    head = (
        f"GET {target} HTTP/1.1\r\nhost: {host}\r\nauthorization: {KEY}\r\nconnection: close\r\n"
    )
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode())
        # The head is not over yet: a server that keeps reading says nothing.
        answered_early, _, _ = select.select([sock], [], [], 2.0)
        with contextlib.suppress(OSError):
            sock.sendall(b"\r\n")
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError:
            pass
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request", received[:200]
    assert not answered_early or b"application/json" in rest
    assert b'"code":"InvalidParameter"' in rest, rest[:300]


# --- clients that hang up ------------------------------------------------------------------


def test_a_client_hanging_up_mid_request_is_not_a_server_error(
    fortress: Fortress, caplog: pytest.LogCaptureFixture
) -> None:
    sid = fortress.session({"ctx-ok": MOUNT})
    fortress.emu.clear_requests()
    url = httpx.URL(fortress.emu.endpoint)
    assert url.port is not None
    head = (
        f"POST /sdk/SyncContext?sessionId={sid} HTTP/1.1\r\nhost: {url.host}\r\n"
        f"authorization: {KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{"
    )
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(head.encode())
    (request,) = wait_until(
        lambda: [r for r in fortress.emu.requests if r.session_id == sid],
        what="the request to be recorded",
    )
    assert fortress.emu.tasks(sid) == []
    # the server's records only: another test's leftover thread may log errors of its own
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(SERVER_LOGGERS)
    ]
    assert errors == []
    assert request.status != 500
