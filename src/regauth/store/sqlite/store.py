"""The SQLite store: the backend-neutral tables on the SQLite backend."""

from __future__ import annotations

from pathlib import Path

from regauth.store.failures import FailureTable, SharedTable
from regauth.store.sql.tables import Tables
from regauth.store.sqlite.backend import SQLiteBackend

# SQLite takes one writer at a time; a few threads let reads run beside a waiting write.
THREADS = 4


class SQLiteStore(Tables):
    def __init__(self, path: str | Path, *, threads: int = THREADS, migrate: bool = True) -> None:
        super().__init__(SQLiteBackend(path, migrate_schema=migrate), threads=threads)
        self._path = str(path)

    def failure_table(self, *, secret: bytes, name: str) -> FailureTable:
        """A file beside the database that every worker on this host maps."""
        return SharedTable.beside(self._path, secret=secret, name=name)
