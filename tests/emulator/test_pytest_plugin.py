"""The pytest plugin shipped with the emulator extra, run as its users run it: pytest in a
subprocess on a test file of theirs, alone and under pytest-xdist."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

USER_TESTS = """
import json
import time
from pathlib import Path

from agb_context.emulator.pytest_plugin import fast_polling

REPORT = Path(__file__).with_name("report-" + __import__("os").environ.get(
    "PYTEST_XDIST_WORKER", "main") + ".jsonl")


def note(**facts):
    with REPORT.open("a") as report:
        report.write(json.dumps(facts) + "\\n")


def polls(emulator, count):
    # when the first `count` GetContextInfo requests arrived (waits for them)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        arrived = [r.monotonic for r in emulator.requests if r.path == "/sdk/GetContextInfo"]
        if len(arrived) >= count:
            return arrived[:count]
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} polls in 120 s")


def test_a_sync_polls_fast_by_default(agb_clean_emulator, agb_context_manager):
    emulator = agb_clean_emulator
    sid = emulator.create_session(mounts={"ctx-a": "/home/data"})
    (emulator.session_path(sid, "/home/data") / "secret.txt").write_text("left behind")
    cm = agb_context_manager(sid)
    result = cm.sync("ctx-a", "/home/data").result(timeout=60)
    assert result.success, result.error_message
    emulator.clear_requests()
    emulator.faults.hang_tasks(count=None)
    watched = cm.sync("ctx-a", "/home/data")
    # 10 waits between polls of a task that never ends: at least 15 s with the default
    # policy (1.5 s apart), whatever the load; 10 ms apart leaves room for slow answers
    arrived = polls(emulator, 12)[1:]
    assert arrived[-1] - arrived[0] < 15, arrived
    assert not watched.done()
    note(test="first", data_dir=str(emulator.data_dir), session=sid)


def test_the_next_test_starts_empty(agb_clean_emulator, agb_context_manager):
    emulator = agb_clean_emulator
    assert emulator.requests == []
    assert emulator.faults.queued() == []
    assert emulator.task_delay == 0
    assert not emulator.context_path("ctx-a").exists()
    sid = emulator.create_session(mounts={"ctx-a": "/home/data"})
    cm = agb_context_manager(sid, timeout=30)
    result = cm.sync("ctx-a", "/home/data", mode="download").result(timeout=60)
    assert not result.success
    assert "no stored content" in result.error_message
    note(test="second", data_dir=str(emulator.data_dir), session=sid)


def test_explicit_polling_is_kept(agb_clean_emulator, agb_context_manager):
    sid = agb_clean_emulator.create_session(mounts={"ctx-a": "/home/data"})
    cm = agb_context_manager(sid)
    result = cm.sync("ctx-a", "/home/data", max_retries=50, retry_interval=20).result(timeout=60)
    assert result.success, result.error_message
    assert fast_polling().interval == 0.01
    note(test="third", data_dir=str(agb_clean_emulator.data_dir), session=sid)


def test_the_session_emulator_is_shared(agb_emulator, agb_clean_emulator):
    assert agb_emulator is agb_clean_emulator
    note(test="fourth", data_dir=str(agb_emulator.data_dir), session="")


def test_a_service_is_bound_to_the_emulator(agb_context_service, agb_clean_emulator):
    created = agb_context_service.create("user-data")
    assert created.success, created.error_message
    assert [c.name for c in agb_context_service.list().contexts] == ["user-data"]
    assert agb_clean_emulator.requests, "the service called the emulator"
    note(test="fifth", data_dir=str(agb_clean_emulator.data_dir), session="")


def contexts_of_the_account():
    \"\"\"Code under test: it makes its own clients from the environment.\"\"\"
    from agb_context import ContextManager, ContextService

    with ContextService() as service:
        names = [c.name for c in service.list().contexts]
    with ContextManager("s-env") as cm:
        info = cm.info()
    return names, info


def test_code_reading_the_environment_reaches_the_emulator(agb_emulator_env):
    import os

    assert os.environ["AGB_ENDPOINT"] == agb_emulator_env.endpoint
    names, info = contexts_of_the_account()
    assert names == []
    assert info.http_status == 404, info.error_message
    paths = {r.path for r in agb_emulator_env.requests}
    assert paths == {"/sdk/ListContexts", "/sdk/GetContextInfo"}, paths
    note(test="sixth", data_dir=str(agb_emulator_env.data_dir), session="")


def test_the_environment_is_restored(agb_clean_emulator):
    import os

    assert "AGB_ENDPOINT" not in os.environ and "AGB_API_KEY" not in os.environ
    note(test="seventh", data_dir=str(agb_clean_emulator.data_dir), session="")
"""


def run_pytest(
    folder: Path, *args: str, autoload: bool = True
) -> subprocess.CompletedProcess[str]:
    (folder / "test_user_code.py").write_text(USER_TESTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGB_", "PYTEST_"))}
    # In the order written: each test checks what the one before it left (no random order).
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += args
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        command += ["-p", "agb_context.emulator.pytest_plugin"]
    return subprocess.run(
        [*command, "test_user_code.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def reports(folder: Path) -> list[dict[str, str]]:
    return [
        json.loads(line)
        for report in sorted(folder.glob("report-*.jsonl"))
        for line in report.read_text().splitlines()
    ]


def test_the_fixtures_load_from_the_entry_point_and_keep_tests_apart(tmp_path: Path):
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b7 passed\b", done.stdout), done.stdout
    noted = reports(tmp_path)
    assert [n["test"] for n in noted] == [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
    ]
    assert len({n["data_dir"] for n in noted}) == 1
    assert noted[0]["session"] != noted[1]["session"]


def test_the_fixtures_are_safe_under_xdist(tmp_path: Path):
    done = run_pytest(tmp_path, "-p", "xdist.plugin", "-n", "2", autoload=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b7 passed\b", done.stdout), done.stdout
    noted = reports(tmp_path)
    assert len(noted) == 7
    by_worker = {
        report.name: {n["data_dir"] for n in map(_load, report.read_text().splitlines())}
        for report in tmp_path.glob("report-gw*.jsonl")
    }
    data_dirs = [next(iter(dirs)) for dirs in by_worker.values()]
    assert all(len(dirs) == 1 for dirs in by_worker.values())
    assert len(set(data_dirs)) == len(data_dirs), "each worker has an emulator of its own"


def _load(line: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(line)
    return loaded


BLOCK_SERVER_LIBRARIES = """
import sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("starlette", "uvicorn"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
import agb_context.emulator.pytest_plugin
try:
    from agb_context.emulator import Emulator
except ImportError as exc:
    print(exc)
"""


def test_the_plugin_loads_without_the_server_libraries():
    """pytest loads every installed plugin: on an install without the emulator extra, this
    one must load, and the emulator then says which extra to install."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_SERVER_LIBRARIES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'agb-context[emulator]'" in done.stdout
