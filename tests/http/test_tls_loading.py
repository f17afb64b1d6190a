"""When CA certificates are loaded: checked with the settings, loaded on first use,
off the event loop in async code, never for plain http."""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
from pathlib import Path

import certifi
import pytest

from agb_context import ConfigurationError, ContextManager, RetryPolicy
from agb_context import _http as http
from agb_context import _tls as tls
from agb_context.emulator import Emulator


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each CA file loaded from now on: its path and the thread that loaded it."""
    seen: list[tuple[str, str]] = []
    load = tls._context_for.__wrapped__

    @functools.cache
    def recording(path: str, is_dir: bool, mtime_ns: int, size: int) -> ssl.SSLContext:
        seen.append((path, threading.current_thread().name))
        return load(path, is_dir, mtime_ns, size)

    monkeypatch.setattr(tls, "_context_for", recording)
    # What was loaded off the loop before is forgotten with the cache it filled: else an
    # earlier test's load of the same file counts as done, and this one's runs on the loop.
    monkeypatch.setattr(http, "_warm", {})
    for name in tls.CA_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return seen


def test_plain_http_never_loads_certificates(
    loads: list[tuple[str, str]], agb_clean_emulator: Emulator, session_id: str
) -> None:
    async def main() -> None:
        async with ContextManager(
            session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        ) as cm:
            assert (await cm.info_async()).success

    asyncio.run(main())
    with ContextManager(
        session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
    ) as cm:
        assert cm.info().success
    assert loads == []


def test_async_code_loads_the_bundle_off_the_loop(loads: list[tuple[str, str]]) -> None:
    async def main() -> None:
        # Nothing listens on port 9: the call fails, after its client was made.
        async with ContextManager(
            "s-1", api_key="k", endpoint="https://127.0.0.1:9", retry=RetryPolicy(max_retries=0)
        ) as cm:
            assert loads == []  # not when the manager is built
            assert not (await cm.info_async()).success

    asyncio.run(main())
    assert [path for path, _ in loads] == [certifi.where()]
    assert loads[0][1] != threading.main_thread().name


def test_a_bundle_that_cannot_be_loaded_fails_the_first_call(tmp_path: Path) -> None:
    bundle = tmp_path / "broken.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cm = ContextManager("s-1", api_key="k", endpoint="https://127.0.0.1:9", verify=bundle)
    with cm, pytest.raises(ConfigurationError, match=r"broken\.pem.*could not be loaded"):
        cm.info()


def test_a_bundle_changed_on_disk_is_loaded_again_off_the_loop(
    loads: list[tuple[str, str]], tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())

    async def first_call() -> None:
        # Nothing listens on port 9: the call fails, after its client was made.
        async with ContextManager(
            "s-1",
            api_key="k",
            endpoint="https://127.0.0.1:9",
            verify=bundle,
            retry=RetryPolicy(max_retries=0),
        ) as cm:
            assert not (await cm.info_async()).success

    asyncio.run(first_call())
    with bundle.open("ab") as file:  # renewed: a new size and change time
        file.write(b"\n")
    asyncio.run(first_call())
    assert [path for path, _ in loads] == [str(bundle), str(bundle)]
    assert threading.main_thread().name not in {thread for _, thread in loads}
