"""The AGB SDK's signatures are a contract: `ContextManager.info` and `ContextManager.sync`.

`SEED` lists their positional parameters as the AGB SDK's `ContextManager`
has them, in this order, with these defaults. Keyword-only parameters may
follow; nothing may be removed, renamed, moved or re-defaulted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from agb_context import ContextManager

SEED: dict[str, list[tuple[str, object]]] = {
    "info": [("context_id", None), ("path", None), ("task_type", None)],
    "sync": [
        ("context_id", None),
        ("path", None),
        ("mode", None),
        ("callback", None),
        ("max_retries", 150),
        ("retry_interval", 1500),
    ],
}


def keeps_the_seed(function: Callable[..., Any], seed: list[tuple[str, object]]) -> list[str]:
    """What breaks the AGB SDK's signature (empty when nothing does)."""
    parameters = list(inspect.signature(function).parameters.values())
    assert parameters[0].name == "self"
    parameters = parameters[1:]
    problems = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    got = [(p.name, p.default) for p in positional]
    if got != seed:
        problems.append(f"positional parameters {got}, the AGB SDK has {seed}")
    if any(p.kind is p.POSITIONAL_ONLY for p in positional):
        problems.append("a positional-only parameter cannot be passed by name")
    for extra in parameters[len(positional) :]:
        if extra.kind is not extra.KEYWORD_ONLY:
            problems.append(f"{extra.name} is {extra.kind.description}, not keyword-only")
        elif extra.default is extra.empty:
            problems.append(f"keyword-only {extra.name} has no default")
    return problems


@pytest.mark.parametrize("name", sorted(SEED))
def test_context_manager_keeps_the_seed_signature(name: str) -> None:
    assert keeps_the_seed(getattr(ContextManager, name), SEED[name]) == []


def test_info_async_takes_the_same_arguments_as_info() -> None:
    assert keeps_the_seed(ContextManager.info_async, SEED["info"]) == []


class Reordered:
    def sync(self, path=None, context_id=None, mode=None, callback=None, max_retries=150,
             retry_interval=1500):  # fmt: skip
        raise NotImplementedError


class Redefaulted:
    def sync(self, context_id=None, path=None, mode=None, callback=None, max_retries=150,
             retry_interval=1000):  # fmt: skip
        raise NotImplementedError


class ExtraPositional:
    def sync(self, context_id=None, path=None, mode=None, callback=None, max_retries=150,
             retry_interval=1500, timeout=None):  # fmt: skip
        raise NotImplementedError


class ExtraKeywordOnly:
    def sync(self, context_id=None, path=None, mode=None, callback=None, max_retries=150,
             retry_interval=1500, *, timeout=None, polling=None):  # fmt: skip
        raise NotImplementedError


@pytest.mark.parametrize("broken", [Reordered, Redefaulted, ExtraPositional])
def test_the_check_catches_a_changed_signature(broken: type) -> None:
    assert keeps_the_seed(broken.sync, SEED["sync"]) != []


def test_the_check_allows_new_keyword_only_parameters() -> None:
    assert keeps_the_seed(ExtraKeywordOnly.sync, SEED["sync"]) == []
