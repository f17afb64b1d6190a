"""A transfer that gets no answer from the storage is typed as an API call would be:
``timeout``, ``not_sent`` or ``no_response``, never one kind for all."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import refusing_endpoint

from agb_context import ContextService, FileUrlResult, NetworkError, RequestTimeoutError
from agb_context.emulator import Emulator


def _files_at(service: ContextService, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``service`` move every file through ``url``, as if the API had handed it out."""

    async def handed_out(*_: str) -> FileUrlResult:
        return FileUrlResult(success=True, url=url, expire_time=None)

    monkeypatch.setattr(service, "get_file_download_url_async", handed_out)
    monkeypatch.setattr(service, "get_file_upload_url_async", handed_out)


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server takes the connection and the request, and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/object?signature=x"


@pytest.fixture
def refusing_url() -> Iterator[str]:
    with refusing_endpoint() as endpoint:
        yield f"{endpoint}/object?signature=x"


def _both_ways(service: ContextService, tmp_path: Path) -> list[tuple[str | None, bool, int]]:
    source = tmp_path / "s.txt"
    source.write_text("x")
    results = [
        service.upload_file("SdkCtx-x", source, "/s.txt"),
        service.download_file("SdkCtx-x", "/s.txt", tmp_path / "copy.txt"),
    ]
    return [(r.error_kind, r.retryable, r.attempts) for r in results]


@pytest.mark.parametrize(
    ("url", "kind", "raises"),
    [("silent_url", "timeout", RequestTimeoutError), ("refusing_url", "not_sent", NetworkError)],
)
def test_a_storage_that_does_not_answer_is_typed_by_how(
    make_service: Callable[..., ContextService],
    agb_clean_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    url: str,
    kind: str,
    raises: type[Exception],
):
    service = make_service(timeout=0.5)
    _files_at(service, request.getfixturevalue(url), monkeypatch)
    assert _both_ways(service, tmp_path) == [(kind, True, 4), (kind, True, 4)]
    with pytest.raises(raises):
        service.upload_file("SdkCtx-x", tmp_path / "s.txt", "/s.txt").raise_for_status()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt"], "no partial download"
