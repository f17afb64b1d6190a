"""What the local file system holds, met by `ContextService`'s transfers: folders that
cannot be read, files that go away, special files, and the local path arguments."""

from __future__ import annotations

import asyncio
import json
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import CannedServer

from agb_context import ContextService, NotFoundError
from agb_context.emulator import Emulator


@pytest.fixture
def cid(service: ContextService) -> str:
    return service.create(f"trees-{uuid.uuid4().hex}").context_id


def _stored(emulator: Emulator, cid: str) -> list[str]:
    root = emulator.context_path(cid)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _transfer_requests(emulator: Emulator) -> list[str]:
    """The requests a transfer makes (the fixture's own, creating the context, aside)."""
    return [r.path for r in emulator.requests if r.path != "/sdk/GetContext"]


def test_a_folder_that_cannot_be_read_fails_the_upload_instead_of_being_left_out(
    service: ContextService,
    cid: str,
    tmp_path: Path,
    agb_clean_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
):
    source = tmp_path / "tree"
    (source / "locked").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "locked" / "b.txt").write_text("b")
    # Tests run as root, who reads any folder: the refusal another user gets is simulated.
    scandir = os.scandir

    def refusing(path: Any = ".") -> Any:
        if Path(path) == source / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    up = service.upload_dir(cid, source, "/up")
    assert not up.success, "a folder left out would pass part of the tree off as all of it"
    assert [(f.file_path, f.success) for f in up.files] == [
        ("/up/a.txt", True),
        ("/up/locked", False),
    ]
    refused = up.files[1]
    assert (refused.error_kind, refused.retryable) == ("invalid_argument", False)
    assert refused.local_path == str(source / "locked")
    assert "could not be read: Permission denied" in refused.error_message
    assert "1 of 2 files failed" in up.error_message
    assert _stored(agb_clean_emulator, cid) == ["up/a.txt"]


def test_a_file_removed_after_the_tree_was_read_fails_that_file_only(
    service: ContextService,
    cid: str,
    tmp_path: Path,
    agb_clean_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
):
    source = tmp_path / "tree"
    source.mkdir()
    for name in ("a.txt", "b.txt"):
        (source / name).write_text(name)
    walk = os.walk

    def then_removed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from walk(*args, **kwargs)
        (source / "a.txt").unlink()  # by another program, once the tree was read

    monkeypatch.setattr(os, "walk", then_removed)
    up = service.upload_dir(cid, source)
    assert [(f.file_path, f.success) for f in up.files] == [("/a.txt", False), ("/b.txt", True)]
    assert up.files[0].error_kind == "invalid_argument"
    assert _stored(agb_clean_emulator, cid) == ["b.txt"]


def test_a_file_refused_in_a_folder_upload_is_named_in_its_result(
    service: ContextService, cid: str, tmp_path: Path, agb_clean_emulator: Emulator
):
    source = tmp_path / "tree"
    source.mkdir()
    (source / "ok.txt").write_text("ok")
    (source / "a\\b.txt").write_text("a backslash is a name's character here, a separator there")
    up = service.upload_dir(cid, source, "/up")
    assert [(f.file_path, f.success) for f in up.files] == [
        ("/up/a\\b.txt", False),
        ("/up/ok.txt", True),
    ]
    refused = up.files[0]
    assert (refused.error_kind, refused.context_id) == ("invalid_argument", cid)
    assert refused.local_path == str(source / "a\\b.txt")
    assert _stored(agb_clean_emulator, cid) == ["up/ok.txt"]


