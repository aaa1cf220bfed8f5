"""The fair limiter: slots in turn between sources, a share per source, bounded queues."""

from __future__ import annotations

import asyncio

import pytest

from regauth.errors import TooManyRequests
from regauth.services.fairshare import FairLimiter, source_of


async def _hold(limiter: FairLimiter, source: str, log: list[str], gate: asyncio.Event) -> None:
    async with limiter.slot(source):
        log.append(source)
        await gate.wait()


async def test_a_flooding_source_leaves_a_slot_to_the_others() -> None:
    limiter = FairLimiter(2, per_source=1, queue_per_source=100)
    log: list[str] = []
    gate = asyncio.Event()
    flood = [asyncio.create_task(_hold(limiter, "attacker", log, gate)) for _ in range(50)]
    await asyncio.sleep(0)
    assert log == ["attacker"]  # its share is one slot, however many it sends
    other = asyncio.create_task(_hold(limiter, "victim", log, gate))
    await asyncio.sleep(0)
    assert log == ["attacker", "victim"]  # at once: the second slot was kept free
    gate.set()
    await asyncio.gather(*flood, other)
    assert len(log) == 51


async def test_free_slots_go_to_waiting_sources_in_turn() -> None:
    limiter = FairLimiter(1, per_source=1, queue_per_source=100)
    order: list[str] = []
    gates = {s: asyncio.Event() for s in "abc"}

    async def one(source: str) -> None:
        async with limiter.slot(source):
            order.append(source)

    first = asyncio.create_task(_hold(limiter, "a", [], gates["a"]))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(one(s)) for s in ["a"] * 5 + ["b"] * 2 + ["c"]]
    await asyncio.sleep(0)
    gates["a"].set()
    await asyncio.gather(first, *tasks)
    # The five queued "a"s do not go before b and c: one each, in turn.
    assert order == ["a", "b", "c", "a", "b", "a", "a", "a"]


async def test_a_full_queue_is_refused_at_once() -> None:
    limiter = FairLimiter(1, per_source=1, queue_per_source=3)
    gate = asyncio.Event()
    held = [asyncio.create_task(_hold(limiter, "a", [], gate)) for _ in range(4)]
    await asyncio.sleep(0)
    assert limiter.waiting("a") == 3
    with pytest.raises(TooManyRequests) as refused:
        async with limiter.slot("a"):
            pass
    assert refused.value.retry_after == 1
    other = asyncio.create_task(_hold(limiter, "b", [], gate))  # another source still queues
    await asyncio.sleep(0)
    assert limiter.waiting("b") == 1
    gate.set()
    await asyncio.gather(*held, other)


async def test_a_cancelled_waiter_gives_its_place_and_slot_on() -> None:
    limiter = FairLimiter(1, per_source=1, queue_per_source=10)
    gate = asyncio.Event()
    log: list[str] = []
    holder = asyncio.create_task(_hold(limiter, "a", log, gate))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(_hold(limiter, "b", log, gate))
    behind = asyncio.create_task(_hold(limiter, "c", log, gate))
    await asyncio.sleep(0)
    waiting.cancel()
    gate.set()
    await asyncio.gather(holder, behind)
    assert waiting.cancelled()
    assert log == ["a", "c"]
    async with limiter.slot("d"):  # nothing leaked: the one slot is free again
        pass


@pytest.mark.parametrize(
    ("ip", "source"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),  # the same host's /64
        (None, "None"),
        ("not-an-ip:x", "not-an-ip:x"),
    ],
)
def test_sources_are_addresses_and_ipv6_64s(ip: str | None, source: str) -> None:
    assert source_of(ip) == source
