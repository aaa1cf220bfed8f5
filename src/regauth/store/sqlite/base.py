"""The SQLite connection every table module shares: WAL, explicit transactions, migrations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from regauth.domain.models import TokenUse
from regauth.store.changes import ChangeSignal
from regauth.store.sqlite.migrations import migrate

_CACHE_LIMIT = 10_000
# Writes made behind regauth's back (the sqlite3 shell, a crashed writer that committed but
# did not announce) are noticed through `PRAGMA data_version` within this many seconds.
_BACKSTOP_SECONDS = 1.0


class SQLiteBase:
    """One connection per process (each worker opens its own); WAL lets readers run beside a writer."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (see _transaction), so nothing is left open.
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=10.0)
        self._db = sqlite_utils.Database(conn)
        self._conn = conn
        if str(path) != ":memory:":
            self._db.enable_wal()
        # NORMAL in WAL mode survives application crashes; an OS crash may lose the last
        # commits, which for last-used metadata is the right trade (a commit measured ~23 µs
        # with NORMAL, ~166 µs with FULL's fsync, on ext4; https://sqlite.org/pragma.html#pragma_synchronous).
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        migrate(conn)
        self._changes = ChangeSignal.beside(str(path))
        self._cache: dict[Any, Any] = {}
        self._cache_stamp = b""
        self._cache_version: int | None = None
        self._recheck_at = 0.0

    def memo(self) -> dict[Any, Any]:
        """Rows the hot path read and results derived from them, valid until anything in the
        database changes.

        Every commit through regauth, in any process (another worker, the CLI), announces
        itself on the change signal, and this connection's own commits clear the cache in
        _transaction. So a deactivated or deleted token is refused on the very next request,
        by every worker, while unchanged rows cost a dict lookup instead of a query.
        """
        stamp = self._changes.stamp()
        now = time.monotonic()
        if stamp != self._cache_stamp or now >= self._recheck_at:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if stamp != self._cache_stamp or version != self._cache_version:
                self._cache.clear()
            self._cache_stamp, self._cache_version = stamp, version
            self._recheck_at = now + _BACKSTOP_SECONDS
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        return self._cache

    def close(self) -> None:
        self._changes.close()
        self._conn.close()

    def ping(self) -> None:
        self._conn.execute("SELECT 1").fetchone()

    def _write_uses(self, table: str, uses: Mapping[str, TokenUse]) -> None:
        """Batched last-use records for `tokens` or `org_tokens`, in one transaction."""
        if not uses:
            return
        with self._transaction() as conn:
            # Only move forward: another worker may have written a later use already.
            conn.executemany(
                f"UPDATE {table} SET last_used_at = ?, last_used_ip = ?, last_used_user_agent = ? "
                "WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
                [(u.at, u.ip, u.user_agent, token_id, u.at) for token_id, u in uses.items()],
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._changes.announce()
        self._cache.clear()
