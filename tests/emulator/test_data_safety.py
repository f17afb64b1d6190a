"""Data safety: copies that fail half-way, racing uploads; seen through the SDK in every
calling style."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from support import STYLES, Watch, matches, run_sync, tree, wait_until, wait_until_async

from agb_context import ContextManager, ContextSyncResult
from agb_context.emulator import Emulator
from agb_context.emulator.pytest_plugin import ContextManagerFactory

MOUNT = "/home/data"


# --- a copy that fails half-way ------------------------------------------------------------


def _fill(folder: Path, version: str, files: int = 10) -> None:
    for child in sorted(folder.iterdir(), reverse=True):
        if child.is_dir():
            for inner in child.iterdir():
                inner.unlink()
            child.rmdir()
        else:
            child.unlink()
    (folder / "nested").mkdir()
    for index in range(files):
        where = folder / "nested" if index % 2 else folder
        (where / f"{version}-{index}.txt").write_text(f"{version}, file {index}")


MIDWAY = (
    r"sync failed: {cid} at /home/data \({mode}\): {mode} of context {cid} at /home/data "
    r"failed: injected fault: the copy failed after 5 file\(s\)"
)


@pytest.mark.parametrize("style", STYLES)
def test_an_upload_failing_midway_leaves_the_stored_content_intact(
    agb_clean_emulator: Emulator,
    agb_context_manager: ContextManagerFactory,
    watch: Watch,
    style: str,
) -> None:
    cid = f"ctx-midway-{style}"
    sid = agb_clean_emulator.create_session(mounts={cid: MOUNT})
    mount = agb_clean_emulator.session_path(sid, MOUNT)
    _fill(mount, "v1")
    assert agb_context_manager(sid).sync(cid, MOUNT, retry_interval=10).result(timeout=30).success
    stored = agb_clean_emulator.context_path(cid)
    before = tree(stored)
    _fill(mount, "v2")
    mount_before = tree(mount)
    agb_clean_emulator.faults.fail_copy_midway(count=1)

    outcome = run_sync(
        style, agb_context_manager(sid), watch, context_id=cid, path=MOUNT, retry_interval=10
    )

    assert outcome.result is not None
    assert not outcome.result.success
    assert matches(MIDWAY, outcome.result.error_message, cid=cid, mode="upload"), (
        outcome.result.error_message
    )
    assert outcome.calls == (False,)
    assert tree(stored) == before, "the failed upload changed the stored context"
    assert tree(mount) == mount_before, "the failed upload changed the mount"
    assert sorted(p.name for p in stored.parent.iterdir() if p.name.startswith(".")) == []
    # The next upload goes through whole.
    assert agb_context_manager(sid).sync(cid, MOUNT, retry_interval=10).result(timeout=30).success
    assert tree(stored) == tree(mount)
    watch.assert_clean()


def test_a_download_failing_midway_leaves_the_mount_intact(
    agb_clean_emulator: Emulator, agb_context_manager: ContextManagerFactory
) -> None:
    cid = "ctx-midway-download"
    writer = agb_clean_emulator.create_session(mounts={cid: MOUNT})
    _fill(agb_clean_emulator.session_path(writer, MOUNT), "stored")
    assert (
        agb_context_manager(writer).sync(cid, MOUNT, retry_interval=10).result(timeout=30).success
    )
    reader = agb_clean_emulator.create_session(mounts={cid: MOUNT})
    mount = agb_clean_emulator.session_path(reader, MOUNT)
    _fill(mount, "local")
    before = tree(mount)
    stored = agb_clean_emulator.context_path(cid)
    stored_before = tree(stored)
    agb_clean_emulator.faults.fail_copy_midway(count=1)
    cm = agb_context_manager(reader)
    result = cm.sync(cid, MOUNT, mode="download", retry_interval=10).result(timeout=30)
    assert matches(MIDWAY, result.error_message, cid=cid, mode="download"), result.error_message
    assert tree(mount) == before, "the failed download changed the mount"
    assert tree(stored) == stored_before, "the failed download changed the stored context"
    assert sorted(p.name for p in mount.parent.iterdir() if p.name.startswith(".")) == []
    assert cm.sync(cid, MOUNT, mode="download", retry_interval=10).result(timeout=30).success
    assert tree(mount) == tree(agb_clean_emulator.context_path(cid))


# --- racing uploads of one context ---------------------------------------------------------


def _version(index: int) -> dict[str, bytes | None]:
    """The content session ``index`` uploads: its own file names and bytes."""
    files: dict[str, bytes | None] = {"nested": None, "version.txt": f"v{index}".encode()}
    for part in range(index % 3 + 2):
        files[f"nested/part-{part}-of-v{index}.txt"] = f"v{index} part {part}".encode() * 50
    return files


def test_racing_uploads_of_one_context_leave_exactly_one_version(
    make_emulator: Callable[..., Emulator], watch: Watch
) -> None:
    """100 concurrent uploads from 25 sessions, 10 of them failing half-way, and downloads.

    The stored context ends as the upload that finished last made it; every
    download got one whole version; nothing is ever a mix.
    """
    emu = make_emulator()
    cid, writers, per_writer, readers = "ctx-raced", 25, 4, 5
    sids = [emu.create_session(mounts={cid: MOUNT}) for _ in range(writers)]
    versions = {sid: _version(index) for index, sid in enumerate(sids)}
    for sid, files in versions.items():
        root = emu.session_path(sid, MOUNT)
        for name, content in files.items():
            path = root / name
            if content is None:
                path.mkdir()
            else:
                path.write_bytes(content)
    reader_sids = [emu.create_session(mounts={cid: "/home/reader"}) for _ in range(readers)]
    emu.faults.fail_copy_midway(count=10)

    async def race() -> tuple[list[ContextSyncResult], list[ContextSyncResult]]:
        watch.watch_running_loop()
        managers = [
            ContextManager(sid, api_key=emu.api_key, endpoint=emu.endpoint)
            for sid in [*sids, *reader_sids]
        ]
        syncs = [
            cm.sync(cid, MOUNT, retry_interval=20, max_retries=1000)
            for cm in managers[:writers]
            for _ in range(per_writer)
        ]
        # Downloads start once half the uploads are queued: they run between the others,
        # after the first (failing) ones, so there is always a whole version to fetch.
        await wait_until_async(
            lambda: sum(op.request_id is not None for op in syncs) >= len(syncs) // 2,
            60,
            "half of the uploads to be accepted",
        )
        downloads = [
            cm.sync(cid, "/home/reader", mode="download", retry_interval=20, max_retries=1000)
            for cm in managers[writers:]
        ]
        uploaded = list(await asyncio.gather(*syncs))
        downloaded = list(await asyncio.gather(*downloads))
        for cm in managers:
            await cm.aclose()
        return uploaded, downloaded

    uploaded, downloaded = asyncio.run(race())

    failed = [r for r in uploaded if not r.success]
    assert all("injected fault: the copy failed" in r.error_message for r in failed)
    tasks = {sid: emu.tasks(sid) for sid in sids}
    assert sum(len(t) for t in tasks.values()) == writers * per_writer
    assert sum(t.status == "Failed" for ts in tasks.values() for t in ts) == 10
    finished = [
        (t.final_monotonic, sid)
        for sid, ts in tasks.items()
        for t in ts
        if t.status == "Success" and t.final_monotonic is not None
    ]
    assert len(finished) == writers * per_writer - 10
    last_writer = max(finished)[1]
    stored = emu.context_path(cid)
    assert tree(stored) == versions[last_writer], "the stored context is not the last upload"
    whole = list(versions.values())
    for reader, result in zip(reader_sids, downloaded, strict=True):
        assert result.success, result.error_message
        got = tree(emu.session_path(reader, "/home/reader"))
        assert got in whole, "a download got a mix of versions"
    assert [p.name for p in stored.parent.iterdir()] == [cid], "leftovers beside the context"
    wait_until(lambda: all(t.is_final for ts in tasks.values() for t in ts))
    watch.assert_clean()
