"""The emulator's data folder: stored contexts, sessions, their mounts and task history.

Layout of the data folder::

    contexts.json                         the contexts: ids, names, times, states
    contexts/<contextId>/                 the stored content of each context
    sessions/<sessionId>/session.json     the session's mounts and task history
    sessions/<sessionId>/mounts/<NN-name>/ the folder behind each mount

Folder names are never taken from a client as they are: context ids are
checked (letters, digits, ``.``, ``_``, ``-``), session ids are made here,
and mount folders are numbered. Everything survives a restart on the same
data folder.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from agb_context._status_codec import task_from_wire, task_to_wire
from agb_context._types import FINAL_STATUSES, SyncMode, TaskStatus, is_sync_mode, is_task_status
from agb_context.emulator import _validation as check
from agb_context.emulator._behaviour import CloudBehaviour
from agb_context.emulator._contexts import ContextRecords
from agb_context.emulator._copy import recover
from agb_context.emulator._ids import Ids
from agb_context.emulator._records import TaskRecord
from agb_context.emulator._validation import NotFound

logger = logging.getLogger("agb_context.emulator")

HISTORY_LIMIT = 100
"""Tasks kept per session; the oldest finished ones go first."""

_FORMAT = 1
_SESSION_ID = re.compile(r"session-[0-9a-f]{16}\Z")
_MOUNT_FOLDER = re.compile(r"[0-9]{2,}-[A-Za-z0-9._-]*\Z")


def epoch_ms() -> int:
    """Now, in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


@attrs.define(kw_only=True)
class Mount:
    """A context mounted into a session, and the local folder behind it."""

    context_id: str
    path: str
    folder: Path


@attrs.define(kw_only=True, eq=False)
class Task:
    """One sync task: its id, and its current state (change it through `Store.update_task`)."""

    id: str
    state: TaskRecord
    listed_from: float = 0.0
    """`time.monotonic` from which ``GetContextInfo`` lists the task (registration lag)."""

    @property
    def is_final(self) -> bool:
        return self.state.is_final

    @property
    def label(self) -> str:
        """E.g. ``upload of context ctx-a at /home/data``, for messages."""
        state = self.state
        return f"{state.task_type} of context {state.context_id} at {state.path}"


@attrs.define(kw_only=True, eq=False)
class Session:
    """A session: its mounts and its task history (oldest first)."""

    id: str
    folder: Path
    mounts: list[Mount]
    tasks: list[Task] = attrs.field(factory=list)

    def mount(self, context_id: str, path: str) -> Mount:
        for mount in self.mounts:
            if mount.context_id == context_id and mount.path == path:
                return mount
        listed = ", ".join(f"{m.context_id} at {m.path}" for m in self.mounts) or "none"
        raise NotFound(
            "MountNotFound",
            f"session {self.id} has no mount of context {context_id!r} at {path!r}; "
            f"its mounts: {listed}",
        )

    def mount_at(self, path: str) -> Mount:
        for mount in self.mounts:
            if mount.path == path:
                return mount
        listed = ", ".join(m.path for m in self.mounts) or "none"
        raise NotFound(
            "MountNotFound",
            f"session {self.id} has nothing mounted at {path!r}; its mounts: {listed}",
        )


