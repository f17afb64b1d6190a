"""`ContextService` over real HTTP: every call, blocking and async; failures as results."""

from __future__ import annotations

import asyncio
import gc
import pickle
import threading
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import wait_until

from agb_context import (
    ClearContextResult,
    ConfigurationError,
    Context,
    ContextFileListError,
    ContextListError,
    ContextListParams,
    ContextService,
    RetryPolicy,
    ServerError,
)
from agb_context.emulator import Emulator

NO_RETRY = RetryPolicy(max_retries=0)


def unique(prefix: str = "ctx") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- get and create -----------------------------------------------------------------------


def test_create_then_get_by_name_and_by_id(service: ContextService, agb_clean_emulator: Emulator):
    name = unique()
    made = service.create(name)
    assert made.success, made.error_message
    assert made.request_id
    context = made.context
    assert context is not None
    assert made.context_id == context.id
    assert context.name == name
    assert context.state == "available"
    assert context.created_at
    assert context.last_used_at
    assert service.create(name).context == context, "the same name gives the same context"
    assert service.get(name, create=True).context == context
    assert service.get(name).context == context
    assert service.get(context_id=context.id).context == context
    assert service.get(f"  {name} ").context == context, "spaces at either end are removed"
    sent = [r for r in agb_clean_emulator.requests if r.path == "/sdk/GetContext"]
    assert sent[0].query == {"name": name, "allowCreate": "true"}
    assert sent[4].query == {"id": context.id, "allowCreate": "false"}


def test_get_of_an_unknown_context_is_a_result(service: ContextService):
    result = service.get(context_id="SdkCtx-unknown")
    assert not result.success
    assert result.context is None
    assert "SdkCtx-unknown" in result.error_message
    assert "HTTP 404" in result.error_message
    assert result.request_id
    by_name = service.get(unique("missing"))
    assert not by_name.success
    assert "404" in by_name.error_message


def test_create_is_atomic_across_concurrent_callers(make_service: Callable[..., ContextService]):
    name = unique("shared")
    start = threading.Barrier(6)
    ids: list[str] = []

    def create() -> None:
        service = make_service()
        start.wait(10)
        ids.append(service.create(name).context_id)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == 6
    assert len(set(ids)) == 1


# --- list ---------------------------------------------------------------------------------


def test_one_page_and_every_page(make_service: Callable[..., ContextService], agb_clean_emulator):
    service = make_service(agb_clean_emulator)
    made = [service.create(f"page {n:02d}").context_id for n in range(7)]
    page = service.list(max_results=3)
    assert page.success, page.error_message
    assert [c.id for c in page.contexts] == made[:3]
    assert (page.max_results, page.total_count) == (3, 7)
    assert page.next_token
    second = service.list(3, page.next_token)
    assert [c.id for c in second.contexts] == made[3:6]
    last = service.list(ContextListParams(max_results=3, next_token=second.next_token))
    assert [c.id for c in last.contexts] == made[6:]
    # A token beside parameters without one is used; two different ones are refused.
    also_second = service.list(ContextListParams(max_results=3), page.next_token)
    assert [c.id for c in also_second.contexts] == made[3:6]
    agb_clean_emulator.clear_requests()
    twice = service.list(ContextListParams(max_results=3, next_token="a"), "b")
    assert (twice.success, twice.error_kind) == (False, "invalid_argument")
    assert "next_token was given twice" in twice.error_message
    assert agb_clean_emulator.requests == []
    assert last.next_token is None
    assert [c.id for c in service.iter_contexts(max_results=2)] == made
    assert [c.id for c in service.iter_contexts()] == made
    pages = list(service.iter_pages(max_results=4))
    assert [len(p.contexts) for p in pages] == [4, 3]
    assert service.list().max_results == 10


def test_iterating_while_contexts_are_created_lists_each_once(
    make_service: Callable[..., ContextService], agb_clean_emulator: Emulator
):
    service = make_service(agb_clean_emulator)
    before = [service.create(f"before {n:02d}").context_id for n in range(15)]
    other = make_service(agb_clean_emulator)
    created: list[str] = []
    listed: list[str] = []
    for context in service.iter_contexts(max_results=2):
        listed.append(context.id)
        if len(created) < 12:
            # another client creates contexts while this one is between pages
            created.append(other.create(unique("during")).context_id)
    assert len(listed) == len(set(listed)), "no context is listed twice"
    assert [cid for cid in listed if cid in before] == before, "every earlier context, in order"
    assert set(listed) <= set(before) | set(created)


