"""A concurrency limit shared fairly between sources: slots go round-robin, queues are bounded.

Memory-hard password checks are few at a time (each holds a core for tens of milliseconds).
With one first-come queue, a burst from one address made every other address wait for the
whole burst. Here each source waits in its own bounded queue, a free slot goes to the next
source in turn, and one source may hold at most `per_source` slots, so that a flood from one
address leaves a slot free for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from regauth.errors import TooManyRequests

BUSY = "too many sign-ins in progress from your address: try again in a moment"


class FairLimiter:
    def __init__(self, concurrency: int, *, per_source: int, queue_per_source: int) -> None:
        self._free = concurrency
        self._per_source = per_source
        self._queue_limit = queue_per_source
        self._held: dict[str, int] = {}
        # Sources with waiters, in the order they get the next slot.
        self._queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @contextlib.asynccontextmanager
    async def slot(self, source: str) -> AsyncIterator[bool]:
        """Holds one slot for `source`; 429 at once when its queue is full. Yields whether
        the source was crowding in: other checks of its own running or waiting."""
        await self._acquire(source)
        try:
            yield self._held[source] > 1 or source in self._queues
        finally:
            self._release(source)

    def waiting(self, source: str) -> int:
        queue = self._queues.get(source)
        return len(queue) if queue else 0

    async def _acquire(self, source: str) -> None:
        if self._free and self._held.get(source, 0) < self._per_source:
            self._take(source)
            return
        queue = self._queues.get(source)
        if queue is None:
            queue = self._queues[source] = deque()
        if len(queue) >= self._queue_limit:
            raise TooManyRequests(BUSY, retry_after=1)
        waiter = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(source)  # granted as it was cancelled: give the slot on
            else:
                self._forget(source, waiter)
            raise

    def _take(self, source: str) -> None:
        self._free -= 1
        self._held[source] = self._held.get(source, 0) + 1

    def _release(self, source: str) -> None:
        self._free += 1
        held = self._held[source] - 1
        if held:
            self._held[source] = held
        else:
            del self._held[source]
        self._dispatch()

    def _dispatch(self) -> None:
        """Free slots to waiting sources in turn, skipping those at their share."""
        for source in list(self._queues):
            if not self._free:
                return
            if self._held.get(source, 0) >= self._per_source:
                continue
            queue = self._queues.pop(source)
            while queue and queue[0].done():  # cancelled, and not yet out of the queue
                queue.popleft()
            if queue:
                self._take(source)
                queue.popleft().set_result(None)
            if queue:
                self._queues[source] = queue  # to the back of the line

    def _forget(self, source: str, waiter: asyncio.Future[None]) -> None:
        queue = self._queues.get(source)
        if queue is not None:
            with contextlib.suppress(ValueError):
                queue.remove(waiter)
            if not queue:
                del self._queues[source]


def source_of(ip: str | None) -> str:
    """The unit of fairness: an IPv4 address, or an IPv6 /64 (what one host is usually given)."""
    if not ip or ":" not in ip:
        return f"{ip}"
    try:
        network = ipaddress.IPv6Network(f"{ip}/64", strict=False)
    except ValueError:
        return ip
    return str(network)
