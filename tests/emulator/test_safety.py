"""Nothing escapes the data folder: hostile context ids and mount paths are refused with 400."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from support import API_KEY, Api, client_for, tree, wait_final

from agb_context.emulator import Emulator

HOSTILE_CONTEXT_IDS = [
    "",
    ".",
    "..",
    "../escape",
    "../../../../tmp/escape",
    "a/../../escape",
    "a/b",
    "a\\b",
    "..\\escape",
    "/etc",
    "/tmp/escape",
    "C:\\escape",
    "%2e%2e",
    "%2e%2e%2fescape",
    "..%2fescape",
    "ctx\x00.txt",
    "ctx\n",
    "x" * 129,
    ".hidden",
    "-starts-with-dash",
    "ctx with space",
    "ünïcode",
]

HOSTILE_PATHS = [
    "",
    "/",
    "..",
    "relative/path",
    "/home/../../../../tmp/escape",
    "/../escape",
    "/home/./data",
    "/home//data",
    "/home/data/",
    "\\home\\data",
    "/home\\..\\..\\escape",
    "/home/%2e%2e/%2e%2e/escape",
    "/home/%252e%252e/escape",
    "/home/..%2f..%2fescape",
    "/home/data\x00/x",
    "/home/da\x1bta",
    "/" + "a" * 1100,
    "C:/escape",
]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Api, Path]]:
    """An emulator whose data folder is the only thing in its parent folder."""
    root = tmp_path_factory.mktemp("isolated")
    with (
        Emulator(data_dir=root / "data", api_key=API_KEY) as emulator,
        client_for(emulator) as client,
    ):
        yield emulator, Api(client), root


def assert_nothing_outside(emulator: Emulator, root: Path) -> None:
    assert sorted(p.name for p in root.iterdir()) == ["data"]
    assert sorted(p.name for p in emulator.data_dir.iterdir()) == [
        ".emulator.lock",
        "contexts",
        "contexts.json",
        "sessions",
    ]
    for path in emulator.data_dir.rglob("*"):
        assert emulator.data_dir in path.resolve().parents


@pytest.mark.parametrize("context_id", HOSTILE_CONTEXT_IDS)
def test_hostile_context_ids_are_refused(isolated, context_id: str):
    emulator, api, root = isolated
    response = api.admin("POST", "sessions", json={"mounts": {context_id: "/home/data"}})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameter"
    with pytest.raises(ValueError, match=r"id|empty"):
        emulator.create_session(mounts={context_id: "/home/data"})
    sid = emulator.create_session(mounts={"fine": "/home/data"})
    for mode in ("upload", "download"):
        sync = api.sync(sid, contextId=context_id, path="/home/data", mode=mode)
        assert sync.status_code == 400, sync.text
    assert api.info(sid, contextId=context_id).status_code == 400
    assert api.admin("GET", f"contexts/{quote(context_id, safe='')}").status_code in (400, 404)
    with pytest.raises(ValueError):
        emulator.context_path(context_id)
    assert emulator.tasks(sid) == []
    assert_nothing_outside(emulator, root)


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_mount_paths_are_refused(isolated, path: str):
    emulator, api, root = isolated
    response = api.admin("POST", "sessions", json={"mounts": {"ctx-a": path}})
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    with pytest.raises(ValueError):
        emulator.create_session(mounts={"ctx-a": path})
    sid = emulator.create_session(mounts={"ctx-a": "/home/data"})
    assert api.sync(sid, contextId="ctx-a", path=path).status_code == 400
    assert api.info(sid, path=path).status_code == 400
    assert emulator.tasks(sid) == []
    assert_nothing_outside(emulator, root)


def test_odd_but_harmless_paths_stay_inside(isolated):
    emulator, api, root = isolated
    odd = {"a": "/home/%41", "b": "/home/données/日本", "c": "/x/.hidden/..y", "d": "/~/$HOME"}
    sid = emulator.create_session(mounts=odd)
    for cid, path in odd.items():
        folder = emulator.session_path(sid, path)
        assert folder.is_dir()
        assert emulator.data_dir in folder.resolve().parents
        (folder / "f.txt").write_text(cid)
    api.sync(sid)
    assert all(t.status == "Success" for t in wait_final(emulator, sid, 4))
    for cid in odd:
        assert tree(emulator.context_path(cid)) == {"f.txt": cid.encode()}
    assert_nothing_outside(emulator, root)


def test_two_contexts_cannot_share_a_mount_path(isolated):
    emulator, api, _ = isolated
    response = api.admin("POST", "sessions", json={"mounts": {"a": "/home/x", "b": "/home/x"}})
    assert response.status_code == 400
    assert "both mounted at /home/x" in response.json()["message"]
    with pytest.raises(ValueError, match="both mounted"):
        emulator.create_session(mounts={"a": "/home/x", "b": "/home/x"})


def test_a_mount_folder_replaced_by_a_symlink_is_not_followed(isolated, tmp_path: Path):
    emulator, api, _ = isolated
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    sid = emulator.create_session(mounts={"swapped": "/home/data"})
    mount = emulator.session_path(sid, "/home/data")
    mount.rmdir()
    mount.symlink_to(outside, target_is_directory=True)
    try:
        api.sync(sid)
        [task] = wait_final(emulator, sid)
    finally:
        mount.unlink()  # the module's other tests check that nothing leads outside
        mount.mkdir()
    assert task.status == "Failed"
    assert "not a folder" in task.error_message
    assert not emulator.context_path("swapped").exists()