def test_a_failed_page_ends_the_iteration(
    make_service: Callable[..., ContextService], agb_clean_emulator: Emulator
):
    service = make_service(agb_clean_emulator, retry=NO_RETRY)
    for n in range(5):
        service.create(f"ctx {n}")
    pages = service.iter_pages(max_results=2)
    assert next(pages).success
    agb_clean_emulator.faults.respond_success_false("ListContexts")
    failed = next(pages)
    assert not failed.success
    assert "injected fault" in failed.error_message
    assert next(pages, None) is None
    agb_clean_emulator.faults.fail_requests("ListContexts", status=500, count=1)
    with pytest.raises(ContextListError, match="HTTP 500") as raised:
        list(service.iter_contexts(max_results=2))
    assert not raised.value.result.success


def test_a_token_given_twice_ends_the_listing_as_a_failure(service: ContextService):
    # A server repeating its nextToken cannot be made from the emulator: a
    # transport answers the same page for ever, so that the loop guard shows.
    def answer(request: httpx.Request) -> httpx.Response:
        page = {"success": True, "data": [{"id": "a", "name": "a"}], "nextToken": "same"}
        return httpx.Response(200, json=page)

    client = service._clients.blocking()
    client.get_httpx_client().close()
    mock = httpx.MockTransport(answer)
    client.set_httpx_client(httpx.Client(base_url="http://127.0.0.1", transport=mock))
    pages = list(service.iter_pages())
    assert [p.success for p in pages] == [True, True, False]
    assert "given before" in pages[-1].error_message
    with pytest.raises(ContextListError, match="given before"):
        list(service.iter_contexts())


# --- update and delete -------------------------------------------------------------------


def test_update_renames_and_keeps_names_unique(service: ContextService):
    context = service.create(unique("old")).context
    taken = service.create(unique("taken")).context
    assert context is not None
    assert taken is not None
    new_name = unique("new")
    renamed = service.update(context.with_name(new_name))
    assert renamed.success, renamed.error_message
    assert renamed.context_id == context.id
    assert service.get(context_id=context.id).context.name == new_name  # type: ignore[union-attr]
    clash = service.update(context.with_name(taken.name))
    assert not clash.success
    assert "HTTP 409" in clash.error_message
    assert taken.name in clash.error_message


def test_update_takes_any_object_with_id_and_name(service: ContextService):
    context = service.create(unique()).context
    assert context is not None

    class ItsOwnContext:  # like the AGB SDK's Context, which is mutable
        def __init__(self, id: str, name: str) -> None:
            self.id = id
            self.name = name

    other = ItsOwnContext(context.id, unique("plain"))
    assert service.update(other).success
    assert service.get(context_id=context.id).context.name == other.name  # type: ignore[union-attr]


def test_delete_takes_a_context_or_its_id(service: ContextService):
    first = service.create(unique()).context
    second = service.create(unique()).context
    assert first is not None
    assert second is not None
    assert service.delete(first).success
    assert service.delete(second.id).success
    for gone in (first, second):
        assert not service.get(context_id=gone.id).success
    again = service.delete(first.id)
    assert not again.success
    assert "HTTP 404" in again.error_message


def test_deleting_a_mounted_context_leaves_the_session_its_files(
    service: ContextService, agb_clean_emulator: Emulator
):
    context = service.create(unique("mounted")).context
    assert context is not None
    sid = agb_clean_emulator.create_session(mounts={context.id: "/home/data"})
    (agb_clean_emulator.session_path(sid, "/home/data") / "mine.txt").write_text("kept")
    assert service.delete(context).success
    assert (agb_clean_emulator.session_path(sid, "/home/data") / "mine.txt").read_text() == "kept"


# --- clear --------------------------------------------------------------------------------


def test_start_clear_then_watch_the_status(
    make_service: Callable[..., ContextService], agb_clean_emulator: Emulator
):
    slow_emulator = agb_clean_emulator
    slow_emulator.set_task_delay(1.0)
    service = make_service(slow_emulator)
    context = service.create(unique("clear")).context
    assert context is not None
    stored = slow_emulator.context_path(context.id)
    stored.mkdir()
    (stored / "f.txt").write_text("x")
    started = service.start_clear(context.id)
    assert started.success, started.error_message
    assert (started.status, started.context_id) == ("clearing", context.id)
    assert started.is_clearing
    statuses: list[ClearContextResult] = []

    def done() -> bool:
        statuses.append(service.get_clear_status(context.id))
        assert statuses[-1].success, statuses[-1].error_message
        return not statuses[-1].is_clearing

    wait_until(done, 30, "the clear to finish")
    assert statuses[-1].status == "available"
    assert not stored.exists()
    unknown = service.get_clear_status("SdkCtx-unknown")
    assert not unknown.success
    assert "404" in unknown.error_message
    assert not service.start_clear("SdkCtx-unknown").success


# --- async twins --------------------------------------------------------------------------


