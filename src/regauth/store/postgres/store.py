"""The PostgreSQL store: the backend-neutral tables on the PostgreSQL backend."""

from __future__ import annotations

from regauth.store.failures import FailureTable
from regauth.store.postgres.backend import PostgresBackend
from regauth.store.postgres.failures import PostgresFailureTable
from regauth.store.sql.tables import Tables


class PostgresStore(Tables):
    def __init__(self, url: str, *, pool_size: int, migrate: bool = True) -> None:
        # One connection per store thread: a call never waits for a connection another holds.
        self._postgres = PostgresBackend(url, pool_size=pool_size, migrate_schema=migrate)
        super().__init__(self._postgres, threads=pool_size)

    def failure_table(self, *, secret: bytes, name: str) -> FailureTable:
        """One table for every replica, in the database."""
        return PostgresFailureTable(self._postgres, secret=secret, name=name)
