"""Failure throttling: a few free failures per key, then a doubling lock-out, reset by success.

An attempt whose check is slow (a memory-hard password hash) is reserved before the check and
settled after it (see `reserve`); the counts live in a table (store/failures.py) that every
worker of the machine shares.
"""

from __future__ import annotations

from regauth.domain.clock import Clock
from regauth.store.failures import FORGET_AFTER_SECONDS, Entry, FailureTable, MemoryTable


class Throttle:
    def __init__(
        self,
        *,
        clock: Clock,
        free_failures: int,
        max_lockout: int,
        table: FailureTable | None = None,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._max = max_lockout
        self.table = table if table is not None else MemoryTable()

    def __bool__(self) -> bool:
        """False while no key has failed lately: callers may skip building keys (the hot path)."""
        return self.table.active(self._clock())

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now. Reads without the lock:
        a check before the attempt, which `reserve` repeats atomically where it matters."""
        entry = self.table.get(key)
        if entry is None:
            return 0
        now = self._clock()
        if now - entry.last_active() > FORGET_AFTER_SECONDS:
            return 0
        return self._wait(entry, now)

    def failure(self, key: str) -> None:
        """Counts a failure of an attempt that was not reserved (a check with no wait in it)."""
        with self.table.lock():
            now = self._clock()
            entry = self._current(key, now)
            self._count_failure(entry, now)
            self.table.put(key, entry)

    def success(self, key: str) -> None:
        if self.table.get(key) is None:  # the usual case: nothing to reset, no lock
            return
        with self.table.lock():
            entry = self.table.get(key)
            if entry is not None:
                entry.failures, entry.locked_until = 0, 0.0
                self._store(key, entry, self._clock())

    def reserve(self, key: str) -> int:
        """Reserves an attempt: 0, or the seconds to wait when it may not start now.

        Refused while locked out, and while the attempts already pending could use up the
        free failures left (they may all fail); with no attempt pending, one may always
        start once any lock-out has run out, as a sequential client could.
        """
        with self.table.lock():
            now = self._clock()
            entry = self._current(key, now)
            wait = self._wait(entry, now)
            if wait:
                return wait
            entry.pending, entry.pending_since = entry.live_pending(now) + 1, now
            self.table.put(key, entry)
            return 0

    def settle(self, key: str, *, failed: bool, succeeded: bool = False) -> None:
        """Ends a reserved attempt: counted as a failure, a success (resets the count), or
        neither (the check did not happen or proved nothing)."""
        with self.table.lock():
            now = self._clock()
            entry = self._current(key, now)
            entry.pending = max(0, entry.live_pending(now) - 1)
            if failed:
                self._count_failure(entry, now)
            elif succeeded:
                entry.failures, entry.locked_until = 0, 0.0
            self._store(key, entry, now)

    def _wait(self, entry: Entry, now: float) -> int:
        wait = _seconds_until(entry.locked_until, now)
        pending = entry.live_pending(now)
        if not wait and pending and entry.failures + pending >= self._free:
            wait = 1  # about as long as the pending checks take to settle
        return wait

    def _current(self, key: str, now: float) -> Entry:
        entry = self.table.get(key)
        if entry is None or now - entry.last_active() > FORGET_AFTER_SECONDS:
            return Entry(0, 0.0, 0.0)
        return entry

    def _count_failure(self, entry: Entry, now: float) -> None:
        if now - entry.last_failure > FORGET_AFTER_SECONDS:
            entry.failures = 0
        entry.failures += 1
        entry.last_failure = now
        # The free_failures-th failure locks for 1 s, each further one for twice as long.
        over = entry.failures - self._free
        if over >= 0:
            entry.locked_until = now + min(self._max, 2 ** min(over, 30))

    def _store(self, key: str, entry: Entry, now: float) -> None:
        if entry.failures or entry.live_pending(now) or entry.locked_until > now:
            self.table.put(key, entry)
        else:
            self.table.pop(key)


def _seconds_until(when: float, now: float) -> int:
    return max(0, int(when - now + 0.999))
