"""The command line on an install without its extras: one line naming the extra, exit code 2.

A second install of the package per test would be slow; instead the CLI runs
in a subprocess whose import system refuses the optional libraries, as an
interpreter without them would.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys

import pytest
from support import Run, base_env

from agb_context.cli._app import EXTRAS, REQUIRES

WITHOUT = """
import sys

class Absent:
    '''Refuses to import the libraries named in argv[1], as if they were not installed.'''

    def __init__(self, names):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent(set(sys.argv[1].split(","))))
if sys.argv[2] == "-m":
    import runpy

    sys.argv = [sys.argv[3], *sys.argv[4:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
from agb_context.cli import main
raise SystemExit(main(sys.argv[2:]))
"""

CORE_ONLY = ("rich", "starlette", "uvicorn")
EMULATOR_EXTRA_ONLY = ("rich",)
KEY = "key-that-must-stay-hidden"


def run_without(absent: tuple[str, ...], *args: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT, ",".join(absent), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=base_env(AGB_API_KEY=KEY),
        timeout=60,
        check=False,
    )
    return Run(tuple(args), done.returncode, done.stdout, done.stderr)


COMMANDS = [
    ("info", "--session", "s-1"),
    ("sync", "--session", "s-1", "--json"),
    ("contexts", "list"),
    ("files", "ls", "SdkCtx-1", "--json"),
    ("demo",),
    ("emulator", "--port", "0"),
    ("info", "--help"),
    ("emulator", "--help"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_core_install_names_the_extra_to_install(args: tuple[str, ...]) -> None:
    run = run_without(CORE_ONLY, *args)
    assert run.code == 2, run
    line = run.error_line()
    assert line.startswith(f"agb-context {args[0]}: error: ")
    extra = "emulator" if args[0] == "emulator" else "cli"
    assert f"pip install 'agb-context[{extra}]'" in line
    if "--json" in args:
        document = json.loads(run.out)
        assert (document["success"], document["error_kind"]) == (False, "configuration")
        assert line.endswith(document["error_message"])
    else:
        assert run.out == ""
    assert KEY not in run.err


@pytest.mark.parametrize("args", [("--help",), ("--version",)], ids=" ".join)
def test_core_install_still_answers_help_and_version(args: tuple[str, ...]) -> None:
    run = run_without(CORE_ONLY, *args)
    assert run.code == 0, run.err
    assert "agb-context" in run.out.splitlines()[0]
    assert run.err == ""


def test_the_emulator_extra_alone_runs_the_emulator_command() -> None:
    run = run_without(EMULATOR_EXTRA_ONLY, "emulator", "--help")
    assert run.code == 0, run.err
    assert run.out.startswith("usage: agb-context emulator")


@pytest.mark.parametrize("command", ["info", "sync", "contexts", "files", "demo"])
def test_the_emulator_extra_alone_asks_for_the_cli_extra(command: str) -> None:
    run = run_without(EMULATOR_EXTRA_ONLY, command, "--session", "s-1")
    assert run.code == 2, run
    line = run.error_line()
    assert "needs rich," in line
    assert "pip install 'agb-context[cli]'" in line


def test_the_table_of_extras_matches_the_package_metadata() -> None:
    declared: dict[str, set[str]] = {}
    for requirement in importlib.metadata.requires("agb-context") or []:
        found = re.match(r"([A-Za-z0-9_.-]+)[^;]*;\s*extra\s*==\s*['\"](\w+)['\"]", requirement)
        if found:
            declared.setdefault(found.group(2), set()).add(found.group(1).lower())
    for module, extra in EXTRAS.items():
        assert module in declared.get(extra, set()), (module, extra, declared)
    assert {module for needs in REQUIRES.values() for module in needs} <= set(EXTRAS)


def test_the_emulator_module_on_a_core_install_names_the_emulator_extra() -> None:
    run = run_without(CORE_ONLY, "-m", "agb_context.emulator", "--port", "0")
    assert run.code == 2, run
    assert "Traceback" not in run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("python -m agb_context.emulator: error: ")
    assert "pip install 'agb-context[emulator]'" in lines[0]
    assert run.out == ""
