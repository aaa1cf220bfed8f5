"""What a worker does to give memory back to the system: glibc's allocator keeps what it frees
unless told otherwise (README: Performance, bench/memory.py). Not glibc (musl): nothing is
done here."""

from __future__ import annotations

import asyncio
import ctypes
import functools
from collections.abc import Callable

from aiohttp import web

# glibc's mallopt(M_MMAP_THRESHOLD): blocks this large are mapped on their own and unmapped
# when freed.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1 << 20
# A spell of load is taken to be over after this long without a request.
QUIET_SECONDS = 0.5


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def return_large_blocks() -> None:
    """Gives an argon2id check's 19 MiB back to the system when it ends.

    By default glibc raises its mmap threshold to the size of any mapped block once freed (up
    to 32 MiB), so every later check took its memory from a heap arena, which keeps it: after
    a burst of concurrent password checks a worker stayed ~40 MiB larger (bench/memory.py).
    A fixed threshold stops that; the cost is one mmap and munmap per check, ~0.1 % of it.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


class QuietSpells:
    """Tells, from the count of requests served so far read at each tick, when a spell of load
    has just ended: the first tick with no new request after ticks with some. The start-up
    (imports, the app, the keys) is one such spell, ended by the first quiet tick."""

    def __init__(self, served: int) -> None:
        self._seen = served
        self._busy = True

    def ended(self, served: int) -> bool:
        if served != self._seen:
            self._seen = served
            self._busy = True
            return False
        ended, self._busy = self._busy, False
        return ended


def _malloc_trim() -> Callable[[int], int] | None:
    libc = _glibc()
    return None if libc is None else libc.malloc_trim


async def trim_after_load(
    server: web.Server,
    *,
    every: float = QUIET_SECONDS,
    trim: Callable[[int], int] | None = None,
) -> None:
    """Until cancelled: when a spell of load ends, the heap pages its requests freed (request
    and response buffers, parsers, signatures: ~2-3 MiB after 32 connections of /token) are
    returned with `trim` (glibc's malloc_trim unless given), in a thread, since it walks the
    heap (~0.1 ms in a 60 MiB worker); never during load, where they would be taken again."""
    trim = trim or _malloc_trim()
    if trim is None:
        return
    spells = QuietSpells(server.requests_count)
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        if spells.ended(server.requests_count):
            await loop.run_in_executor(None, trim, 0)
