"""When a worker gives freed memory back (server/memory.py)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from regauth.server.memory import QuietSpells, trim_after_load


def test_the_first_quiet_tick_ends_the_start_up() -> None:
    spells = QuietSpells(served=0)
    assert [spells.ended(0), spells.ended(0)] == [True, False]


def test_a_spell_of_load_ends_once_at_its_first_quiet_tick() -> None:
    spells = QuietSpells(served=3)
    spells.ended(3)
    assert [spells.ended(n) for n in (10, 50, 51, 51, 51)] == [False, False, False, True, False]


def test_no_trim_while_requests_keep_coming() -> None:
    spells = QuietSpells(served=0)
    spells.ended(0)
    assert not any(spells.ended(n) for n in range(1, 100))


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_a_serving_app_is_trimmed_once_after_each_spell_of_load(
    aiohttp_client: AiohttpClient,
) -> None:
    """The trim follows the requests of a real aiohttp server: once after start-up, once
    after a spell of requests, never while they keep coming."""
    app = web.Application()
    app.router.add_get("/", _ok)
    client = await aiohttp_client(app)
    server = client.server.runner.server
    assert server is not None
    trims: list[int] = []

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    trimming = asyncio.create_task(trim_after_load(server, every=0.2, trim=trim))
    try:
        await asyncio.sleep(0.5)  # the start-up's spell ends at the first quiet tick
        assert trims == [0]
        for _ in range(30):  # 0.6 s of requests, each well within a tick of the last
            assert (await client.get("/")).status == 200
            await asyncio.sleep(0.02)
        during = len(trims)
        await asyncio.sleep(0.5)
        assert (during, len(trims)) == (1, 2)
    finally:
        trimming.cancel()
