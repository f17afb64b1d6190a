"""A context's files over real HTTP: presigned URLs, listing, deleting, and hostile paths."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx
import pytest
from support import API_KEY, Api, assert_error, client_for, tree, wait_final, wait_until

from agb_context.emulator import Emulator, _file_routes


class Files:
    """The file routes as the SDK calls them, and the presigned URLs as a client uses them."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def context(self, name: str) -> str:
        answer = self.client.get("/sdk/GetContext", params={"name": name, "allowCreate": "true"})
        return str(answer.json()["data"]["id"])

    def call(self, name: str, **params: str) -> httpx.Response:
        return self.client.post(f"/sdk/{name}", params=params, json={})

    def url(self, op: str, cid: str, path: str) -> str:
        name = "GetContextFileUploadUrl" if op == "put" else "GetContextFileDownloadUrl"
        answer = self.call(name, contextId=cid, filePath=path)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["data"]["url"])

    def put(self, cid: str, path: str, content: bytes) -> None:
        answer = httpx.put(self.url("put", cid, path), content=content)
        assert answer.status_code == 200, answer.text

    def get(self, cid: str, path: str) -> bytes:
        answer = httpx.get(self.url("get", cid, path))
        assert answer.status_code == 200, answer.text
        return answer.content

    def describe(self, cid: str, folder: str | None = None, page: int = 1, size: int = 50) -> Any:
        params = {"contextId": cid, "pageNumber": str(page), "pageSize": str(size)}
        if folder is not None:
            params["parentFolderPath"] = folder
        return self.call("DescribeContextFiles", **params)


@pytest.fixture
def files(api: Api) -> Files:
    return Files(api.client)


@pytest.fixture
def cid(files: Files) -> str:
    return files.context(f"files-{uuid.uuid4().hex}")


def test_put_then_get_through_presigned_urls(files: Files, cid: str, agb_clean_emulator: Emulator):
    content = os.urandom(300_000)
    files.put(cid, "/data/blob.bin", content)
    assert files.get(cid, "/data/blob.bin") == content
    assert (agb_clean_emulator.context_path(cid) / "data" / "blob.bin").read_bytes() == content
    files.put(cid, "/data/blob.bin", b"replaced")
    assert files.get(cid, "/data/blob.bin") == b"replaced"


def test_presigned_urls_need_no_key_and_the_api_still_does(
    files: Files, cid: str, agb_clean_emulator: Emulator
):
    url = files.url("put", cid, "/a.txt")
    assert "authorization" not in httpx.Request("PUT", url).headers
    assert httpx.put(url, content=b"x").status_code == 200
    with client_for(agb_clean_emulator, key=None) as anonymous:
        answer = Files(anonymous).call("GetContextFileUploadUrl", contextId=cid, filePath="/b")
    assert answer.status_code == 401


def test_range_is_honoured(files: Files, cid: str):
    files.put(cid, "/r.txt", b"0123456789")
    answer = httpx.get(files.url("get", cid, "/r.txt"), headers={"Range": "bytes=3-5"})
    assert answer.status_code == 206
    assert answer.content == b"345"


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_tampered_expired_or_misused_urls_get_403(
    files: Files, cid: str, agb_clean_emulator: Emulator
):
    files.put(cid, "/mine.txt", b"mine")
    other = files.context("someone else's")
    files.put(other, "/theirs.txt", b"theirs")
    url = files.url("get", cid, "/mine.txt")
    for bad in (
        _with(url, filePath="/theirs.txt"),
        _with(url, contextId=other, filePath="/theirs.txt"),
        _with(url, expires="9999999999"),
        _with(url, signature="0" * 64),
        _with(url, signature="\u00e9" * 64),
        _with(url, op="put"),
        url.split("&signature")[0],
    ):
        answer = httpx.get(bad)
        assert answer.status_code == 403, bad
        assert answer.json()["code"] == "Forbidden"
    assert httpx.put(url, content=b"overwrite").status_code == 403, "a GET URL cannot PUT"
    assert files.get(cid, "/mine.txt") == b"mine"
    agb_clean_emulator.url_lifetime = 0.001
    try:
        expired = files.url("get", cid, "/mine.txt")
    finally:
        agb_clean_emulator.url_lifetime = 3600
    answer = httpx.get(expired)
    assert answer.status_code == 403
    assert "expired" in answer.json()["message"]


