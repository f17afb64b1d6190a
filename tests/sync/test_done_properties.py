"""Property: a sync reports success only once every task it started was seen final with
``Success``, whatever a cloud lists meanwhile.

The cloud here is scripted in an `httpx.MockTransport`: each script fixes how many
polls the new task takes to be listed, to start and to end, how it ends, the
mount's earlier tasks (one of them possibly still running when the sync starts),
whether earlier tasks and the other direction are listed, the order of the list on
each poll, and which polls fail. The emulator shows each behaviour on its own
(tests/sync/test_done.py); it cannot be made to list in arbitrary orders or to
fail exactly the polls a script picks, which is what this test explores.
"""

from __future__ import annotations

import asyncio
import json
import random

import attrs
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agb_context import ContextManager, ContextStatusData, ContextSyncResult, PollingPolicy
from agb_context._status_codec import encode_context_status
from agb_context_api import AuthenticatedClient

CID, PATH, SID = "ctx-a", "/home/data", "session-1"
POLICY = PollingPolicy(interval=0.001, max_polls=40, grace=0.0, grace_polls=3)


@attrs.frozen
class Script:
    direction: str
    lag: int
    """Polls after the start during which the new task is not listed (< grace_polls)."""
    pending: int
    running: int
    outcome: str
    earlier: tuple[str, ...]
    """Final statuses of the mount's earlier tasks of the same direction, oldest first."""
    earlier_running_outcome: str | None
    """An earlier task still running when the sync starts, and how it ends (None: none)."""
    earlier_running_ends: int
    history: bool
    other_direction: bool
    """The cloud ignores ``taskType``: a task of the other direction is listed too."""
    failing_polls: frozenset[int]
    seed: int


scripts = st.builds(
    Script,
    direction=st.sampled_from(["upload", "download"]),
    lag=st.integers(0, POLICY.grace_polls - 1),
    pending=st.integers(0, 3),
    running=st.integers(0, 3),
    outcome=st.sampled_from(["Success", "Failed"]),
    earlier=st.lists(st.sampled_from(["Success", "Failed"]), max_size=3).map(tuple),
    earlier_running_outcome=st.none() | st.sampled_from(["Success", "Failed"]),
    earlier_running_ends=st.integers(0, 4),
    history=st.booleans(),
    other_direction=st.booleans(),
    failing_polls=st.frozensets(st.integers(0, 12), max_size=4),
    seed=st.integers(0, 2**16),
)


class ScriptedCloud:
    """Answers SyncContext and GetContextInfo as the script says; records what it showed."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.started = False
        self.polls = 0
        """Status polls answered since the start (the read before it is not one)."""
        self.new_task_seen_final: ContextStatusData | None = None
        self.shuffle = random.Random(script.seed)

    def _task(self, status: str, start: int, finish: int, direction: str) -> ContextStatusData:
        return ContextStatusData(
            context_id=CID,
            path=PATH,
            status=status,
            task_type=direction,
            start_time=start,
            finish_time=finish,
            error_message="failed" if status == "Failed" else "",
        )

    def listed(self) -> list[ContextStatusData]:
        s = self.script
        poll = self.polls
        earlier = [
            self._task(status, 1000 + 10 * i, 1005 + 10 * i, s.direction)
            for i, status in enumerate(s.earlier)
        ]
        if s.earlier_running_outcome is not None:
            done = self.started and poll >= s.earlier_running_ends
            status = s.earlier_running_outcome if done else "Running"
            earlier.append(self._task(status, 2000, 2050 if done else 0, s.direction))
        tasks = earlier if s.history else earlier[-1:]
        if self.started and poll >= s.lag:
            age = poll - s.lag
            if age < s.pending:
                new = self._task("Pending", 0, 0, s.direction)
            elif age < s.pending + s.running:
                new = self._task("Running", 5000, 0, s.direction)
            else:
                new = self._task(s.outcome, 5000, 6000, s.direction)
            tasks = [*tasks, new] if s.history else [new]
        if s.other_direction:
            # a task of the other direction, pending when the sync starts, that fails later
            other = "download" if s.direction == "upload" else "upload"
            if self.started and poll >= 2:
                tasks.append(self._task("Failed", 900, 901, other))
            else:
                tasks.append(self._task("Pending", 0, 0, other))
        self.shuffle.shuffle(tasks)
        return tasks

    def handle(self, request: httpx.Request) -> httpx.Response:
        ok = {"success": True, "code": "", "message": "", "requestId": "R", "httpStatusCode": 200}
        if request.url.path == "/sdk/SyncContext":
            self.started = True
            return httpx.Response(200, json=ok)
        assert request.url.params["taskType"] == self.script.direction
        if self.started:
            self.polls += 1
            if self.polls in self.script.failing_polls:
                return httpx.Response(500, json={**ok, "success": False, "message": "boom"})
        listed = self.listed()
        for task in listed:
            new = task.start_time == 5000 and task.task_type == self.script.direction
            if self.started and new and task.is_final:
                self.new_task_seen_final = task
        body = {**ok, "data": {"contextStatus": encode_context_status(listed)}}
        return httpx.Response(200, content=json.dumps(body).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts)
def test_success_only_once_every_task_the_sync_started_was_seen_final_with_success(
    script: Script,
) -> None:
    cloud = ScriptedCloud(script)
    cm = ContextManager(SID, api_key="k", endpoint="http://127.0.0.1:9")

    async def main() -> object:
        transport = httpx.MockTransport(cloud.handle)
        client = AuthenticatedClient(base_url=cm.endpoint, token="").set_async_httpx_client(
            httpx.AsyncClient(base_url=cm.endpoint, transport=transport)
        )

        async def scripted() -> AuthenticatedClient:
            return client

        cm._async_client = scripted  # type: ignore[method-assign]
        return await cm.sync(CID, PATH, mode=script.direction, polling=POLICY)

    result = asyncio.run(main())
    assert isinstance(result, ContextSyncResult)
    cm.close()
    seen = cloud.new_task_seen_final
    if result.success:
        assert seen is not None, (script, result)
        assert seen.status == "Success", (script, result)
        assert result.context_status_data == (seen,)
    elif seen is not None and seen.status == "Success":
        # a success can be missed only when the polls ran out first
        assert "timed out" in result.error_message or "polls failed" in result.error_message
    if seen is not None and seen.status == "Failed":
        assert not result.success
        assert "failed" in result.error_message
