"""Failure throttling: a few free failures per key, then a doubling lock-out, reset by success."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from regauth.clock import Clock

# Keys forgotten after this long without a failure, and at most this many remembered, so an
# attacker rotating usernames cannot grow memory without bound.
_FORGET_AFTER_SECONDS = 3600
_MAX_KEYS = 100_000


@dataclass(slots=True)
class _Entry:
    failures: int
    last_failure: float
    locked_until: float


class Throttle:
    def __init__(self, *, clock: Clock, free_failures: int, max_lockout: int) -> None:
        self._clock = clock
        self._free = free_failures
        self._max = max_lockout
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __bool__(self) -> bool:
        """False while no key has failed: callers may skip building keys (the hot path)."""
        return bool(self._entries)

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        entry = self._entries.get(key)
        if entry is None:
            return 0
        now = self._clock()
        if now - entry.last_failure > _FORGET_AFTER_SECONDS:
            del self._entries[key]
            return 0
        return max(0, int(entry.locked_until - now + 0.999))

    def failure(self, key: str) -> None:
        now = self._clock()
        entry = self._entries.pop(key, None)
        if entry is None or now - entry.last_failure > _FORGET_AFTER_SECONDS:
            entry = _Entry(0, now, 0.0)
        entry.failures += 1
        entry.last_failure = now
        # The free_failures-th failure locks for 1 s, each further one for twice as long.
        over = entry.failures - self._free
        if over >= 0:
            entry.locked_until = now + min(self._max, 2 ** min(over, 30))
        self._entries[key] = entry
        while len(self._entries) > _MAX_KEYS:
            self._entries.popitem(last=False)

    def success(self, key: str) -> None:
        self._entries.pop(key, None)