def test_every_call_has_an_async_twin(agb_clean_emulator: Emulator):
    async def story() -> None:
        async with ContextService(
            api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as service:
            name = unique("async")
            made = await service.create_async(name)
            assert made.success, made.error_message
            assert made.context is not None
            assert (await service.get_async(name)).context == made.context
            page = await service.list_async(max_results=100)
            assert page.success
            listed = [c.id async for c in service.iter_contexts_async(max_results=50)]
            assert made.context_id in listed
            pages = [p async for p in service.iter_pages_async(max_results=50)]
            assert all(p.success for p in pages)
            renamed = await service.update_async(made.context.with_name(unique("async-new")))
            assert renamed.success
            assert (await service.start_clear_async(made.context_id)).success
            assert (await service.get_clear_status_async(made.context_id)).success
            assert (await service.delete_async(made.context_id)).success
            assert not (await service.get_async(context_id=made.context_id)).success

    asyncio.run(story())


def test_async_calls_run_concurrently_on_one_loop(agb_clean_emulator: Emulator):
    async def story() -> list[str]:
        async with ContextService(
            api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as service:
            names = [unique("gather") for _ in range(20)]
            results = await asyncio.gather(*(service.create_async(n) for n in names))
            assert all(r.success for r in results)
            return [r.context.name for r in results if r.context is not None]

    assert len(set(asyncio.run(story()))) == 20


# --- validation before any request -------------------------------------------------------

HOSTILE_NAMES = [
    ("x" * 257, "257 characters"),
    ("line\nbreak", "U+000A"),
    ("esc\x1b[31m", "U+001B"),
    ("nul\x00", "U+0000"),
    ("../../etc/passwd", "'/'"),
    ("a\\b", "'\\'"),
    ("..", "'..'"),
    ("rtl\u202egnp.exe", "U+202E"),
    ("", "empty"),
]


@pytest.mark.parametrize(("name", "words"), HOSTILE_NAMES)
def test_hostile_names_are_refused_before_any_request(
    service: ContextService, agb_clean_emulator: Emulator, name: str, words: str
):
    created = service.create(name)
    assert not created.success
    assert "name" in created.error_message
    assert words in created.error_message
    renamed = service.update(Context(id="SdkCtx-1", name=name))
    assert not renamed.success
    assert "context.name" in renamed.error_message
    if name:
        assert words in service.get(name).error_message
    assert agb_clean_emulator.requests == []


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda s: s.get(), "give name or context_id"),
        (lambda s: s.get("   "), "give name or context_id"),
        (lambda s: s.get("a", create=True, context_id="SdkCtx-1"), "create=True"),
        (lambda s: s.get("a", create="yes"), "create must be True or False"),
        (lambda s: s.get(context_id="a\tb"), "context_id"),
        (lambda s: s.get(context_id="x" * 300), "context_id is 300 characters"),
        (lambda s: s.get("a", login_region_id="eu\n"), "login_region_id"),
        (lambda s: s.create(None), "name must be a string, not NoneType"),
        (lambda s: s.create(42), "name must be a string, not int"),
        (lambda s: s.update(None), "context must be a Context"),
        (lambda s: s.update(Context(id="", name="a")), "context.id must not be empty"),
        (lambda s: s.delete(None), "context must be a Context or a context id"),
        (lambda s: s.delete(""), "context must not be empty"),
        (lambda s: s.delete(Context(id="a\x00", name="a")), "context.id"),
        (lambda s: s.list(max_results=0), "max_results must be a whole number from 1 to 100"),
        (lambda s: s.list(max_results=101), "max_results"),
        (lambda s: s.list(max_results=True), "max_results"),
        (lambda s: s.list(max_results="5"), "max_results"),
        (lambda s: s.list(next_token="a\nb"), "next_token"),
        (lambda s: s.start_clear(""), "context_id must not be empty"),
        (lambda s: s.get_clear_status(None), "context_id must be a string"),
    ],
)
def test_bad_arguments_are_results_naming_them(
    service: ContextService,
    agb_clean_emulator: Emulator,
    call: Callable[[ContextService], Any],
    words: str,
):
    result = call(service)
    assert not result.success
    assert words in result.error_message
    assert result.request_id == ""
    assert agb_clean_emulator.requests == []


def test_an_invalid_list_page_size_ends_the_iteration_as_a_failure(
    service: ContextService, agb_clean_emulator: Emulator
):
    [page] = list(service.iter_pages(max_results=0))
    assert not page.success
    with pytest.raises(ContextListError, match="max_results"):
        list(service.iter_contexts(max_results=1000))
    assert agb_clean_emulator.requests == []


# --- failures are results ------------------------------------------------------------------


def test_server_and_network_failures_are_results(
    make_service: Callable[..., ContextService], agb_clean_emulator: Emulator
):
    service = make_service(retry=NO_RETRY)
    agb_clean_emulator.faults.fail_requests("GetContext", status=500)
    failed = service.create(unique())
    assert not failed.success
    assert "HTTP 500" in failed.error_message
    assert failed.request_id
    agb_clean_emulator.faults.invalid_json("ListContexts")
    unreadable = service.list()
    assert not unreadable.success
    assert "JSON envelope" in unreadable.error_message
    agb_clean_emulator.faults.drop_connections("DeleteContext")
    dropped = service.delete("SdkCtx-any")
    assert not dropped.success
    assert "could not delete context SdkCtx-any" in dropped.error_message


