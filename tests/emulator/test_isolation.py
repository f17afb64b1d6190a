"""What keeps tests apart: one emulator per data dir, reset to empty, repeatable ids."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from support import API_KEY, Api, client_for, tree, wait_final, wait_until

from agb_context.emulator import DataDirError, DataDirInUse, Emulator, ListenError
from agb_context.emulator._dirlock import LOCK_FILE, DataDirLock

# --- one emulator per data dir ------------------------------------------------------------


def test_a_second_emulator_on_a_data_dir_in_use_is_refused_and_touches_nothing(
    data_dir: Path,
):
    with Emulator(data_dir=data_dir, api_key=API_KEY, task_delay=0.5) as first:
        sid = first.create_session(mounts={"shared": "/home/data"})
        mount = first.session_path(sid, "/home/data")
        for index in range(200):
            (mount / f"file-{index:03}.txt").write_text(str(index))
        # what an upload in progress leaves in the contexts folder until it is swapped in
        in_progress = data_dir / "contexts" / ".staging-shared-0123456789abcdef"
        in_progress.mkdir()
        (in_progress / "half.txt").write_text("copy in progress")
        with client_for(first) as client:
            assert Api(client).sync(sid).status_code == 200
        second = Emulator(data_dir=data_dir, api_key=API_KEY)
        with pytest.raises(DataDirInUse) as refused:
            second.start()
        message = str(refused.value)
        assert str(data_dir.resolve()) in message
        assert f"process {os.getpid()}" in message
        assert first.endpoint in message
        assert not second.running
        assert (in_progress / "half.txt").read_text() == "copy in progress"
        [task] = wait_final(first, sid)
        assert task.status == "Success"
        assert len(list(first.context_path("shared").iterdir())) == 200
    with Emulator(data_dir=data_dir, api_key=API_KEY) as after:
        assert len(list(after.context_path("shared").iterdir())) == 200


def test_the_data_dir_is_free_again_once_stopped(data_dir: Path):
    with Emulator(data_dir=data_dir):
        pass
    with Emulator(data_dir=data_dir) as again:
        assert again.running


def test_a_data_dir_that_is_a_file_names_the_file(tmp_path: Path):
    not_a_folder = tmp_path / "data.txt"
    not_a_folder.write_text("x")
    with pytest.raises(DataDirError, match=r"data\.txt is a file, not a folder"):
        Emulator(data_dir=not_a_folder).start()


def test_temporary_folders_left_by_killed_emulators_are_removed_at_start():
    def left_folder(*, held: bool = False, age: float = 120.0, locked: bool = True) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="agb-context-emulator-"))
        (folder / "contexts").mkdir()
        if locked:
            lock = DataDirLock(folder)
            lock.acquire()
            if held:
                holders.append(lock)
            else:
                lock.release()  # as the kernel does when the holder is killed
            then = time.time() - age
            os.utime(folder / LOCK_FILE, (then, then))
        return folder

    holders: list[DataDirLock] = []
    killed = left_folder()
    running = left_folder(held=True)  # an emulator runs on it
    starting = left_folder(age=0.0)  # its emulator is just starting
    no_lock = left_folder(locked=False)  # not an emulator's, as far as anyone can tell
    try:
        with Emulator(api_key=API_KEY) as emulator:
            assert emulator.running
            assert not killed.exists()
            assert all(folder.is_dir() for folder in (running, starting, no_lock))
    finally:
        for lock in holders:
            lock.release()
        for folder in (killed, running, starting, no_lock):
            shutil.rmtree(folder, ignore_errors=True)


def test_a_taken_port_is_an_error_naming_it():
    with Emulator() as first:
        port = int(first.endpoint.rsplit(":", 1)[1])
        # An OSError, as a program catching the socket's own error expects.
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is already in use") as raised:
            Emulator(port=port).start()
    assert isinstance(raised.value, ListenError)


# --- reset ----------------------------------------------------------------------------------


def test_reset_empties_everything(agb_clean_emulator: Emulator, api: Api):
    hung = agb_clean_emulator.create_session(mounts={"reset-hung": "/home/data"})
    done = agb_clean_emulator.create_session(mounts={"reset-done": "/home/data"})
    (agb_clean_emulator.session_path(done, "/home/data") / "secret.txt").write_text(
        "from an earlier test"
    )
    api.sync(done)
    wait_final(agb_clean_emulator, done)
    agb_clean_emulator.faults.hang_tasks()
    api.sync(hung)
    wait_until(lambda: agb_clean_emulator.tasks(hung)[0].status == "Running", what="a hung task")
    agb_clean_emulator.faults.fail_requests("GetContextInfo", count=None)
    agb_clean_emulator.behaviour.set(history=3)
    agb_clean_emulator.set_task_delay(5)
    agb_clean_emulator.set_task_delay(7, session_id=done)
    named = api.client.get(
        "/sdk/GetContext", params={"name": "reset-named", "allowCreate": "true"}
    )
    assert named.status_code == 200, named.text

    agb_clean_emulator.reset()

    for sid in (hung, done):
        with pytest.raises(LookupError):
            agb_clean_emulator.tasks(sid)
    assert not agb_clean_emulator.context_path("reset-done").exists()
    assert tree(agb_clean_emulator.data_dir / "sessions") == {}
    assert tree(agb_clean_emulator.data_dir / "contexts") == {}
    assert agb_clean_emulator.faults.queued() == []
    assert agb_clean_emulator.behaviour.current == type(agb_clean_emulator.behaviour.current)()
    assert agb_clean_emulator.requests == []
    assert agb_clean_emulator.task_delay == 0
    listed = api.client.get("/sdk/ListContexts").json()
    assert (listed["success"], listed["data"]) == (True, [])
    fresh = agb_clean_emulator.create_session(mounts={"reset-done": "/home/data"})
    assert api.sync(fresh).status_code == 200
    assert wait_final(agb_clean_emulator, fresh)[0].status == "Success"
    assert api.tasks(fresh)[0].status == "Success"


def test_reset_stops_a_copy_in_progress_and_leaves_no_half_copies(
    agb_clean_emulator: Emulator, api: Api
):
    sid = agb_clean_emulator.create_session(mounts={"reset-copy": "/home/data"})
    mount = agb_clean_emulator.session_path(sid, "/home/data")
    for index in range(2000):
        (mount / f"f{index:04}").write_bytes(b"x" * 512)
    api.sync(sid)
    agb_clean_emulator.reset()
    assert tree(agb_clean_emulator.data_dir / "contexts") == {}
    assert tree(agb_clean_emulator.data_dir / "sessions") == {}
    again = agb_clean_emulator.create_session(mounts={"reset-copy": "/home/data"})
    (agb_clean_emulator.session_path(again, "/home/data") / "one.txt").write_text("1")
    api.sync(again)
    assert wait_final(agb_clean_emulator, again)[0].status == "Success"
    assert tree(agb_clean_emulator.context_path("reset-copy")) == {"one.txt": b"1"}


def test_reset_over_http(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"reset-http": "/home/data"})
    agb_clean_emulator.faults.fail_tasks(count=None)
    response = api.admin("POST", "reset")
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    with pytest.raises(LookupError):
        agb_clean_emulator.tasks(sid)
    assert agb_clean_emulator.faults.queued() == []
    assert [(r.method, r.path) for r in agb_clean_emulator.requests] == [
        ("POST", "/emulator/reset")
    ]


class HeldRequest:
    """A status read sent from a thread of its own, which the emulator holds (latency)."""

    def __init__(self, emulator: Emulator, sid: str) -> None:
        self.outcome: list[int | Exception] = []
        self._thread = threading.Thread(target=self._ask, args=(emulator, sid))
        self._thread.start()
        wait_until(lambda: not emulator.wait_idle(0), what="the request to be held")

    def _ask(self, emulator: Emulator, sid: str) -> None:
        with client_for(emulator) as client:
            client.timeout = httpx.Timeout(600)
            try:
                self.outcome.append(Api(client).info(sid).status_code)
            except httpx.HTTPError as exc:
                self.outcome.append(exc)

    def answer(self) -> list[int | Exception]:
        """What it got, once answered (within 60 s; an unanswered one fails the test)."""
        self._thread.join(60)
        assert not self._thread.is_alive(), "the held request was not answered"
        return self.outcome


@pytest.mark.parametrize("how", ["python", "http"])
def test_reset_answers_requests_held_by_a_latency_at_once(
    agb_clean_emulator: Emulator, api: Api, how: str
):
    """A held request of an earlier test never lands in the next one's log or takes
    its faults: reset answers it (503) before emptying the emulator."""
    sid = agb_clean_emulator.create_session(mounts={"reset-held": "/home/data"})
    agb_clean_emulator.faults.set_latency("GetContextInfo", 600, count=None)
    held = HeldRequest(agb_clean_emulator, sid)
    if how == "python":
        agb_clean_emulator.reset()
    else:
        assert api.admin("POST", "reset").status_code == 200
    assert held.answer() == [503]
    # the server counts a request answered just after its last byte left
    assert agb_clean_emulator.wait_idle(10)
    paths = [r.path for r in agb_clean_emulator.requests]
    assert paths == ([] if how == "python" else ["/emulator/reset"])
    agb_clean_emulator.faults.fail_requests("GetContextInfo")
    assert [f.fault for f in agb_clean_emulator.faults.queued()] == ["fail_requests"]


def test_a_clean_emulator_answers_the_requests_an_earlier_test_left_held(
    agb_emulator: Emulator, request: pytest.FixtureRequest
):
    agb_emulator.reset()
    sid = agb_emulator.create_session(mounts={"reset-held": "/home/data"})
    agb_emulator.faults.set_latency("GetContextInfo", 600)
    held = HeldRequest(agb_emulator, sid)
    clean = request.getfixturevalue("agb_clean_emulator")
    assert held.answer() == [503]
    assert clean.requests == []
    assert clean.wait_idle(10)


def test_reset_of_a_stopped_emulator_clears_its_settings():
    emulator = Emulator(task_delay=1)
    emulator.faults.hang_tasks()
    emulator.set_task_delay(3)
    emulator.reset()
    assert emulator.faults.queued() == []
    assert emulator.task_delay == 1


# --- repeatable ids -------------------------------------------------------------------------


def _ids_of_a_run(emulator: Emulator) -> tuple[list[str], list[str]]:
    ids = [emulator.create_session(mounts={"seeded": "/home/data"}) for _ in range(2)]
    with client_for(emulator) as client:
        api = Api(client)
        for sid in ids[:2]:
            api.sync(sid)
            wait_final(emulator, sid)
            api.info(sid)
        made = client.get("/sdk/GetContext", params={"name": "by-name", "allowCreate": "true"})
        ids.append(made.json()["data"]["id"])
    return ids, [r.request_id for r in emulator.requests]


def test_a_seed_makes_session_context_and_request_ids_repeatable(tmp_path: Path):
    runs = []
    for name in ("one", "two"):
        with Emulator(data_dir=tmp_path / name, api_key=API_KEY, seed=42) as emulator:
            runs.append(_ids_of_a_run(emulator))
            emulator.reset()
            runs.append(_ids_of_a_run(emulator))
    assert runs[0] == runs[1] == runs[2] == runs[3]
    ids, request_ids = runs[0]
    assert len(set(ids)) == 3
    assert ids[2].startswith("SdkCtx-")
    assert len(set(request_ids)) == 5
    with Emulator(api_key=API_KEY, seed=43) as other:
        assert _ids_of_a_run(other)[0] != ids
    with Emulator(api_key=API_KEY) as unseeded:
        assert _ids_of_a_run(unseeded)[0] != ids


@pytest.mark.parametrize("seed", [1.5, True, b"x"])
def test_a_seed_is_an_int_or_a_str(seed: object):
    with pytest.raises(ValueError, match="seed"):
        Emulator(seed=seed)  # type: ignore[arg-type]
