"""Every Python example of README.md runs against the emulator, so the docs cannot rot.

Plain examples run in this process, in README order, each with ``session_id``
set to a fresh emulator session (context ``ctx-a`` mounted at ``/home/data``,
one upload already done)
and ``AGB_API_KEY`` / ``AGB_ENDPOINT`` pointing at the emulator. Examples that
define ``test_*`` functions are pytest files: they run under pytest in a
subprocess. Tracebacks point at README.md lines.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from agb_context import ContextManager
from agb_context.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(
    r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL
)

# What some examples must print, keyed by a line of their code.
EXPECTED_OUTPUT = {
    'cm.sync("ctx-a", "/home/data", callback=on_done)': "sync succeeded",
    'result = await cm.sync("ctx-a", "/home/data", mode="upload")': "True ",
    "for task in info.context_status_data:": "ctx-a /home/data upload: Success (finished)",
    'with ContextManager("no-such-session") as cm:': "False no session 'no-such-session'",
    'created = service.create("project-data")': "deleted: True",
    'made = await service.create_async("async-data")': " True\n",
    'cid = service.create("reports").context_id': "downloaded: True 15",
}


@attrs.frozen
class Example:
    line: int
    """The README line of the example's first line of code."""
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def examples(lang: str | None = None) -> list[Example]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("code")) + 1
        found.append(Example(line, match["lang"], match["code"]))
    return [e for e in found if lang is None or e.lang == lang]


PYTHON = examples("python")


def test_the_top_gives_the_two_fresh_machine_commands() -> None:
    first = examples()[0]
    assert first.lang == "bash"
    lines = [line for line in first.code.splitlines() if not line.startswith("#")]
    assert lines == ["pip install nox && nox -s demo", "pip install nox && nox"]
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    assert "def demo(session" in noxfile
    assert '"agb-context", "demo"' in noxfile


def test_the_readme_has_the_examples_it_promises() -> None:
    codes = "\n".join(example.code for example in PYTHON)
    for needle in (
        "await cm.sync(",
        "callback=on_done",
        ".result(timeout=",
        "cm.info(",
        'logging.getLogger("agb_context")',
        "Emulator(",
        "def test_",
        "service.iter_contexts()",
        "service.iter_contexts_async(",
    ):
        assert needle in codes, f"no README example uses {needle}"
    assert all(key in codes for key in EXPECTED_OUTPUT), "EXPECTED_OUTPUT names a lost example"


@pytest.fixture(scope="module")
def readme_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(data_dir=tmp_path_factory.mktemp("readme-emulator"), task_delay=0.05) as emu:
        yield emu


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Examples may configure logging; put it back as it was."""
    root = logging.getLogger()
    sdk = logging.getLogger("agb_context")
    saved = (root.level, list(root.handlers), sdk.level, list(sdk.handlers))
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    sdk.setLevel(saved[2])
    sdk.handlers[:] = saved[3]


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("example", PYTHON, ids=lambda e: e.id)
def test_python_example_runs(
    example: Example,
    readme_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    readme_emulator.faults.clear()
    monkeypatch.setenv("AGB_API_KEY", readme_emulator.api_key)
    monkeypatch.setenv("AGB_ENDPOINT", readme_emulator.endpoint)
    monkeypatch.delenv("AGB_TIMEOUT_MS", raising=False)
    if "def test_" in example.code:
        _run_as_pytest_file(example, tmp_path)
        return
    session_id = _session_with_history(readme_emulator)
    code = compile("\n" * (example.line - 1) + example.code, str(README), "exec")
    exec(code, {"__name__": "readme_example", "session_id": session_id})
    printed = capsys.readouterr().out
    for key, expected in EXPECTED_OUTPUT.items():
        if key in example.code:
            assert expected in printed, f"{example.id} printed:\n{printed}"


def _session_with_history(emu: Emulator) -> str:
    """A new session with ``ctx-a`` at ``/home/data``, a file in it, and one upload done."""
    sid = emu.create_session(mounts={"ctx-a": "/home/data"})
    (emu.session_path(sid, "/home/data") / "notes.txt").write_text("hi\n")
    with ContextManager(sid, api_key=emu.api_key, endpoint=emu.endpoint) as cm:
        result = cm.sync("ctx-a", "/home/data", retry_interval=20).result(timeout=30)
    assert result.success, result.error_message
    return sid


def _run_as_pytest_file(example: Example, tmp_path: Path) -> None:
    target = tmp_path / "test_readme_example.py"
    target.write_text("\n" * (example.line - 1) + example.code, encoding="utf-8")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-p", "agb_context.emulator.pytest_plugin"),  # what the entry point loads
            str(target),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{example.id} failed under pytest:\n{done.stdout}{done.stderr}"
    assert re.search(r"\b[1-9][0-9]* passed\b", done.stdout), done.stdout
