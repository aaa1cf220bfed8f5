"""Caches of what the /token hot path derives from stored rows, valid until the store's change
version moves: a deactivated token or a disabled account is refused on the next request by
every worker (and, on PostgreSQL, every replica), while unchanged rows cost a dict lookup."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from regauth.store.base import Database

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_LIMIT = 10_000


class VersionedCache(Generic[K, V]):
    """One typed cache. A value is kept only under the version read *before* it was looked
    up, so a change committed during the look-up empties it rather than being missed."""

    def __init__(self, db: Database, *, limit: int = _LIMIT) -> None:
        self._db = db
        self._limit = limit
        self._values: dict[K, V] = {}
        self._version: Hashable = None

    def version(self) -> Hashable | None:
        """The version to pass to put() after a look-up; None while nothing may be cached
        (the store cannot vouch that it would hear of changes)."""
        if not self._db.trusted():
            self._values.clear()
            return None
        version = self._db.version()
        if version != self._version:
            self._values.clear()
            self._version = version
        return version

    def get(self, key: K) -> V | None:
        if self.version() is None:
            return None
        return self._values.get(key)

    def put(self, key: K, value: V, version: Hashable | None) -> None:
        if version is None or version != self.version():
            return
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = value