def test_a_cut_off_put_leaves_the_stored_file_as_it_was(
    files: Files, cid: str, agb_clean_emulator: Emulator
):
    files.put(cid, "/kept.txt", b"old content")
    parts = urlsplit(files.url("put", cid, "/kept.txt"))
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Length: 100000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"partial" * 100)
    wait_until(
        lambda: any(r.method == "PUT" for r in agb_clean_emulator.requests),
        what="the cut-off PUT recorded",
    )
    stored = agb_clean_emulator.context_path(cid)
    wait_until(
        lambda: not [p for p in stored.parent.iterdir() if p.name.startswith(".staging")],
        what="the partial upload removed",
    )
    assert files.get(cid, "/kept.txt") == b"old content"


def _raw_put(url: str, headers: str, body: bytes, *, half_close: bool = False) -> bytes:
    """Send a PUT as written, byte for byte, and read what comes back until the server closes.

    httpx keeps a body and its Content-Length in agreement; a raw socket is
    how a client that breaks that promise is played.
    """
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n{headers}"
        sock.sendall(head.encode() + b"\r\n" + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _staged(emulator: Emulator, cid: str) -> list[str]:
    where = emulator.context_path(cid).parent
    return [p.name for p in where.iterdir() if p.name.startswith(".staging")]


def test_a_body_cut_short_of_its_content_length_stores_nothing(
    files: Files, cid: str, agb_clean_emulator: Emulator
):
    files.put(cid, "/kept.txt", b"old content")
    url = files.url("put", cid, "/kept.txt")
    # The client sends half of what it declared, then says it has no more to send.
    answer = _raw_put(url, "Content-Length: 1000\r\n", b"x" * 500, half_close=True)
    assert not answer.startswith(b"HTTP/1.1 200"), answer
    wait_until(lambda: not _staged(agb_clean_emulator, cid), what="the partial upload removed")
    assert files.get(cid, "/kept.txt") == b"old content"


@pytest.mark.parametrize(("declared", "sent"), [(5, 15), (100, 15)])
def test_a_body_other_than_its_content_length_is_refused(
    files: Files, cid: str, agb_clean_emulator: Emulator, declared: int, sent: int
):
    files.put(cid, "/kept.txt", b"old content")
    url = files.url("put", cid, "/kept.txt")
    # Chunked framing carries the body past (or short of) the Content-Length also given.
    body = f"{sent:x}\r\n".encode() + b"y" * sent + b"\r\n0\r\n\r\n"
    headers = f"Content-Length: {declared}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
    answer = _raw_put(url, headers, body)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    message = answer.partition(b"\r\n\r\n")[2]
    assert f"{sent} bytes where its Content-Length says {declared}".encode() in message
    assert files.get(cid, "/kept.txt") == b"old content"
    assert not _staged(agb_clean_emulator, cid)


def test_bytes_past_the_content_length_are_read_as_the_next_request(files: Files, cid: str):
    """HTTP/1.1 ends a body at its Content-Length: what follows is another request (here
    not a valid one), never more of the file."""
    url = files.url("put", cid, "/exact.txt")
    answer = _raw_put(url, "Content-Length: 5\r\n", b"helloEXTRA\r\n\r\n")
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200"), answer
    assert rest.startswith(b"HTTP/1.1 400"), answer
    assert files.get(cid, "/exact.txt") == b"hello"


class _HeldWrites:
    """A file whose writes wait for ``release``: a disk that does not answer for a while."""

    def __init__(self, inner: Any, writing: threading.Event, release: threading.Event) -> None:
        self._inner = inner
        self._writing = writing
        self._release = release

    def writelines(self, lines: Any) -> None:
        self._writing.set()
        assert self._release.wait(60), "the test never released the write"
        self._inner.writelines(lines)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_an_upload_waiting_for_the_disk_does_not_hold_up_other_requests(
    files: Files, cid: str, agb_clean_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
):
    writing, release = threading.Event(), threading.Event()
    real_open = _file_routes.open_file

    async def held_open(path: Any, mode: str) -> anyio.AsyncFile[Any]:
        opened = await real_open(path, mode)
        return anyio.AsyncFile(_HeldWrites(opened.wrapped, writing, release))

    monkeypatch.setattr(_file_routes, "open_file", held_open)
    content = os.urandom(3 * 2**20)
    url = files.url("put", cid, "/big.bin")
    answers: list[int] = []
    uploader = threading.Thread(
        target=lambda: answers.append(httpx.put(url, content=content, timeout=60).status_code)
    )
    uploader.start()
    try:
        assert writing.wait(30), "the upload never reached its first write"
        # The emulator's event loop is free while the write waits.
        health = f"{agb_clean_emulator.endpoint}/emulator/health"
        assert httpx.get(health, timeout=30).status_code == 200
        assert files.describe(cid).status_code == 200
    finally:
        release.set()
        uploader.join(60)
    assert answers == [200]
    monkeypatch.undo()
    assert files.get(cid, "/big.bin") == content


def test_listing_pages_through_a_folder(files: Files, cid: str):
    for n in range(5):
        files.put(cid, f"/docs/f{n}.txt", b"x" * n)
    files.put(cid, "/docs/sub/deep.txt", b"deep")
    root = files.describe(cid).json()
    assert (root["count"], [e["filePath"] for e in root["data"]]) == (1, ["/docs"])
    assert root["data"][0]["fileType"] == "folder"
    pages = [files.describe(cid, "/docs", page, 2).json() for page in (1, 2, 3, 4)]
    listed = [e["filePath"] for p in pages for e in p["data"]]
    assert listed == [f"/docs/f{n}.txt" for n in range(5)] + ["/docs/sub"]
    assert {p["count"] for p in pages} == {6}
    first = pages[0]["data"][0]
    assert (first["fileName"], first["size"], first["fileType"]) == ("f0.txt", 0, "file")
    assert set(first) == {
        "fileId", "fileName", "filePath", "fileType", "gmtCreate", "gmtModified", "size", "status"
    }  # fmt: skip
    assert files.describe(cid, "/docs/").json()["count"] == 6
    assert_error(files.describe(cid, "/nothing"), 404, "FolderNotFound")
    empty = files.context("never uploaded")
    assert files.describe(empty).json()["count"] == 0


def test_delete_removes_one_file(files: Files, cid: str):
    files.put(cid, "/d/a.txt", b"a")
    files.put(cid, "/d/b.txt", b"b")
    assert files.call("DeleteContextFile", contextId=cid, filePath="/d/a.txt").status_code == 200
    assert [e["fileName"] for e in files.describe(cid, "/d").json()["data"]] == ["b.txt"]
    missing = files.call("DeleteContextFile", contextId=cid, filePath="/d/a.txt")
    assert_error(missing, 404, "FileNotFound")
    folder = files.call("DeleteContextFile", contextId=cid, filePath="/d")
    assert_error(folder, 400, "InvalidParameter", "folder")


def test_unknown_contexts_and_files_are_404(files: Files, cid: str):
    for name in ("GetContextFileUploadUrl", "GetContextFileDownloadUrl", "DeleteContextFile"):
        answer = files.call(name, contextId="SdkCtx-nope", filePath="/a")
        assert_error(answer, 404, "ContextNotFound")
    assert_error(files.describe("SdkCtx-nope"), 404, "ContextNotFound")
    missing = files.call("GetContextFileDownloadUrl", contextId=cid, filePath="/none")
    assert_error(missing, 404, "FileNotFound")


def test_files_and_session_syncs_see_each_other(
    files: Files, agb_clean_emulator: Emulator, api: Api
):
    cid = files.context("shared with a session")
    files.put(cid, "/from-url.txt", b"via URL")
    sid = agb_clean_emulator.create_session(mounts={cid: "/home/data"})
    api.sync(sid, contextId=cid, path="/home/data", mode="download")
    assert wait_final(agb_clean_emulator, sid)[0].status == "Success"
    assert tree(agb_clean_emulator.session_path(sid, "/home/data")) == {"from-url.txt": b"via URL"}
    (agb_clean_emulator.session_path(sid, "/home/data") / "from-session.txt").write_text(
        "via sync"
    )
    api.sync(sid, contextId=cid, path="/home/data")
    assert wait_final(agb_clean_emulator, sid, 2)[-1].status == "Success"
    listed = [e["fileName"] for e in files.describe(cid).json()["data"]]
    assert listed == ["from-session.txt", "from-url.txt"]
    assert files.get(cid, "/from-session.txt") == b"via sync"


HOSTILE = [
    "../escape",
    "/../escape",
    "/a/../../escape",
    "/a/%2e%2e/%2e%2e/escape",
    "/a/..%2f..%2fescape",
    "/a\\..\\..\\escape",
    "/a\x00b",
    "/a\nb",
    "/",
    "//etc/passwd",
    "/a/./b",
    "/" + "x" * 1100,
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_file_paths_are_refused(
    files: Files, cid: str, agb_clean_emulator: Emulator, path: str
):
    for name in ("GetContextFileUploadUrl", "GetContextFileDownloadUrl", "DeleteContextFile"):
        answer = files.call(name, contextId=cid, filePath=path)
        assert answer.status_code == 400, (name, answer.text)
    if path != "/":
        assert files.describe(cid, path).status_code == 400
    assert not (agb_clean_emulator.data_dir.parent / "escape").exists()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/", "filePath must name a file below '/', e.g. /data/a.csv"),
        (
            "data/a.csv",
            "filePath 'data/a.csv' is not absolute: start it with '/', e.g. /data/a.csv",
        ),
    ],
)
def test_a_bad_file_path_is_explained_with_a_file_path(
    files: Files, cid: str, path: str, words: str
):
    """Not with a session's mount path (``/home/data``) as the example to follow."""
    answer = files.call("GetContextFileUploadUrl", contextId=cid, filePath=path)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["message"]
    listed = files.describe(cid, "data")
    assert (
        "parentFolderPath 'data' is not absolute: start it with '/', e.g. /data"
        in (listed.json()["message"])
    )


