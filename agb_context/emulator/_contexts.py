"""The contexts of the emulated account: named records kept in ``contexts.json``.

A context has an id made here, a name unique in the account, two times
(ISO 8601 UTC) and a state: ``available``, or ``clearing`` while its stored
data is being cleared. The records are written down on every change (to a
scratch file, then renamed over ``contexts.json``), so they survive a
restart; a clear cut short by a stop is completed on the next start.

Listing pages follow creation order. A page token names the position after
the last context listed, so contexts created or deleted between two pages
never make a listing skip or repeat one that exists throughout.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from agb_context import _validation as facade_check
from agb_context.emulator import _validation as check
from agb_context.emulator._copy import discard_tree
from agb_context.emulator._ids import Ids
from agb_context.emulator._validation import InvalidValue, NotFound

logger = logging.getLogger("agb_context.emulator")

AVAILABLE = "available"
CLEARING = "clearing"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10

CONTEXT_ENDPOINTS = {
    ("GET", "/sdk/ListContexts"): "ListContexts",
    ("GET", "/sdk/GetContext"): "GetContext",
    ("POST", "/sdk/ModifyContext"): "ModifyContext",
    ("POST", "/sdk/DeleteContext"): "DeleteContext",
    ("POST", "/sdk/ClearContext"): "ClearContext",
}
"""The account-level context routes, and the endpoint names faults and records use."""

_FORMAT = 1
_TOKEN = re.compile(r"after-([0-9]{1,18})\Z")


class NameTaken(InvalidValue):
    """Another context already has this name (HTTP 409)."""

    code = "ContextNameConflict"


@attrs.frozen(kw_only=True)
class StoredContext:
    """One context of the account, as ``GetContext`` reports it."""

    id: str
    name: str
    create_time: str
    """When it was created: ISO 8601 UTC, e.g. ``2026-11-25T21:52:20Z``."""
    last_used_time: str
    """When a session mounting it was created, or a sync of it last ran."""
    state: str = AVAILABLE
    """``available``, or ``clearing`` while its stored data is being cleared."""
    seq: int = attrs.field(default=0, repr=False)
    """Its place in creation order (what page tokens refer to)."""

    def to_wire(self) -> dict[str, str]:
        """The context object of the API."""
        return {
            "id": self.id,
            "name": self.name,
            "createTime": self.create_time,
            "lastUsedTime": self.last_used_time,
            "state": self.state,
        }


@attrs.frozen(kw_only=True)
class ContextPage:
    """One page of a listing."""

    contexts: list[StoredContext]
    next_token: str | None
    total_count: int


def now_iso() -> str:
    """The time now, as the emulator writes times: ISO 8601 UTC to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def context_name(value: object, name: str = "name") -> str:
    """A name as a client sent it: the SDK's rule, without removing surrounding spaces."""
    try:
        return facade_check.context_name(value, name, strip=False)
    except facade_check.InvalidArgument as exc:
        raise InvalidValue(str(exc)) from None


def page_size(value: str | None) -> int:
    """``maxResults``: a whole number from 1 to `MAX_PAGE_SIZE`; 10 when omitted."""
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise InvalidValue(
            f"maxResults must be a whole number from 1 to {MAX_PAGE_SIZE}, "
            f"not {check.shown(value)}"
        )
    return int(value)


def _token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after-{seq}".encode()).decode().rstrip("=")


def _position(token: str) -> int:
    """The ``seq`` a page token says to continue after."""
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    match = _TOKEN.match(decoded)
    if match is None:
        raise InvalidValue(
            f"nextToken {check.shown(token)} is not a token this server gave: pass the "
            "nextToken of the previous page as it came, or leave it out to start again"
        )
    return int(match.group(1))


