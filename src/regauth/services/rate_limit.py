"""Rate limits: at most N calls per key in each window, counted in a table (store/failures.py)
that every worker of the machine shares, so N workers give the allowance once."""

from __future__ import annotations

from collections.abc import Callable

from regauth.domain.clock import Clock
from regauth.store.failures import Entry, FailureTable


class RateLimit:
    """A fixed window per key, opened by its first call: `calls` calls, then a wait until the
    window ends (refused calls are not counted, so they do not make the wait longer).

    An entry of the table holds the calls counted in the window as its failures, the latest
    call as its last failure (what the table's eviction goes by) and the window's end as its
    lock-out.
    """

    def __init__(
        self, *, clock: Clock, calls: Callable[[], int], window_seconds: int, table: FailureTable
    ) -> None:
        self._clock = clock
        self._calls = calls
        self._window = window_seconds
        self._table = table

    def take(self, key: str) -> int:
        """Counts a call: 0 if it may go ahead, else the seconds until it may (not counted)."""
        with self._table.lock():  # one read-modify-write for every process that maps the table
            now = self._clock()
            entry = self._table.get(key)
            if entry is None or now >= entry.locked_until:
                entry = Entry(failures=0, last_failure=now, locked_until=now + self._window)
            if entry.failures >= self._calls():
                return max(1, int(entry.locked_until - now + 0.999))
            entry.failures += 1
            entry.last_failure = now
            self._table.put(key, entry)
            return 0
