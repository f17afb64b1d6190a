"""``agb-context demo``: the whole story on the embedded emulator, in a few seconds.

Real HTTP to an emulator on 127.0.0.1 and real files in a temporary folder:
a context created through `ContextService`, a session that mounts it, files
written into it, an upload awaited
from async code, a second upload with a callback from plain code, ``info``,
then a second session that downloads the context, blocking on the result,
and a byte-for-byte comparison. The folder is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agb_context import (
    ContextManager,
    ContextService,
    ContextSyncResult,
    Session,
    SyncOperation,
)
from agb_context.cli._commands import follow, stdout_console
from agb_context.cli._views import SyncProgress, tasks_table
from agb_context.emulator import Emulator

CONTEXT_NAME = "demo-context"
MOUNT = "/home/demo"
POLL_MS = 100
"""Milliseconds between status polls: the emulator answers at once."""
WAIT_S = 30.0
"""The longest any single step may take before the demo calls it failed."""

FIRST_FILES = {
    "README.txt": b"Files written in session A, uploaded, then downloaded into session B.\n",
    "data/numbers.csv": "\n".join(f"{n},{n * n}" for n in range(1000)).encode() + b"\n",
    "data/blob.bin": bytes(range(256)) * 1024,
}
LATER_FILES = {
    "notes/later.md": b"# Added after the first upload\n\nSent by the callback-style sync.\n",
}


@attrs.define
class Check:
    """One thing the demo verified, and how long the step took."""

    name: str
    ok: bool
    detail: str
    seconds: float


@attrs.define
class Story:
    """Prints the demo step by step and keeps the checks for the summary."""

    console: Console
    checks: list[Check] = attrs.field(factory=list)

    def say(self, text: str) -> None:
        self.console.print(Text(text, style="dim"))

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.console.print()
        self.console.rule(Text(title, style="bold"), align="left")
        yield

    def check(self, name: str, ok: bool, detail: str, started: float) -> bool:
        seconds = time.monotonic() - started
        self.checks.append(Check(name, ok, detail, seconds))
        mark = "[bold green]ok[/]" if ok else "[bold red]FAILED[/]"
        self.console.print(f"{mark} {name}: {detail} [dim]({seconds:.2f}s)[/]")
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


def demo_command(args: argparse.Namespace) -> int:
    """Run the demo; exit code 0 when every check passed, 1 otherwise."""
    return run_demo(stdout_console(fit_content=False), task_delay=args.task_delay)


def run_demo(console: Console, *, task_delay: float = 0.4) -> int:
    """Tell the story on ``console``; returns 0 when every check passed, 1 otherwise."""
    story = Story(console)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agb-context-demo-") as tmp:
        root = Path(tmp)
        with Emulator(data_dir=root / "emulator", task_delay=task_delay) as emu:
            _story(story, emu, task_delay)
    story.check("clean-up", not root.exists(), f"removed {root}", time.monotonic())
    _summary(story, time.monotonic() - started)
    return 0 if story.passed else 1


def _story(story: Story, emu: Emulator, task_delay: float) -> None:
    console = story.console
    with story.step("1. A context, and a session that mounts it"):
        story.say(
            f"The emulator serves the context API at {emu.endpoint} from a temporary "
            f"folder; each sync task takes {task_delay:g}s there."
        )
        story.say(f"service.create({CONTEXT_NAME!r}), then service.get({CONTEXT_NAME!r}):")
        t0 = time.monotonic()
        with ContextService(api_key=emu.api_key, endpoint=emu.endpoint) as service:
            made = service.create(CONTEXT_NAME)
            found = service.get(CONTEXT_NAME)
        ok = made.success and found.success and found.context_id == made.context_id
        detail = (
            f"context {made.context_id} named {CONTEXT_NAME!r}, found again by its name"
            if ok
            else made.error_message or found.error_message
        )
        if not story.check("context created", ok, detail, t0):
            return
        cid = made.context_id
        t0 = time.monotonic()
        session_a = emu.create_session(mounts={cid: MOUNT})
        story.say(f"Session A ({session_a}) has context {cid} mounted at {MOUNT}.")
        mount_a = emu.session_path(session_a, MOUNT)
        written = _write(mount_a, FIRST_FILES)
        story.check(
            "files written",
            _tree(mount_a) == FIRST_FILES,
            f"{len(FIRST_FILES)} files ({written:,} bytes) into {MOUNT} of session A",
            t0,
        )

    with story.step("2. Upload, awaited in async code"):
        story.say(f"result = await cm.sync({cid!r}, {MOUNT!r}, mode='upload')")
        t0 = time.monotonic()
        result = asyncio.run(_awaited_upload(emu, session_a, cid))
        story.check("awaited upload", result.success, _describe(result), t0)

    with Session(session_a, api_key=emu.api_key, endpoint=emu.endpoint) as session:
        with story.step("3. Upload again, with a callback from plain code"):
            _write(mount_a, LATER_FILES)
            story.say(f"Added {', '.join(LATER_FILES)}; then, from plain (not async) code,")
            story.say("session.context.sync(..., callback=on_done) returns at once:")
            t0 = time.monotonic()
            done = threading.Event()
            outcomes: list[bool] = []

            def on_done(success: bool) -> None:
                outcomes.append(success)
                done.set()

            operation = session.context.sync(
                cid, MOUNT, mode="upload", callback=on_done, retry_interval=POLL_MS
            )
            story.say(f"... it returned after {time.monotonic() - t0:.3f}s; waiting for on_done")
            called = done.wait(WAIT_S)
            story.check(
                "callback upload",
                called and outcomes == [True],
                f"on_done({outcomes[0] if outcomes else 'never called'}) was called",
                t0,
            )

        with story.step("4. info: what the server reports"):
            t0 = time.monotonic()
            info = session.context.info(context_id=cid, path=MOUNT)
            uploads = [t for t in info.context_status_data if t.task_type == "upload"]
            if info.context_status_data:
                console.print(tasks_table(info.context_status_data, title="info()"))
            story.check(
                "info",
                info.success and bool(uploads) and all(t.status == "Success" for t in uploads),
                f"{len(info.context_status_data)} task(s) reported"
                if info.success
                else info.error_message,
                t0,
            )

    expected = {**FIRST_FILES, **LATER_FILES}
    with story.step("5. A second session downloads, blocking on the result"):
        session_b = emu.create_session(mounts={cid: MOUNT})
        story.say(f"Session B ({session_b}) mounts the same context at {MOUNT}.")
        story.say("result = session.context.sync(..., mode='download').result()")
        t0 = time.monotonic()
        with Session(session_b, api_key=emu.api_key, endpoint=emu.endpoint) as session:
            operation = session.context.sync(cid, MOUNT, mode="download", retry_interval=POLL_MS)
            _show_progress(console, operation, session_b)
            result = operation.result(timeout=WAIT_S)
        story.check("blocking download", result.success, _describe(result), t0)

    with story.step("6. Are the files the same?"):
        t0 = time.monotonic()
        mount_b = emu.session_path(session_b, MOUNT)
        got = _tree(mount_b) if mount_b.is_dir() else {}
        same = got == expected
        if same:
            detail = f"{len(got)} files in session B byte-identical to session A's"
        else:
            missing = sorted(set(expected) - set(got))
            differing = sorted(n for n in set(expected) & set(got) if expected[n] != got[n])
            detail = f"missing {missing or 'none'}, different {differing or 'none'}"
        story.check("byte-identical", same, detail, t0)
        for name in sorted(got):
            story.say(f"  {name}  sha256 {hashlib.sha256(got[name]).hexdigest()[:16]}")


async def _awaited_upload(emu: Emulator, session_id: str, cid: str) -> ContextSyncResult:
    async with ContextManager(session_id, api_key=emu.api_key, endpoint=emu.endpoint) as cm:
        return await cm.sync(cid, MOUNT, mode="upload", retry_interval=POLL_MS)


def _show_progress(console: Console, operation: SyncOperation, sid: str) -> None:
    """Live per-task progress while the sync runs (only on a terminal)."""
    if not console.is_terminal:
        return
    progress = SyncProgress(sid, "download")
    follow(operation, progress)
    with Live(progress, console=console, refresh_per_second=10, transient=True):
        operation.wait()


def _write(root: Path, files: dict[str, bytes]) -> int:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return sum(map(len, files.values()))


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by its relative POSIX path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _describe(result: ContextSyncResult) -> str:
    if not result.success:
        return result.error_message
    tasks = ", ".join(f"{t.task_type} {t.status}" for t in result.context_status_data)
    return f"{tasks or 'no tasks'}, request id {result.request_id}"


def _summary(story: Story, seconds: float) -> None:
    console = story.console
    console.print()
    table = Table(title="Summary", title_justify="left")
    table.add_column("Check")
    table.add_column("Result")
    table.add_column("Time", justify="right")
    for check in story.checks:
        verdict = Text("ok", style="green") if check.ok else Text("FAILED", style="bold red")
        table.add_row(check.name, verdict, f"{check.seconds:.2f}s")
    console.print(table)
    failed = [check.name for check in story.checks if not check.ok]
    if failed:
        console.print(f"[bold red]Demo failed[/] ({', '.join(failed)}) after {seconds:.1f}s.")
    else:
        console.print(
            f"[bold green]Demo passed[/] in {seconds:.1f}s: a context created, 3 syncs "
            "(awaited, callback, blocking) over real HTTP, files byte-identical, "
            "temporary folder removed."
        )
