"""Managers on one event loop with equal settings share a few asyncio clients."""

from __future__ import annotations

import asyncio

from agb_context import ContextManager, ContextService
from agb_context.emulator import Emulator


def test_many_managers_share_at_most_max_in_flight_clients(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    async def main() -> None:
        managers = [
            ContextManager(
                session_id,
                api_key=agb_clean_emulator.api_key,
                endpoint=agb_clean_emulator.endpoint,
                max_in_flight=4,
            )
            for _ in range(40)
        ]
        infos = await asyncio.gather(*(cm.info_async() for cm in managers))
        assert all(info.success for info in infos)
        clients = {id(await cm._async_client()) for cm in managers}
        assert 1 < len(clients) <= 4
        other = ContextManager(
            session_id, api_key=agb_clean_emulator.api_key, endpoint=agb_clean_emulator.endpoint
        )
        assert (await other.info_async()).success
        assert id(await other._async_client()) not in clients  # other settings, own client
        await asyncio.gather(*(cm.aclose() for cm in [*managers, other]))

    asyncio.run(main())


def test_a_client_is_never_shared_across_api_keys(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    """One client per loop at most (max_in_flight=1): only the key keeps these apart."""
    emulator = agb_clean_emulator

    async def main() -> None:
        right, wrong = (
            ContextManager(session_id, api_key=key, endpoint=emulator.endpoint, max_in_flight=1)
            for key in (emulator.api_key, "not-" + emulator.api_key)
        )
        for _ in range(3):
            good, bad = await asyncio.gather(right.info_async(), wrong.info_async())
            assert good.success, good.error_message
            assert (bad.success, bad.http_status) == (False, 401)
        assert await right._async_client() is not await wrong._async_client()
        await asyncio.gather(right.aclose(), wrong.aclose())

    asyncio.run(main())


def test_a_shared_client_closes_with_its_last_user(
    agb_clean_emulator: Emulator, session_id: str
) -> None:
    async def main() -> None:
        connect = {
            "api_key": agb_clean_emulator.api_key,
            "endpoint": agb_clean_emulator.endpoint,
            "max_in_flight": 1,
        }
        first = ContextManager(session_id, **connect)  # type: ignore[arg-type]
        service = ContextService(**connect)  # type: ignore[arg-type]
        assert (await first.info_async()).success
        assert (await service.list_async()).success
        client = await first._async_client()
        assert await service._clients.for_running_loop_async() is client
        await first.aclose()
        assert not client.get_async_httpx_client().is_closed
        assert (await service.list_async()).success
        await service.aclose()
        assert client.get_async_httpx_client().is_closed

    asyncio.run(main())