class ContextRecords:
    """Every context of the account; safe to use from any thread."""

    def __init__(self, file: Path, data_folder: Path, ids: Ids | None = None) -> None:
        self._file = file
        self._ids = ids or Ids()
        self._data = data_folder
        self._lock = threading.Lock()
        self._by_id: dict[str, StoredContext] = {}
        self._next_seq = 1

    def open(self, mounted: Iterable[str] = ()) -> None:
        """Load the records, completing clears cut short by a stop.

        The first time (no ``contexts.json`` yet), contexts that have stored
        data or are ``mounted`` in a session get a record named after their id;
        afterwards stored data without a record (of a context deleted just
        before a stop) is removed.
        """
        with self._lock:
            self._by_id.clear()
            self._next_seq = 1
            first_time = not self._file.exists()
            if not first_time:
                self._load()
            stored = sorted(
                entry.name
                for entry in (self._data.iterdir() if self._data.is_dir() else [])
                if entry.is_dir() and not entry.name.startswith(".")
            )
            for cid in stored:
                if cid in self._by_id:
                    continue
                if first_time:
                    self._add(cid, cid)
                else:
                    logger.info("removing the stored data of deleted context %s", cid)
                    discard_tree(self._data / cid)
            if first_time:
                for cid in mounted:
                    if cid not in self._by_id:
                        self._add(cid, self._free_name(cid))
            for record in list(self._by_id.values()):
                if record.state == CLEARING:
                    logger.info("completing the interrupted clear of context %s", record.id)
                    discard_tree(self._data / record.id)
                    self._by_id[record.id] = attrs.evolve(record, state=AVAILABLE)
            self._save()

    def reset(self) -> None:
        """Forget every context (their stored data is for the caller to remove)."""
        with self._lock:
            self._by_id.clear()
            self._next_seq = 1
            self._save()

    # -- reading -------------------------------------------------------------

    def get(self, context_id: str) -> StoredContext:
        """The context with this id.

        Raises:
            NotFound: There is none (never was, or it was deleted).
        """
        with self._lock:
            record = self._by_id.get(context_id)
        if record is None:
            raise _not_found(f"no context with id {check.shown(context_id)}")
        return record

    def find(self, name: str) -> StoredContext:
        """The context with this name.

        Raises:
            NotFound: There is none.
        """
        with self._lock:
            record = self._named(name)
        if record is None:
            raise _not_found(f"no context named {check.shown(name)}")
        return record

    def all(self) -> list[StoredContext]:
        """Every context, in creation order."""
        with self._lock:
            return sorted(self._by_id.values(), key=lambda record: record.seq)

    def page(self, max_results: int, token: str | None) -> ContextPage:
        """The ``max_results`` contexts created after the position ``token`` names.

        Raises:
            InvalidValue: ``token`` was not made by `page`.
        """
        after = 0 if token is None else _position(token)
        with self._lock:
            ordered = sorted(self._by_id.values(), key=lambda record: record.seq)
        rest = [record for record in ordered if record.seq > after]
        shown = rest[:max_results]
        more = len(rest) > max_results
        return ContextPage(
            contexts=shown,
            next_token=_token(shown[-1].seq) if more else None,
            total_count=len(ordered),
        )

    # -- changing ------------------------------------------------------------

    def get_or_create(self, name: str) -> tuple[StoredContext, bool]:
        """The context named ``name``, created if there is none; and whether it was created."""
        with self._lock:
            record = self._named(name)
            if record is not None:
                return record, False
            record = self._add(self._new_id(), name)
            self._save()
        logger.info("created context %s named %r", record.id, record.name)
        return record, True

    def ensure(self, context_id: str) -> StoredContext:
        """The context with this id, created (named after its id) if there is none.

        What a new session's mounts refer to.

        Raises:
            NameTaken: There is none, and another context is named after this id.
        """
        with self._lock:
            record = self._by_id.get(context_id)
            if record is None:
                if self._named(context_id) is not None:
                    raise NameTaken(
                        f"there is no context with id {check.shown(context_id)}, and another "
                        "context is named so: mount that context by its id"
                    )
                record = self._add(context_id, context_id)
                logger.info("created context %s for a session mount", context_id)
            else:
                record = self._by_id[context_id] = attrs.evolve(record, last_used_time=now_iso())
            self._save()
            return record

    def touch(self, context_id: str) -> bool:
        """Record that a sync of the context runs now; False if there is no such context."""
        with self._lock:
            record = self._by_id.get(context_id)
            if record is None:
                return False
            self._by_id[context_id] = attrs.evolve(record, last_used_time=now_iso())
            self._save()
            return True

    def rename(self, context_id: str, name: str) -> StoredContext:
        """Give the context a new name.

        Raises:
            NotFound: No such context.
            NameTaken: Another context has that name.
        """
        with self._lock:
            record = self._by_id.get(context_id)
            if record is None:
                raise _not_found(f"no context with id {check.shown(context_id)}")
            holder = self._named(name)
            if holder is not None and holder.id != context_id:
                raise NameTaken(
                    f"context {holder.id} is already named {check.shown(name)}: "
                    "names are unique, choose another"
                )
            record = self._by_id[context_id] = attrs.evolve(record, name=name)
            self._save()
            return record

    def delete(self, context_id: str) -> StoredContext:
        """Forget the context (its stored data is for the caller to remove).

        Raises:
            NotFound: No such context.
        """
        with self._lock:
            record = self._by_id.pop(context_id, None)
            if record is None:
                raise _not_found(f"no context with id {check.shown(context_id)}")
            self._save()
        logger.info("deleted context %s (%r)", record.id, record.name)
        return record

    def set_state(self, context_id: str, state: str) -> StoredContext | None:
        """Set the context's state; None if there is no such context (any more)."""
        with self._lock:
            record = self._by_id.get(context_id)
            if record is None:
                return None
            record = self._by_id[context_id] = attrs.evolve(record, state=state)
            self._save()
            return record

    # -- internals (the lock is held) ------------------------------------------

    def _named(self, name: str) -> StoredContext | None:
        return next((r for r in self._by_id.values() if r.name == name), None)

    def _new_id(self) -> str:
        while True:
            cid = self._ids.context_id()
            if cid not in self._by_id and not (self._data / cid).exists():
                return cid

    def _free_name(self, wanted: str) -> str:
        name, n = wanted, 1
        while self._named(name) is not None:
            n += 1
            name = f"{wanted} ({n})"
        return name

    def _add(self, context_id: str, name: str) -> StoredContext:
        stamp = now_iso()
        record = StoredContext(
            id=context_id,
            name=name,
            create_time=stamp,
            last_used_time=stamp,
            seq=self._next_seq,
        )
        self._next_seq += 1
        self._by_id[context_id] = record
        return record

    def _save(self) -> None:
        document = {
            "format": _FORMAT,
            "nextSeq": self._next_seq,
            "contexts": [
                {**record.to_wire(), "seq": record.seq}
                for record in sorted(self._by_id.values(), key=lambda r: r.seq)
            ],
        }
        self._file.parent.mkdir(parents=True, exist_ok=True)
        scratch = self._file.with_name(f".{self._file.name}.{secrets.token_hex(4)}")
        scratch.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(scratch, self._file)

    def _load(self) -> None:
        for leftover in self._file.parent.glob(f".{self._file.name}.*"):
            leftover.unlink(missing_ok=True)
        try:
            document: Any = json.loads(self._file.read_text(encoding="utf-8"))
            records = [_record_from_json(item) for item in document["contexts"]]
            next_seq = int(document["nextSeq"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"{self._file} cannot be read ({exc}); move it away") from exc
        for record in records:
            self._by_id[record.id] = record
        self._next_seq = max([next_seq, *(r.seq + 1 for r in records)])


def _record_from_json(item: dict[str, Any]) -> StoredContext:
    return StoredContext(
        id=check.context_id(item["id"]),
        name=str(item["name"]),
        create_time=str(item["createTime"]),
        last_used_time=str(item["lastUsedTime"]),
        state=str(item["state"]),
        seq=int(item["seq"]),
    )


def _not_found(message: str) -> NotFound:
    return NotFound("ContextNotFound", message + ": list the contexts (ListContexts) to see ids")