def test_links_and_special_files_are_left_out_of_a_folder_upload(
    service: ContextService, cid: str, tmp_path: Path, agb_clean_emulator: Emulator
):
    source = tmp_path / "tree"
    source.mkdir()
    (source / "real.txt").write_text("real")
    (source / "link.txt").symlink_to(source / "real.txt")
    (source / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(source / "pipe")  # reading it would wait for a writer for ever
    up = service.upload_dir(cid, source)
    assert up.success, up.error_message
    assert [f.file_path for f in up.files] == ["/real.txt"]
    assert _stored(agb_clean_emulator, cid) == ["real.txt"]


class _BytesPath(os.PathLike[bytes]):
    def __fspath__(self) -> bytes:
        return b"/tmp/bytes-path"


def _each_transfer(service: ContextService, cid: str, local: Any) -> dict[str, Any]:
    return {
        "upload_file": service.upload_file(cid, local, "/x.txt"),
        "download_file": service.download_file(cid, "/x.txt", local),
        "upload_dir": service.upload_dir(cid, local),
        "download_dir": service.download_dir(cid, "/", local),
    }


@pytest.mark.parametrize("local", ["in\x00side", _BytesPath()], ids=["nul", "bytes"])
def test_an_unusable_local_path_is_a_result_naming_it_before_any_request(
    service: ContextService,
    cid: str,
    tmp_path: Path,
    agb_clean_emulator: Emulator,
    local: Any,
):
    if isinstance(local, str):
        local = str(tmp_path / local)
    for call, result in _each_transfer(service, cid, local).items():
        assert (call, result.success, result.error_kind) == (call, False, "invalid_argument")
        assert "local_" in result.error_message, (call, result.error_message)
    assert _transfer_requests(agb_clean_emulator) == []


def test_a_local_path_starting_with_a_tilde_is_in_the_home_folder_for_every_transfer(
    service: ContextService, cid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = tmp_path / "home"
    (home / "tree").mkdir(parents=True)
    (home / "tree" / "a.txt").write_text("a")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    up = service.upload_dir(cid, "~/tree", "/t")
    assert up.success, up.error_message
    down = service.download_dir(cid, "/t", "~/back")
    assert down.success, down.error_message
    assert [f.local_path for f in down.files] == [str(home / "back" / "a.txt")]
    assert (home / "back" / "a.txt").read_text() == "a"
    assert service.download_file(cid, "/t/a.txt", "~/one.txt").success
    assert service.upload_file(cid, "~/one.txt", "/one.txt").success
    assert not (tmp_path / "~").exists(), "no folder named '~' in the working directory"


def test_a_download_into_a_file_is_refused_before_any_request(
    service: ContextService, cid: str, tmp_path: Path, agb_clean_emulator: Emulator
):
    stored = agb_clean_emulator.context_path(cid) / "d"
    stored.mkdir(parents=True)
    (stored / "a.txt").write_text("a")
    in_the_way = tmp_path / "not-a-folder"
    in_the_way.write_text("keep me")
    result = service.download_dir(cid, "/d", in_the_way)
    assert (result.success, result.error_kind, result.files) == (False, "invalid_argument", ())
    assert "local_dir" in result.error_message
    assert "is not a folder" in result.error_message
    assert _transfer_requests(agb_clean_emulator) == []
    assert in_the_way.read_text() == "keep me"


def test_a_folder_listed_inside_itself_is_followed_once_and_each_file_fetched_once(
    tmp_path: Path,
):
    """Every folder's listing names the folder ``/d`` and the file ``/d/x.txt`` twice (a
    server's repeat, or a page shifted by a file added meanwhile): following ``/d``
    each time it is listed would never end."""
    entries = [
        {"fileName": "d", "filePath": "/d", "fileType": "folder", "size": 0},
        {"fileName": "x.txt", "filePath": "/d/x.txt", "fileType": "file", "size": 1},
        {"fileName": "x.txt", "filePath": "/d/x.txt", "fileType": "file", "size": 1},
    ]
    with (
        CannedServer() as canned,
        ContextService(api_key="k-canned", endpoint=canned.endpoint) as service,
    ):
        canned.answer(200, json.dumps({"success": True, "data": entries}).encode(), "POST")
        result = asyncio.run(
            asyncio.wait_for(service.download_dir_async("SdkCtx-x", "/", tmp_path / "out"), 60)
        )
    # the canned answer holds no URL: the one download fails, and says so
    assert [(f.file_path, f.error_kind) for f in result.files] == [
        ("/d/x.txt", "unreadable_response")
    ]


def test_an_empty_file_goes_both_ways_and_its_progress_is_reported(
    service: ContextService, cid: str, tmp_path: Path, agb_clean_emulator: Emulator
):
    """A progress bar waits for done == total: an empty file reports (0, 0) once."""
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    seen: list[tuple[int, int]] = []
    up = service.upload_file(cid, empty, "/empty", progress=lambda d, t: seen.append((d, t)))
    assert (up.success, up.size, seen) == (True, 0, [(0, 0)])
    assert agb_clean_emulator.context_path(cid).joinpath("empty").read_bytes() == b""
    seen.clear()
    copy = tmp_path / "copy"
    copy.write_text("replaced by nothing")
    down = service.download_file(cid, "/empty", copy, progress=lambda d, t: seen.append((d, t)))
    assert (down.success, down.size, seen) == (True, 0, [(0, 0)])
    assert copy.read_bytes() == b""
    seen.clear()
    whole = service.download_dir(cid, "/", tmp_path / "back", progress=lambda *p: seen.append(p))
    assert (whole.success, seen) == (True, [(0, 0)])


def test_a_progress_callback_that_raises_is_dropped_once_for_the_whole_tree(
    service: ContextService, cid: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    source = tmp_path / "tree"
    source.mkdir()
    for n in range(5):
        (source / f"f{n}.txt").write_text("x" * n)
    calls: list[tuple[int, int]] = []

    def broken(done: int, total: int) -> None:
        calls.append((done, total))
        raise ValueError("broken callback")

    up = service.upload_dir(cid, source, concurrency=1, progress=broken)
    assert up.success, up.error_message
    assert len(calls) == 1, "not called again once it raised"
    logged = [r for r in caplog.records if r.name == "agb_context" and r.exc_info]
    assert len(logged) == 1, [r.getMessage() for r in logged]


def test_the_async_folder_transfers_of_a_closed_service_raise_as_the_blocking_ones_do(
    service: ContextService, cid: str, tmp_path: Path
):
    empty = tmp_path / "empty"
    empty.mkdir()
    service.close()

    async def each() -> int:
        raised = 0
        for call in (
            service.upload_dir_async(cid, empty),
            service.download_dir_async(cid, "/", empty),
            service.upload_file_async(cid, tmp_path, "/x"),
            service.download_file_async(cid, "/x", empty / "x"),
        ):
            with pytest.raises(RuntimeError, match="ContextService is closed"):
                await call
            raised += 1
        return raised

    assert asyncio.run(each()) == 4


def test_a_folder_transfer_holds_a_task_per_file_moving_not_per_file_in_the_tree(
    service: ContextService, cid: str, tmp_path: Path, agb_clean_emulator: Emulator
):
    """A tree of a million files must not mean a million tasks waiting their turn."""
    source = tmp_path / "tree"
    source.mkdir()
    for n in range(30):
        (source / f"f{n:02}.txt").write_text("x")
    most: list[int] = []

    def count_tasks(done: int, total: int) -> None:  # called on the loop moving the files
        most.append(len(asyncio.all_tasks()))

    async def both_ways() -> None:
        async with ContextService(
            api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as svc:
            up = await svc.upload_dir_async(cid, source, "/t", concurrency=2, progress=count_tasks)
            assert up.success, up.error_message
            down = await svc.download_dir_async(
                cid, "/t", tmp_path / "back", concurrency=2, progress=count_tasks
            )
            assert (down.success, len(down.files)) == (True, 30), down.error_message

    asyncio.run(both_ways())
    assert len(most) == 60
    assert max(most) <= 1 + 2, "this one and the two moving files"


def test_a_large_file_moves_both_ways_in_memory_that_does_not_grow_with_it(
    service: ContextService, cid: str, tmp_path: Path
):
    """Streamed a chunk at a time: the peak is far below the file's size. The emulator
    runs in this process and streams too, so the peak bounds both ends together."""
    size = 48 * 1024 * 1024
    source = tmp_path / "large.bin"
    with source.open("wb") as out:
        for _ in range(size // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    warm = tmp_path / "warm.bin"
    warm.write_bytes(b"w" * 1000)
    assert service.upload_file(cid, warm, "/warm.bin").success  # first-use imports and caches
    assert service.download_file(cid, "/warm.bin", tmp_path / "warm-copy.bin").success
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        up = service.upload_file(cid, source, "/large.bin")
        down = service.download_file(cid, "/large.bin", tmp_path / "copy.bin")
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert (up.success, down.success) == (True, True), (up.error_message, down.error_message)
    assert (tmp_path / "copy.bin").stat().st_size == size
    assert peak < size // 4, f"{peak / 2**20:.1f} MiB at the peak for a {size // 2**20} MiB file"


def test_a_failed_folder_transfer_is_typed_as_its_first_failed_file(
    service: ContextService, tmp_path: Path
):
    source = tmp_path / "tree"
    source.mkdir()
    for name in ("a.txt", "b.txt"):
        (source / name).write_text(name)
    up = service.upload_dir("SdkCtx-no-such-context", source)
    assert [f.http_status for f in up.files] == [404, 404]
    first = up.files[0]
    assert (up.error_kind, up.http_status, up.error_code, up.retryable) == (
        first.error_kind,
        first.http_status,
        first.error_code,
        first.retryable,
    )
    with pytest.raises(NotFoundError) as raised:
        up.raise_for_status()
    assert raised.value.result is up