def test_a_status_outside_httpstatus_is_read_as_a_failing_status(
    make_service: Callable[..., ContextService], agb_clean_emulator: Emulator
):
    # 520 is a gateway's status that http.HTTPStatus does not list.
    service = make_service(retry=NO_RETRY)
    agb_clean_emulator.faults.fail_requests("GetContext", status=520)
    failed = service.get("SdkCtx-any")
    assert not failed.success
    assert failed.http_status == 520
    assert (failed.error_kind, failed.error_code) == ("http_status", "Error")
    assert failed.request_id
    with pytest.raises(ServerError, match=r"HTTP 520"):
        failed.raise_for_status()


def test_an_unreachable_endpoint_is_a_result(
    make_service: Callable[..., ContextService], refused_endpoint: str
):
    service = make_service(endpoint=refused_endpoint, retry=NO_RETRY)
    result = service.list()
    assert not result.success
    assert "could not list contexts" in result.error_message


# --- configuration and lifetime -----------------------------------------------------------


def test_configured_like_the_manager(
    agb_clean_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("AGB_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="no API key"):
        ContextService(endpoint=agb_clean_emulator.endpoint)
    monkeypatch.setenv("AGB_API_KEY", agb_clean_emulator.api_key)
    monkeypatch.setenv("AGB_ENDPOINT", agb_clean_emulator.endpoint)
    with ContextService() as service:
        assert service.endpoint == agb_clean_emulator.endpoint
        assert service.create(unique("env")).success
        assert agb_clean_emulator.api_key not in repr(service)
    with pytest.raises(ConfigurationError, match="timeout"):
        ContextService(timeout=-1)


def test_a_wrong_key_is_a_result(make_service: Callable[..., ContextService]):
    result = make_service(api_key="not-the-key").list()
    assert not result.success
    assert "HTTP 401" in result.error_message


def test_a_closed_service_refuses_calls(make_service: Callable[..., ContextService]):
    service = make_service()
    assert service.list().success
    service.close()
    service.close()
    with pytest.raises(RuntimeError, match="ContextService is closed"):
        service.list()


def test_a_closed_service_refuses_transfers_and_leaves_no_coroutine_unawaited(
    make_service: Callable[..., ContextService], tmp_path: Path
):
    service = make_service()
    service.close()
    calls: list[Callable[[], object]] = [
        lambda: service.upload_file("SdkCtx-x", tmp_path, "/x"),
        lambda: service.download_file("SdkCtx-x", "/x", tmp_path / "x"),
        lambda: service.upload_dir("SdkCtx-x", tmp_path),
        lambda: service.download_dir("SdkCtx-x", "/", tmp_path),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in calls:
            with pytest.raises(RuntimeError, match="ContextService is closed"):
                call()
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_every_result_holds_its_status_as_a_plain_int(service: ContextService):
    """As a sync's results do: ``to_dict()`` is plain data, and the repr shows the number."""
    made = service.create(unique())
    cid = made.context_id
    results: list[Any] = [
        made,
        service.get(context_id=cid),
        service.get(context_id="SdkCtx-none"),
        service.list(),
        service.update(Context(id=cid, name=unique("renamed"))),
        service.list_files(cid),
        service.get_file_upload_url(cid, "/a.txt"),
        service.get_file_download_url(cid, "/a.txt"),
        service.delete_file(cid, "/a.txt"),
        service.start_clear(cid),
        service.get_clear_status(cid),
        service.delete(cid),
    ]
    assert [r.http_status for r in results] == [200, 200, 404, 200, 200, 200, 200, 404, 404] + [
        200
    ] * 3
    for result in results:
        assert type(result.http_status) is int, repr(result)
        assert type(result.to_dict()["http_status"]) is int
        assert f"http_status={result.http_status}," in repr(result)


def test_the_iteration_errors_survive_pickling(
    service: ContextService, agb_clean_emulator: Emulator
):
    """As `RequestFailed` does: an exception crosses processes pickled (concurrent.futures)."""
    agb_clean_emulator.faults.fail_requests("ListContexts", 403)
    with pytest.raises(ContextListError) as listed:
        list(service.iter_contexts())
    with pytest.raises(ContextFileListError) as files:
        list(service.iter_files("SdkCtx-none"))
    for raised in (listed.value, files.value):
        copy = pickle.loads(pickle.dumps(raised))
        assert type(copy) is type(raised)
        assert copy.result == raised.result
        assert str(copy) == str(raised)
