"""The PostgreSQL store: the backend-neutral tables on the PostgreSQL backend."""

from __future__ import annotations

from regauth.store.postgres.backend import PostgresBackend
from regauth.store.sql.tables import Tables


class PostgresStore(Tables):
    def __init__(self, url: str, *, pool_size: int, migrate: bool = True) -> None:
        # One connection per store thread: a call never waits for a connection another holds.
        super().__init__(
            PostgresBackend(url, pool_size=pool_size, migrate_schema=migrate), threads=pool_size
        )
