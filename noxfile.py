"""Automation: `nox` runs lint, typecheck, check_generated and tests."""

from __future__ import annotations

import difflib
import filecmp
import shutil
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.sessions = ["lint", "typecheck", "check_generated", "tests"]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
SPEC = ROOT / "openapi.yaml"
GENERATOR_CONFIG = ROOT / "openapi-python-client.yaml"
GENERATED = ROOT / "generated" / "agb_context_api"
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def _install_group(session: nox.Session, *groups: str) -> None:
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


def _generate(session: nox.Session, output: Path) -> None:
    _install_group(session, "generate")
    session.run(
        "openapi-python-client",
        "generate",
        "--path",
        str(SPEC),
        "--config",
        str(GENERATOR_CONFIG),
        "--meta",
        "none",
        "--output-path",
        str(output),
        "--overwrite",
        "--fail-on-warning",
    )
    shutil.rmtree(output / ".ruff_cache", ignore_errors=True)


def _tree_diff(old: Path, new: Path) -> list[str]:
    """Unified diff lines between two folders (empty when they are the same)."""
    lines: list[str] = []
    comparison = filecmp.dircmp(old, new, ignore=[".ruff_cache", "__pycache__"])
    pending = [comparison]
    while pending:
        cmp = pending.pop()
        rel = Path(cmp.left).relative_to(old)
        lines += [f"only in {old.name}/{rel / name}\n" for name in cmp.left_only]
        lines += [f"only in the regenerated copy: {rel / name}\n" for name in cmp.right_only]
        for name in cmp.diff_files:
            lines += difflib.unified_diff(
                (Path(cmp.left) / name).read_text().splitlines(keepends=True),
                (Path(cmp.right) / name).read_text().splitlines(keepends=True),
                fromfile=f"committed/{rel / name}",
                tofile=f"regenerated/{rel / name}",
            )
        pending += cmp.subdirs.values()
    return lines


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (check and format), validation of the OpenAPI specs (cloud and emulator admin),
    and the import contracts of pyproject.toml (layers point down only)."""
    _install_group(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("openapi-spec-validator", str(SPEC), str(ROOT / "openapi-emulator.yaml"))
    # The contracts are checked on the source; the install makes both packages findable.
    session.install("--no-deps", "-e", ".")
    session.run("lint-imports", "--no-cache")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the hand-written package, and on the typing checks of its
    public signatures (tests/typing: a typo such as ``mode="uplaod"`` must be an error)."""
    session.install("-e", ".[cli,emulator]")
    _install_group(session, "typecheck")
    session.run("mypy")
    session.run("mypy", "--strict", "tests/typing")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite; extra arguments go to pytest."""
    session.install("-e", ".[cli,emulator]")
    _install_group(session, "test")
    session.run("pytest", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: the whole story on the embedded emulator (`agb-context demo`)."""
    session.install(".[cli]")
    session.run("agb-context", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the emulator: a table of figures and targets, and bench-results.json.

    Not a default session. Extra arguments go to the script (`--quick`, `--json PATH`).
    """
    session.install("-e", ".[emulator]")
    session.run("python", "benchmarks/bench.py", *session.posargs)


@nox.session
def regenerate(session: nox.Session) -> None:
    """Rewrite generated/ from openapi.yaml."""
    _generate(session, GENERATED)


@nox.session
def check_generated(session: nox.Session) -> None:
    """Fail, showing the diff, when generated/ is stale against openapi.yaml."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / GENERATED.name
        _generate(session, fresh)
        diff = _tree_diff(GENERATED, fresh)
    if diff:
        session.error(
            "generated/ is stale: run `nox -s regenerate` and commit the result.\n" + "".join(diff)
        )
    session.log("generated/ matches openapi.yaml")
