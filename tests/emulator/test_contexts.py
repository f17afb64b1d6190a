"""The contexts of the account over real HTTP: get or create, list, rename, delete, clear."""

from __future__ import annotations

import base64
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import API_KEY, Api, assert_error, client_for, tree, wait_final, wait_until

from agb_context.emulator import Emulator

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
CLEAR_DELAY = 2.0
"""The task delay of the emulator clears are watched on: long enough to see ``clearing``."""


class Contexts:
    """The account-level routes, as the SDK calls them."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, **params: str) -> httpx.Response:
        params.setdefault("allowCreate", "false")
        return self.client.get("/sdk/GetContext", params=params)

    def create(self, name: str) -> dict[str, Any]:
        answer = self.get(name=name, allowCreate="true")
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    def list(self, **params: str) -> httpx.Response:
        return self.client.get("/sdk/ListContexts", params=params)

    def post(self, call: str, **params: str) -> httpx.Response:
        return self.client.post(f"/sdk/{call}", params=params, json={})

    def state(self, cid: str) -> str:
        answer = self.get(id=cid)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["data"]["state"])

    def walk(self, page_size: int, between: Any = None) -> list[str]:
        """Every id, page by page (``between()`` runs between two pages)."""
        ids: list[str] = []
        token: str | None = None
        while True:
            params = {"maxResults": str(page_size)}
            if token is not None:
                params["nextToken"] = token
            body = self.list(**params).json()
            assert body["success"] is True, body
            assert len(body["data"]) <= page_size
            ids += [item["id"] for item in body["data"]]
            token = body.get("nextToken")
            if not token:
                return ids
            if between is not None:
                between()


@pytest.fixture
def ctx(api: Api) -> Contexts:
    return Contexts(api.client)


# --- get, and create by name ------------------------------------------------------------


def test_get_with_allow_create_creates_once_and_returns_the_same_context(ctx: Contexts):
    made = ctx.create("my data")
    assert set(made) == {"id", "name", "createTime", "lastUsedTime", "state"}
    assert made["name"] == "my data"
    assert made["state"] == "available"
    assert ISO.match(made["createTime"])
    assert ISO.match(made["lastUsedTime"])
    assert ctx.create("my data") == made
    assert ctx.get(name="my data").json()["data"] == made
    assert ctx.get(id=made["id"]).json()["data"] == made
    assert ctx.get(id=made["id"], name="my data").json()["data"] == made


def test_concurrent_creates_of_one_name_make_one_context(
    agb_clean_emulator: Emulator, ctx: Contexts
):
    emulator = agb_clean_emulator
    start = threading.Barrier(8)

    def create(_: int) -> str:
        with client_for(emulator) as client:
            start.wait(10)
            return str(Contexts(client).create("shared")["id"])

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(8)))
    assert len(ids) == 1
    assert ctx.walk(100) == list(ids)


def test_unknown_contexts_are_404_envelopes(ctx: Contexts):
    assert_error(ctx.get(id="SdkCtx-nope"), 404, "ContextNotFound", "SdkCtx-nope")
    assert_error(ctx.get(name="nobody has this"), 404, "ContextNotFound", "nobody has this")
    made = ctx.create("named once")
    assert_error(ctx.get(id=made["id"], name="another"), 404, "ContextNotFound", "another")
    for call in ("ModifyContext", "DeleteContext", "ClearContext"):
        params = {"id": "SdkCtx-nope", **({"name": "x"} if call == "ModifyContext" else {})}
        assert_error(ctx.post(call, **params), 404, "ContextNotFound", "SdkCtx-nope")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({}, "MissingParameter", ["id or name"]),
        ({"id": "SdkCtx-1", "allowCreate": "true"}, "InvalidParameter", ["name only"]),
        ({"name": "a", "allowCreate": "yes"}, "InvalidParameter", ["allowCreate", "'yes'"]),
        ({"name": "a", "colour": "red"}, "InvalidParameter", ["unknown parameter 'colour'"]),
    ],
)
def test_get_refuses_what_it_cannot_answer(
    ctx: Contexts, params: dict[str, str], code: str, words: list[str]
):
    assert_error(ctx.get(**params), 400, code, *words)


def test_get_needs_allow_create(ctx: Contexts):
    answer = ctx.client.get("/sdk/GetContext", params={"name": "a"})
    assert_error(answer, 400, "MissingParameter", "allowCreate")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("x" * 257, ["257 characters"]),
        ("line\nbreak", ["U+000A"]),
        ("bell\x07", ["U+0007"]),
        ("../etc", ["'/'"]),
        ("a\\b", ["'\\'"]),
        ("..", ["'..'"]),
        (" padded", ["space"]),
        ("zero\u200bwidth", ["U+200B"]),
    ],
)
def test_hostile_names_are_refused(ctx: Contexts, name: str, words: list[str]):
    assert_error(ctx.get(name=name, allowCreate="true"), 400, "InvalidParameter", *words)
    made = ctx.create("target of hostile renames")
    answer = ctx.post("ModifyContext", id=made["id"], name=name)
    assert_error(answer, 400, "InvalidParameter", *words)
    assert ctx.get(id=made["id"]).json()["data"]["name"] == "target of hostile renames"


# --- list -----------------------------------------------------------------------------------


def test_pages_list_every_context_once_in_creation_order(ctx: Contexts):
    made = [ctx.create(f"ctx {n:02d}")["id"] for n in range(11)]
    first = ctx.list(maxResults="4").json()
    assert (first["maxResults"], first["totalCount"], len(first["data"])) == (4, 11, 4)
    token = first["nextToken"]
    assert not any(cid in base64.urlsafe_b64decode(token + "==").decode() for cid in made)
    assert ctx.walk(4) == made
    assert ctx.walk(11) == made
    assert ctx.walk(100) == made
    default = ctx.list().json()
    assert (default["maxResults"], len(default["data"])) == (10, 10)
    last = ctx.list(maxResults="1", nextToken=_token_after(ctx, made[-2])).json()
    assert [item["id"] for item in last["data"]] == [made[-1]]
    assert "nextToken" not in last


def _token_after(ctx: Contexts, cid: str) -> str:
    token: str | None = None
    while True:
        params = {"maxResults": "1", **({"nextToken": token} if token else {})}
        body = ctx.list(**params).json()
        token = body["nextToken"]
        if body["data"][0]["id"] == cid:
            return str(token)


def test_paging_stays_correct_while_contexts_come_and_go(
    agb_clean_emulator: Emulator, ctx: Contexts
):
    emulator = agb_clean_emulator
    kept = [ctx.create(f"kept {n:02d}")["id"] for n in range(12)]
    doomed = [ctx.create(f"doomed {n:02d}")["id"] for n in range(6)]
    created: list[str] = []
    pages = iter(range(5))

    def churn() -> None:
        # between the first pages: other clients create contexts and delete some
        if next(pages, None) is None:
            return
        with client_for(emulator) as client, ThreadPoolExecutor(4) as pool:
            other = Contexts(client)
            names = [f"new {len(created) + n:03d}" for n in range(4)]
            created.extend(pool.map(lambda name: str(other.create(name)["id"]), names))
            if doomed:
                assert other.post("DeleteContext", id=doomed.pop()).status_code == 200

    listed = ctx.walk(3, between=churn)
    assert len(listed) == len(set(listed)), "a context was listed twice"
    assert [cid for cid in listed if cid in kept] == kept
    assert set(listed) <= set(kept) | set(created) | set(doomed) | set(_deleted(ctx, listed))


def _deleted(ctx: Contexts, listed: list[str]) -> list[str]:
    return [cid for cid in listed if ctx.get(id=cid).status_code == 404]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"maxResults": "0"}, ["maxResults", "1 to 100"]),
        ({"maxResults": "101"}, ["maxResults"]),
        ({"maxResults": "ten"}, ["maxResults"]),
        ({"nextToken": "bm90LWEtdG9rZW4"}, ["nextToken", "not a token"]),
        ({"nextToken": "%%%"}, ["nextToken"]),
        ({"nextToken": ""}, ["nextToken", "leave it out"]),
    ],
)
def test_list_refuses_bad_pages(ctx: Contexts, params: dict[str, str], words: list[str]):
    assert_error(ctx.list(**params), 400, "InvalidParameter", *words)


# --- rename -----------------------------------------------------------------------------


def test_rename_keeps_names_unique(ctx: Contexts):
    first = ctx.create("rename me")
    other = ctx.create("taken name")
    assert ctx.post("ModifyContext", id=first["id"], name="renamed").json()["success"] is True
    assert ctx.get(id=first["id"]).json()["data"]["name"] == "renamed"
    assert ctx.get(name="rename me").status_code == 404
    assert ctx.create("rename me")["id"] != first["id"]
    answer = ctx.post("ModifyContext", id=first["id"], name="taken name")
    assert_error(answer, 409, "ContextNameConflict", other["id"], "taken name")
    assert ctx.post("ModifyContext", id=first["id"], name="renamed").status_code == 200
    assert_error(ctx.post("ModifyContext", id=first["id"]), 400, "MissingParameter", "name")


# --- sessions refer to contexts ---------------------------------------------------------


def test_session_mounts_refer_to_contexts(agb_clean_emulator: Emulator, ctx: Contexts):
    made = ctx.create("mounted by id")
    sid = agb_clean_emulator.create_session(
        mounts={made["id"]: "/home/data", "implicit-ctx": "/home/other"}
    )
    assert ctx.get(id=made["id"]).json()["data"]["name"] == "mounted by id"
    implicit = ctx.get(id="implicit-ctx").json()["data"]
    assert (implicit["name"], implicit["state"]) == ("implicit-ctx", "available")
    (agb_clean_emulator.session_path(sid, "/home/data") / "f.txt").write_text("x")
    Api(ctx.client).sync(sid, contextId=made["id"], path="/home/data")
    assert wait_final(agb_clean_emulator, sid)[0].status == "Success"
    assert tree(agb_clean_emulator.context_path(made["id"])) == {"f.txt": b"x"}


def test_a_mount_of_an_unknown_id_named_like_another_context_is_refused(
    agb_clean_emulator: Emulator, ctx: Contexts
):
    ctx.create("looks-like-an-id")
    with pytest.raises(ValueError, match="looks-like-an-id"):
        agb_clean_emulator.create_session(mounts={"looks-like-an-id": "/home/data"})


# --- delete ---------------------------------------------------------------------------------


def test_delete_removes_the_context_and_its_data_but_not_a_sessions_files(
    agb_clean_emulator: Emulator, ctx: Contexts
):
    made = ctx.create("to delete")
    cid = made["id"]
    sid = agb_clean_emulator.create_session(mounts={cid: "/home/data"})
    mount = agb_clean_emulator.session_path(sid, "/home/data")
    (mount / "kept.txt").write_text("mine")
    api = Api(ctx.client)
    api.sync(sid, contextId=cid, path="/home/data")
    assert wait_final(agb_clean_emulator, sid)[0].status == "Success"

    assert ctx.post("DeleteContext", id=cid).json()["success"] is True
    assert_error(ctx.get(id=cid), 404, "ContextNotFound")
    wait_until(
        lambda: not agb_clean_emulator.context_path(cid).exists(), what="the stored data removed"
    )
    assert ctx.create("to delete")["id"] != cid, "the name is free again"

    # the live session keeps its mount and files; its syncs of the deleted context fail
    assert tree(mount) == {"kept.txt": b"mine"}
    assert api.sync(sid, contextId=cid, path="/home/data").status_code == 200
    tasks = wait_final(agb_clean_emulator, sid, 2)
    assert tasks[-1].status == "Failed"
    assert "was deleted" in tasks[-1].error_message
    assert not agb_clean_emulator.context_path(cid).exists()
    assert api.info(sid).status_code == 200
    assert tree(mount) == {"kept.txt": b"mine"}


# --- clear ----------------------------------------------------------------------------------


def test_clear_is_clearing_then_available_with_the_data_gone(agb_clean_emulator: Emulator):
    emulator = agb_clean_emulator
    emulator.set_task_delay(CLEAR_DELAY)
    with client_for(emulator) as client:
        ctx, api = Contexts(client), Api(client)
        cid = ctx.create("to clear")["id"]
        sid = emulator.create_session(mounts={cid: "/home/data"})
        (emulator.session_path(sid, "/home/data") / "old.txt").write_text("old")
        api.sync(sid, contextId=cid, path="/home/data")
        assert wait_final(emulator, sid)[0].status == "Success"

        asked = time.monotonic()
        assert ctx.post("ClearContext", id=cid).json()["success"] is True
        state = ctx.state(cid)
        # the clear takes the task delay: a read answered sooner sees it clearing
        if time.monotonic() - asked < CLEAR_DELAY:
            assert state == "clearing"
        assert ctx.post("ClearContext", id=cid).status_code == 200, "a second clear is fine"
        seen: list[str] = []

        def available() -> bool:
            seen.append(ctx.state(cid))
            if seen[-1] == "available":
                assert not emulator.context_path(cid).exists(), (
                    "available before the data was gone"
                )
            return seen[-1] == "available"

        wait_until(available, 30, "the clear to finish")
        assert set(seen) <= {"clearing", "available"}
        assert time.monotonic() - asked >= CLEAR_DELAY, "available before the task delay"
        assert not emulator.context_path(cid).exists()
        listed = ctx.list(maxResults="100").json()["data"]
        assert [c["state"] for c in listed if c["id"] == cid] == ["available"]

        api.sync(sid, contextId=cid, path="/home/data", mode="download")
        tasks = wait_final(emulator, sid, 2)
        assert "no stored content" in tasks[-1].error_message


# --- persistence ------------------------------------------------------------------------


def test_contexts_survive_a_restart_and_paging_goes_on(data_dir: Path):
    with Emulator(data_dir=data_dir, api_key=API_KEY) as first, client_for(first) as client:
        ctx = Contexts(client)
        made = [ctx.create(f"persisted {n}") for n in range(5)]
        first.create_session(mounts={"from-a-mount": "/home/data"})
        token = ctx.list(maxResults="2").json()["nextToken"]

    with Emulator(data_dir=data_dir, api_key=API_KEY) as second, client_for(second) as client:
        ctx = Contexts(client)
        ids = [m["id"] for m in made] + ["from-a-mount"]
        assert ctx.walk(2) == ids
        assert ctx.get(id=made[0]["id"]).json()["data"] == made[0]
        rest = ctx.list(maxResults="100", nextToken=token).json()["data"]
        assert [c["id"] for c in rest] == ids[2:]
        assert ctx.create("persisted 0")["id"] == made[0]["id"]


def test_a_clear_cut_short_by_a_stop_is_completed_on_restart(data_dir: Path):
    emulator = Emulator(data_dir=data_dir, api_key=API_KEY, task_delay=600)
    with emulator, client_for(emulator) as client:
        ctx = Contexts(client)
        cid = ctx.create("interrupted")["id"]
        stored = emulator.context_path(cid)
        stored.mkdir()
        (stored / "f.txt").write_text("x")
        ctx.post("ClearContext", id=cid)
        assert ctx.state(cid) == "clearing"
    assert stored.exists()
    with Emulator(data_dir=data_dir, api_key=API_KEY) as again, client_for(again) as client:
        assert Contexts(client).state(cid) == "available"
        assert not stored.exists()


def test_a_data_folder_from_before_context_records_gets_them(data_dir: Path):
    with Emulator(data_dir=data_dir, api_key=API_KEY) as first:
        first.create_session(mounts={"old-mount": "/home/data"})
        stored = first.context_path("old-stored")
        stored.mkdir()
        (stored / "f.txt").write_text("x")
    (data_dir / "contexts.json").unlink()
    with Emulator(data_dir=data_dir, api_key=API_KEY) as second, client_for(second) as client:
        listed = Contexts(client).list().json()["data"]
        assert sorted((c["id"], c["name"]) for c in listed) == [
            ("old-mount", "old-mount"),
            ("old-stored", "old-stored"),
        ]
