"""Caches of what the /token hot path derives from stored rows, valid until the store says they
changed: a deactivated token or a disabled account is refused on the next request by every
worker (and, on PostgreSQL, every replica), while unchanged rows cost a dict lookup.

A value derived from one row that changes alone (a token, deactivated or deleted) is tagged
with it: a change to that row drops that value only, so an admin creating and deleting tokens
all day does not send every other token back to the database. Any other change empties it."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, NamedTuple, TypeVar

from regauth.metrics.counts import CacheStats
from regauth.store.base import Database

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_LIMIT = 10_000


class Stamp(NamedTuple):
    """What version() read before a look-up."""

    version: Hashable
    rows: int


class _Entry(NamedTuple, Generic[V]):
    value: V
    row: str | None
    stamp: int


class VersionedCache(Generic[K, V]):
    """One typed cache. A value is kept only under the stamp read *before* it was looked up,
    so a change committed during the look-up drops it rather than being missed."""

    def __init__(
        self, db: Database, *, limit: int = _LIMIT, stats: CacheStats | None = None
    ) -> None:
        self._db = db
        self._limit = limit
        self._stats = stats  # hits and misses of get(), for /metrics
        self._values: dict[K, _Entry[V]] = {}
        self._version: Hashable = None

    def version(self) -> Stamp | None:
        """The stamp to pass to put() after a look-up; None while nothing may be cached
        (the store cannot vouch that it would hear of changes)."""
        if not self._db.trusted():
            self._values.clear()
            return None
        # The row stamp first: a row change numbered after it is one the look-up may miss.
        rows = self._db.row_stamp()
        version = self._db.version()
        if version != self._version:
            self._values.clear()
            self._version = version
        return Stamp(version, rows)

    def get(self, key: K) -> V | None:
        value = self._get(key)
        if self._stats is not None:
            if value is None:
                self._stats.misses += 1
            else:
                self._stats.hits += 1
        return value

    def _get(self, key: K) -> V | None:
        if self.version() is None:
            return None
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry.row is not None and self._db.row_changed(entry.row, entry.stamp):
            del self._values[key]
            return None
        return entry.value

    def put(self, key: K, value: V, stamp: Stamp | None, *, row: str | None = None) -> None:
        """`row`: the one row ("tokens:<id>") `value` was derived from, if a change to it
        alone is named as such (Database.row_changed); a change to anything else drops
        `value` with all the rest."""
        if stamp is None:
            return
        now = self.version()
        if now is None or now.version != stamp.version:
            return
        if row is not None and self._db.row_changed(row, stamp.rows):
            return
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = _Entry(value, row, stamp.rows)
