"""Real files: byte-for-byte round trips, links never followed, failures leave content intact."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support import Api, tree, wait_final

from agb_context.emulator import Emulator

BIG = 20 * 1024 * 1024


def fill_sample_tree(root: Path) -> None:
    (root / "nested" / "deeper" / "deepest").mkdir(parents=True)
    (root / "empty-folder").mkdir()
    (root / "top.txt").write_text("top level\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "nested" / "empty-too").write_bytes(b"")
    (root / "nested" / "deeper" / "deepest" / "leaf.dat").write_bytes(bytes(range(256)) * 7)
    (root / "données été 日本語 ✓.txt").write_text("non-ASCII name, UTF-8 content: ü ß 漢字\n")
    (root / "nested" / "Ωmega").mkdir()
    (root / "nested" / "Ωmega" / "ñ.bin").write_bytes(os.urandom(4096))
    (root / "with space & 'quotes'.txt").write_bytes(b"\x00\xff\x00 binary")
    with (root / "big.bin").open("wb") as big:
        block = os.urandom(1024 * 1024)
        for index in range(BIG // len(block)):
            big.write(block[index:] + block[:index])


def test_upload_then_download_in_another_session_is_byte_identical(
    agb_clean_emulator: Emulator, api: Api
):
    source = agb_clean_emulator.create_session(mounts={"round-trip": "/home/data"})
    fill_sample_tree(agb_clean_emulator.session_path(source, "/home/data"))
    expected = tree(agb_clean_emulator.session_path(source, "/home/data"))
    assert api.sync(source, contextId="round-trip", path="/home/data").status_code == 200
    [upload] = wait_final(agb_clean_emulator, source, 1, timeout=30)
    assert upload.status == "Success", upload.error_message
    assert tree(agb_clean_emulator.context_path("round-trip")) == expected

    target = agb_clean_emulator.create_session(mounts={"round-trip": "/mnt/elsewhere"})
    response = api.sync(target, contextId="round-trip", path="/mnt/elsewhere", mode="download")
    assert response.status_code == 200
    [download] = wait_final(agb_clean_emulator, target, 1, timeout=30)
    assert download.status == "Success", download.error_message
    copied = tree(agb_clean_emulator.session_path(target, "/mnt/elsewhere"))
    assert copied == expected
    assert len(copied["big.bin"] or b"") == BIG
    assert copied["empty.bin"] == b""
    assert "données été 日本語 ✓.txt" in copied
    assert copied["empty-folder"] is None


def test_an_upload_replaces_the_stored_content(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"replaced": "/home/data"})
    mount = agb_clean_emulator.session_path(sid, "/home/data")
    (mount / "old.txt").write_text("old")
    api.sync(sid)
    wait_final(agb_clean_emulator, sid, 1)
    (mount / "old.txt").unlink()
    (mount / "new.txt").write_text("new")
    api.sync(sid)
    wait_final(agb_clean_emulator, sid, 2)
    assert tree(agb_clean_emulator.context_path("replaced")) == {"new.txt": b"new"}
    assert [
        p.name
        for p in agb_clean_emulator.context_path("replaced").parent.iterdir()
        if "replaced" in p.name
    ] == ["replaced"]


def test_file_modes_and_times_are_kept(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"modes": "/home/data"})
    script = agb_clean_emulator.session_path(sid, "/home/data") / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    os.utime(script, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    api.sync(sid)
    wait_final(agb_clean_emulator, sid)
    stored = agb_clean_emulator.context_path("modes") / "run.sh"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o750
    assert stored.stat().st_mtime_ns == 1_600_000_000_000_000_000


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlinks_in_a_mount_are_not_followed(
    agb_clean_emulator: Emulator, api: Api, tmp_path: Path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("must not leak")
    sid = agb_clean_emulator.create_session(mounts={"links": "/home/data"})
    mount = agb_clean_emulator.session_path(sid, "/home/data")
    (mount / "real.txt").write_text("real")
    (mount / "to-file").symlink_to(outside / "secret.txt")
    (mount / "to-folder").symlink_to(outside, target_is_directory=True)
    (mount / "to-root").symlink_to("/")
    (mount / "dangling").symlink_to(tmp_path / "missing")
    api.sync(sid)
    [task] = wait_final(agb_clean_emulator, sid)
    assert task.status == "Success", task.error_message
    stored = agb_clean_emulator.context_path("links")
    assert tree(stored) == {"real.txt": b"real"}
    assert not any(path.is_symlink() for path in stored.rglob("*"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_skipped_without_blocking(agb_clean_emulator: Emulator, api: Api):
    sid = agb_clean_emulator.create_session(mounts={"fifo": "/home/data"})
    mount = agb_clean_emulator.session_path(sid, "/home/data")
    os.mkfifo(mount / "pipe")
    (mount / "file.txt").write_text("x")
    api.sync(sid)
    [task] = wait_final(agb_clean_emulator, sid)
    assert task.status == "Success"
    assert tree(agb_clean_emulator.context_path("fifo")) == {"file.txt": b"x"}