class Store:
    """Sessions and stored contexts in one data folder; safe to use from any thread."""

    def __init__(self, root: Path, ids: Ids | None = None) -> None:
        self.root = root
        self.ids = ids or Ids()
        self.contexts = root / "contexts"
        self.sessions_folder = root / "sessions"
        self.lock = threading.RLock()
        self._sessions: dict[str, Session] = {}
        self.context_records = ContextRecords(root / "contexts.json", self.contexts, self.ids)
        """The contexts of the account, which session mounts refer to."""

    def open(self) -> None:
        """Create the layout, put right interrupted copies, and load the sessions."""
        with self.lock:
            self.contexts.mkdir(parents=True, exist_ok=True)
            self.sessions_folder.mkdir(parents=True, exist_ok=True)
            recover(self.contexts)
            self._sessions.clear()
            for folder in sorted(self.sessions_folder.iterdir()):
                session = self._load(folder)
                if session is not None:
                    recover(folder / "mounts")
                    for mount in session.mounts:
                        mount.folder.mkdir(parents=True, exist_ok=True)
                    self._sessions[session.id] = session
            self.context_records.open(
                mount.context_id for session in self._sessions.values() for mount in session.mounts
            )

    def reset(self) -> None:
        """Forget every session and context, and delete their folders.

        Call it only while no task runs (`TaskRunner.reset` stops them).
        """
        with self.lock:
            self._sessions.clear()
            for folder in (self.contexts, self.sessions_folder):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
            self.context_records.reset()

    def create_session(self, mounts: Mapping[str, str]) -> Session:
        """A new session with these mounts (context id -> mount path); folders created.

        Each mount refers to the context with that id, created (named after
        its id) when there is none.

        Raises:
            InvalidValue: A context id or path is unusable, or a path is used twice.
        """
        checked = check.mounts(dict(mounts) if isinstance(mounts, Mapping) else mounts)
        with self.lock:
            for cid in checked:
                self.context_records.ensure(cid)
            sid = self.ids.session_id()
            while sid in self._sessions or (self.sessions_folder / sid).exists():
                sid = self.ids.session_id()
            folder = self.sessions_folder / sid
            session = Session(
                id=sid,
                folder=folder,
                mounts=[
                    Mount(context_id=cid, path=path, folder=_mount_folder(folder, i, path))
                    for i, (cid, path) in enumerate(checked.items())
                ],
            )
            for mount in session.mounts:
                mount.folder.mkdir(parents=True)
            self._save(session)
            self._sessions[sid] = session
            return session

    def session(self, session_id: str) -> Session:
        """The session with this id.

        Raises:
            NotFound: There is none.
        """
        with self.lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise NotFound(
                "SessionNotFound",
                f"no session {session_id!r}: create one first (POST /emulator/sessions)",
            )
        return session

    def context_path(self, context_id: str) -> Path:
        """The folder holding a stored context (absent until its first upload)."""
        return self.contexts / check.context_id(context_id)

    def add_task(
        self, session: Session, mount: Mount, task_type: SyncMode, listed_from: float = 0.0
    ) -> Task:
        """A new ``Pending`` task for ``mount``, added to the session's history."""
        task = Task(
            id=self.ids.task_id(),
            state=TaskRecord(context_id=mount.context_id, path=mount.path, task_type=task_type),
            listed_from=listed_from,
        )
        with self.lock:
            session.tasks.append(task)
            while len(session.tasks) > HISTORY_LIMIT:
                oldest = next((t for t in session.tasks if t.is_final), session.tasks[0])
                session.tasks.remove(oldest)
            self._save(session)
        return task

    def update_task(
        self,
        session: Session,
        task: Task,
        status: TaskStatus,
        *,
        start_time: int | None = None,
        finish_time: int | None = None,
        error_message: str | None = None,
    ) -> None:
        """Move a task to ``status`` (with the times and error given) and write its
        session down; a task becoming final gets its ``final_monotonic``."""
        state = attrs.evolve(
            task.state,
            status=status,
            final_monotonic=time.monotonic() if status in FINAL_STATUSES else None,
        )
        if start_time is not None:
            state = attrs.evolve(state, start_time=start_time)
        if finish_time is not None:
            state = attrs.evolve(state, finish_time=finish_time)
        if error_message is not None:
            state = attrs.evolve(state, error_message=error_message)
        with self.lock:
            task.state = state
            if task in session.tasks:
                self._save(session)

    def records(self, session: Session) -> list[TaskRecord]:
        """Snapshots of the session's task history, oldest first."""
        with self.lock:
            return [task.state for task in session.tasks]

    def listed_tasks(
        self,
        session: Session,
        context_id: str | None = None,
        path: str | None = None,
        task_type: SyncMode | None = None,
        *,
        behaviour: CloudBehaviour | None = None,
    ) -> list[TaskRecord]:
        """What ``GetContextInfo`` lists: for each mount matching the filters, in
        mount order, its newest listed task, after as many earlier ones (oldest
        first) as ``behaviour.history`` asks for. Tasks still in their
        registration lag are not listed; ``behaviour.ignore_task_type`` drops
        the ``task_type`` filter."""
        shown = behaviour or CloudBehaviour()
        if shown.ignore_task_type:
            task_type = None
        now = time.monotonic()
        with self.lock:
            report: list[TaskRecord] = []
            for mount in session.mounts:
                if context_id is not None and mount.context_id != context_id:
                    continue
                if path is not None and mount.path != path:
                    continue
                listed = [
                    task
                    for task in session.tasks
                    if (task.state.context_id, task.state.path) == (mount.context_id, mount.path)
                    and (task_type is None or task.state.task_type == task_type)
                    and task.listed_from <= now
                ]
                report += [task.state for task in listed[-(shown.history + 1) :]]
            return report

    def unfinished(self) -> Iterator[tuple[Session, Task]]:
        """Tasks that were not final when the emulator last stopped."""
        with self.lock:
            pending = [
                (session, task)
                for session in self._sessions.values()
                for task in session.tasks
                if not task.is_final
            ]
        return iter(pending)

    def _save(self, session: Session) -> None:
        document = {
            "format": _FORMAT,
            "sessionId": session.id,
            "mounts": [
                {"contextId": m.context_id, "path": m.path, "folder": m.folder.name}
                for m in session.mounts
            ],
            "tasks": [{"id": t.id, **task_to_wire(t.state)} for t in session.tasks],
        }
        session.folder.mkdir(parents=True, exist_ok=True)
        target = session.folder / "session.json"
        scratch = session.folder / f".session.json.{secrets.token_hex(4)}"
        scratch.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(scratch, target)

    def _load(self, folder: Path) -> Session | None:
        if not _SESSION_ID.match(folder.name) or not folder.is_dir() or folder.is_symlink():
            return None
        for leftover in folder.glob(".session.json.*"):
            leftover.unlink(missing_ok=True)
        try:
            document = json.loads((folder / "session.json").read_text(encoding="utf-8"))
            mounts = [
                Mount(
                    context_id=check.context_id(item["contextId"]),
                    path=check.mount_path(item["path"]),
                    folder=folder / "mounts" / _checked_folder(item["folder"]),
                )
                for item in document["mounts"]
            ]
            tasks = [_task_from_json(item) for item in document["tasks"]]
            if document["sessionId"] != folder.name:
                raise ValueError("the session id does not match its folder")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring session folder %s: %s", folder, exc)
            return None
        return Session(id=folder.name, folder=folder, mounts=mounts, tasks=tasks)


def _mount_folder(session_folder: Path, index: int, path: str) -> Path:
    """A numbered folder, named after the path with unsafe characters replaced."""
    name = f"{index:02d}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", path.strip("/"))[:48]
    return session_folder / "mounts" / name


def _checked_folder(name: object) -> str:
    if not isinstance(name, str) or not _MOUNT_FOLDER.match(name):
        raise ValueError(f"bad mount folder name {name!r}")
    return name


def _task_from_json(item: dict[str, Any]) -> Task:
    task = task_from_wire(item)
    if not is_sync_mode(task.task_type):
        raise ValueError(f"bad task type {task.task_type!r}")
    if not is_task_status(task.status):
        raise ValueError(f"bad task status {task.status!r}")
    state = TaskRecord(
        context_id=check.context_id(task.context_id),
        path=check.mount_path(task.path),
        task_type=task.task_type,
        status=task.status,
        start_time=task.start_time,
        finish_time=task.finish_time,
        error_message=task.error_message,
    )
    return Task(id=str(item["id"]), state=state)
