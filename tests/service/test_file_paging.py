"""`iter_files` against servers that page otherwise than asked: it lists every entry or
says it could not, never a part of the folder passed off as all of it."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from agb_context import ContextFileListError, ContextService

NAMES = [f"f{n}.txt" for n in range(7)]


class _PagingServer:
    """Lists a folder of `NAMES` in pages of at most ``cap`` entries, whatever page size
    is asked for, with their ``count``. The pages start where the server's own page size
    puts them (``offsets="own"``) or where the asked size does (``offsets="asked"``).

    Stands in for a cloud that caps the page size: the emulator refuses sizes it
    does not serve, so it cannot show this.
    """

    def __init__(self, cap: int, offsets: Literal["own", "asked"]) -> None:
        listing = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                number, asked = int(query["pageNumber"]), int(query["pageSize"])
                start = (number - 1) * (cap if offsets == "own" else asked)
                page = NAMES[start : start + min(cap, asked)]
                listing.pages.append(number)
                body = json.dumps(
                    {
                        "success": True,
                        "count": len(NAMES),
                        "data": [
                            {"fileName": n, "filePath": f"/{n}", "fileType": "file", "size": 1}
                            for n in page
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.pages: list[int] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture
def paging(request: pytest.FixtureRequest) -> Iterator[tuple[_PagingServer, ContextService]]:
    server = _PagingServer(*request.param)
    try:
        with ContextService(api_key="k-paging", endpoint=server.endpoint) as service:
            yield server, service
    finally:
        server.close()


def _both_ways(service: ContextService) -> list[list[str] | ContextFileListError]:
    """``iter_files`` blocking and async: the names listed, or the error raised."""

    async def iterate() -> list[str]:
        return [e.file_name async for e in service.iter_files_async("SdkCtx-x", page_size=3)]

    outcomes: list[list[str] | ContextFileListError] = []
    for listing in (
        lambda: [e.file_name for e in service.iter_files("SdkCtx-x", page_size=3)],
        lambda: asyncio.run(asyncio.wait_for(iterate(), 60)),
    ):
        try:
            outcomes.append(listing())
        except ContextFileListError as exc:
            outcomes.append(exc)
    return outcomes


@pytest.mark.parametrize("paging", [(2, "own")], indirect=True)
def test_pages_shorter_than_asked_are_followed_while_the_count_says_more(
    paging: tuple[_PagingServer, ContextService],
):
    server, service = paging
    assert _both_ways(service) == [NAMES, NAMES]
    assert server.pages == [1, 2, 3, 4] * 2


@pytest.mark.parametrize("paging", [(2, "asked")], indirect=True)
def test_a_listing_that_falls_short_of_the_count_is_an_error(
    paging: tuple[_PagingServer, ContextService],
):
    _, service = paging
    for outcome in _both_ways(service):
        assert isinstance(outcome, ContextFileListError), outcome
        assert outcome.result.error_kind == "unreadable_response"
        assert "counts 7 entries and 5 were listed" in str(outcome)
