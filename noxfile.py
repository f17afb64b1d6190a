"""Automation: `nox` runs lint, typecheck, check_generated, docs, build and tests (each Python)."""

from __future__ import annotations

import difflib
import filecmp
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.sessions = ["lint", "typecheck", "check_generated", "docs", "build", "tests"]
# A Python that is not installed is skipped here, and an error when CI is set
# (nox's own default): CI runs the tests on every version below.

ROOT = Path(__file__).parent
PYTHONS = ["3.11", "3.12", "3.13"]
"""The supported versions (the classifiers in pyproject.toml name the same)."""
SPEC = ROOT / "openapi.yaml"
GENERATOR_CONFIG = ROOT / "openapi-python-client.yaml"
GENERATED = ROOT / "generated" / "agb_context_api"
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def _expose_pyenv_versions() -> None:
    """Let nox find pyenv's installed Pythons as ``python3.X``.

    pyenv's shims answer only for the versions it has activated; for the
    others, a folder of links to the newest installed patch release of each
    supported version goes first on PATH.
    """
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    links = ROOT / ".nox" / "pythons"
    for version in PYTHONS:
        name = f"python{version}"
        found = sorted(versions.glob(f"{version}.*/bin/{name}"), key=_release)
        if not found or _runs(name):
            continue
        links.mkdir(parents=True, exist_ok=True)
        link = links / name
        link.unlink(missing_ok=True)
        link.symlink_to(found[-1])
    if links.is_dir():
        os.environ["PATH"] = f"{links}{os.pathsep}{os.environ.get('PATH', '')}"


def _release(python: Path) -> tuple[int, ...]:
    """The version of pyenv's ``versions/X.Y.Z/bin/pythonX.Y``, as numbers (``3.12.1t``: 3, 12)."""
    return tuple(int(part) for part in python.parents[1].name.split(".") if part.isdigit())


def _runs(command: str) -> bool:
    """Whether ``command`` on PATH starts (a pyenv shim of an inactive version does not)."""
    if shutil.which(command) is None:
        return False
    done = subprocess.run([command, "-c", ""], capture_output=True, check=False)
    return done.returncode == 0


_expose_pyenv_versions()


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
    public signatures (tests/project/typing: a typo such as ``mode="uplaod"`` must be an error)."""
    session.install("-e", ".[cli,emulator]")
    _install_group(session, "typecheck")
    session.run("mypy")
    session.run("mypy", "--strict", "tests/project/typing")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite on each supported Python; extra arguments go to pytest.

    Without arguments it runs in 4 worker processes (pytest-xdist): most tests
    wait on the emulator rather than compute, so 4 keep 2 cores busy.
    """
    session.install("-e", ".[cli,emulator]")
    _install_group(session, "test")
    session.run("pytest", *(session.posargs or ["--numprocesses", "4"]))


@nox.session
def docs(session: nox.Session) -> None:
    """The HTML API reference, from the docstrings, into site/ (warnings are errors)."""
    _install_group(session, "docs")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))
    session.log(f"open {ROOT / 'site' / 'index.html'}")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: the whole story on the embedded emulator (`agb-context demo`)."""
    session.install(".[cli]")
    session.run("agb-context", "demo", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Release check: sdist and wheel into dist/, `twine check`, then the wheel on its own.

    The wheel (built from the sdist) is installed in fresh virtual environments
    outside the source tree: with the ``cli`` extra it must run
    ``agb-context demo``; without extras it must import and say which extra
    the command line needs.
    """
    _install_group(session, "release")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    built = sorted(dist.iterdir())
    session.run("twine", "check", "--strict", *map(str, built))
    wheel = next(path for path in built if path.suffix == ".whl")
    # Run from a temporary folder, so that the source tree is not importable.
    with (
        tempfile.TemporaryDirectory(prefix="agb-context-release-") as tmp,
        session.chdir(tmp),
    ):
        full = _fresh_venv(session, Path(tmp) / "with-cli", f"{wheel}[cli]")
        session.run(str(full / "agb-context"), "demo", external=True)
        core = _fresh_venv(session, Path(tmp) / "core", str(wheel))
        session.run(
            str(core / "python"),
            "-c",
            "import agb_context; print('agb_context', agb_context.__version__)",
            external=True,
        )
        session.run(str(core / "agb-context"), "demo", success_codes=[2], external=True)


def _fresh_venv(session: nox.Session, where: Path, requirement: str) -> Path:
    """A new virtual environment with only ``requirement`` installed; returns its bin folder."""
    session.run("python", "-m", "venv", str(where))
    bin_dir = where / "bin"
    session.run(
        str(bin_dir / "python"), "-m", "pip", "install", "--quiet", requirement, external=True
    )
    return bin_dir


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
