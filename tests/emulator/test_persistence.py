"""Nothing lost: data and task history survive restarts, and stopping never corrupts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import API_KEY, Api, client_for, tree, wait_final, wait_until

from agb_context.emulator import Emulator


def test_contexts_sessions_and_history_survive_a_restart(data_dir: Path):
    with Emulator(data_dir=data_dir, api_key=API_KEY) as first, client_for(first) as client:
        sid = first.create_session(mounts={"kept": "/home/data", "other": "/home/other"})
        (first.session_path(sid, "/home/data") / "a.txt").write_text("persisted")
        Api(client).sync(sid, contextId="kept", path="/home/data")
        before = wait_final(first, sid)
        mount = first.session_path(sid, "/home/data")
        info_before = Api(client).info(sid).json()["data"]

    with Emulator(data_dir=data_dir, api_key=API_KEY) as second, client_for(second) as client:
        api = Api(client)
        assert second.session_path(sid, "/home/data") == mount
        assert (mount / "a.txt").read_text() == "persisted"
        assert tree(second.context_path("kept")) == {"a.txt": b"persisted"}
        after = second.tasks(sid)
        assert [t.to_status_data() for t in after] == [t.to_status_data() for t in before]
        assert after[0].final_monotonic is None
        assert api.info(sid).json()["data"] == info_before
        reader = second.create_session(mounts={"kept": "/restored"})
        api.sync(reader, contextId="kept", path="/restored", mode="download")
        assert wait_final(second, reader)[0].status == "Success"
        assert tree(second.session_path(reader, "/restored")) == {"a.txt": b"persisted"}


def test_tasks_unfinished_at_stop_run_again_on_restart(data_dir: Path):
    with Emulator(data_dir=data_dir, api_key=API_KEY) as first, client_for(first) as client:
        sid = first.create_session(mounts={"resumed": "/home/data"})
        (first.session_path(sid, "/home/data") / "f.txt").write_text("late")
        first.faults.hang_tasks(count=None)
        Api(client).sync(sid)
        wait_until(lambda: first.tasks(sid)[0].status == "Running", what="a running task")
    saved = json.loads(next((data_dir / "sessions").glob("*/session.json")).read_text())
    assert [t["status"] for t in saved["tasks"]] == ["Running"]
    assert not (data_dir / "contexts" / "resumed").exists()

    with Emulator(data_dir=data_dir, api_key=API_KEY) as second:
        [task] = wait_final(second, sid)
        assert task.status == "Success"
        assert tree(second.context_path("resumed")) == {"f.txt": b"late"}


def test_stopping_during_a_copy_never_leaves_a_partial_context(data_dir: Path):
    with Emulator(data_dir=data_dir, api_key=API_KEY) as first, client_for(first) as client:
        api = Api(client)
        sid = first.create_session(mounts={"big": "/home/data"})
        mount = first.session_path(sid, "/home/data")
        (mount / "version.txt").write_text("1")
        api.sync(sid)
        wait_final(first, sid)
        (mount / "version.txt").write_text("2")
        for index in range(40):
            (mount / f"chunk-{index:02d}.bin").write_bytes(bytes([index]) * 500_000)
        expected_new = tree(mount)
        api.sync(sid)
        wait_until(lambda: first.tasks(sid)[-1].status != "Pending", what="the copy to start")
    stored = tree(data_dir / "contexts" / "big")
    assert stored in ({"version.txt": b"1"}, expected_new)
    assert [p.name for p in (data_dir / "contexts").iterdir()] == ["big"]

    with Emulator(data_dir=data_dir, api_key=API_KEY) as second:
        assert wait_final(second, sid, 2)[-1].status == "Success"
        assert tree(second.context_path("big")) == expected_new


def test_an_interrupted_swap_is_put_right_on_start(data_dir: Path):
    contexts = data_dir / "contexts"
    (contexts / ".staging-half-0123456789abcdef").mkdir(parents=True)
    (contexts / ".staging-half-0123456789abcdef" / "partial").write_text("partial")
    (contexts / ".replaced-ctx-swap-0123456789abcdef").mkdir()
    (contexts / ".replaced-ctx-swap-0123456789abcdef" / "f.txt").write_text("previous")
    (contexts / "done").mkdir()
    (contexts / "done" / "f.txt").write_text("new")
    (contexts / ".replaced-done-fedcba9876543210").mkdir()
    with Emulator(data_dir=data_dir) as emulator:
        assert sorted(p.name for p in contexts.iterdir()) == ["ctx-swap", "done"]
        assert tree(emulator.context_path("ctx-swap")) == {"f.txt": b"previous"}
        assert tree(emulator.context_path("done")) == {"f.txt": b"new"}


def test_damaged_or_tampered_session_files_are_skipped(data_dir: Path):
    with Emulator(data_dir=data_dir) as first:
        good = first.create_session(mounts={"a": "/a"})
        broken = first.create_session(mounts={"b": "/b"})
        tampered = first.create_session(mounts={"c": "/c"})
    (data_dir / "sessions" / broken / "session.json").write_text("{not json")
    document = json.loads((data_dir / "sessions" / tampered / "session.json").read_text())
    document["mounts"][0]["folder"] = "../../../escape"
    (data_dir / "sessions" / tampered / "session.json").write_text(json.dumps(document))
    with Emulator(data_dir=data_dir) as second:
        assert second.session_path(good, "/a").is_dir()
        with pytest.raises(LookupError, match=broken):
            second.tasks(broken)
        with pytest.raises(LookupError, match=tampered):
            second.session_path(tampered, "/c")
    assert sorted(p.name for p in data_dir.parent.iterdir()) == ["data"]


@pytest.mark.parametrize(
    ("field", "value"), [("status", "Cancelled"), ("taskType", "both"), ("status", 1)]
)
def test_a_task_in_a_state_the_api_does_not_have_makes_its_session_skipped(
    data_dir: Path, field: str, value: object
):
    with Emulator(data_dir=data_dir, api_key=API_KEY) as first, client_for(first) as client:
        sid = first.create_session(mounts={"kept": "/home/data"})
        Api(client).sync(sid, contextId="kept", path="/home/data")
        wait_final(first, sid)
    session_file = data_dir / "sessions" / sid / "session.json"
    document = json.loads(session_file.read_text())
    document["tasks"][0][field] = value
    session_file.write_text(json.dumps(document))
    with Emulator(data_dir=data_dir) as second, pytest.raises(LookupError, match=sid):
        second.tasks(sid)