def test_symbolic_links_in_the_store_are_never_followed(
    files: Files, cid: str, agb_clean_emulator: Emulator, tmp_path: Path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    files.put(cid, "/real.txt", b"real")
    (agb_clean_emulator.context_path(cid) / "link").symlink_to(outside, target_is_directory=True)
    (agb_clean_emulator.context_path(cid) / "file-link").symlink_to(outside / "secret.txt")
    for path in ("/link/secret.txt", "/link/new.txt"):
        for name in ("GetContextFileUploadUrl", "GetContextFileDownloadUrl"):
            answer = files.call(name, contextId=cid, filePath=path)
            assert answer.status_code == 400, answer.text
            assert "symbolic link" in answer.json()["message"]
    linked = files.call("GetContextFileDownloadUrl", contextId=cid, filePath="/file-link")
    assert linked.status_code == 400
    assert_error(files.describe(cid, "/link"), 400, "InvalidParameter", "symbolic link")
    listed = [e["fileName"] for e in files.describe(cid).json()["data"]]
    assert listed == ["real.txt"], "links are not listed"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_uploads_survive_a_restart(tmp_path: Path):
    data = tmp_path / "data"
    with Emulator(data_dir=data, api_key=API_KEY) as first, client_for(first) as client:
        files = Files(client)
        cid = files.context("kept")
        files.put(cid, "/k.txt", b"kept")
    with Emulator(data_dir=data, api_key=API_KEY) as second, client_for(second) as client:
        assert Files(client).get(cid, "/k.txt") == b"kept"
