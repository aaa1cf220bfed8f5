"""SQLite behind the table modules: a connection per thread on one WAL file, explicit
transactions, the change signal other processes read."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

from regauth.errors import ConfigError, Unavailable
from regauth.store.changes import ChangeSignal
from regauth.store.sql.base import Changes, Connection, Cursor, Dialect, IntegrityViolation
from regauth.store.sqlite.migrations import migrate, require_current

DIALECT = Dialect(
    row_lock="",
    greatest="max",
    json_text="json_extract({column}, '$.{key}')",
    group_concat="group_concat({expr}, ',')",
    json_int_pairs="SELECT key, value FROM json_each(?)",
    json_uses=(
        "(SELECT key AS id, json_extract(value, '$[0]') AS at, json_extract(value, '$[1]') AS ip,"
        " json_extract(value, '$[2]') AS ua FROM json_each(?))"
    ),
    lock_uses="",  # BEGIN IMMEDIATE holds the database's write lock
)
# Writes made behind regauth's back (the sqlite3 shell, a crashed writer that committed but
# did not announce) are noticed through `PRAGMA data_version` within this many seconds.
_BACKSTOP_SECONDS = 1.0
# While regauth itself commits quietly (the last-used flush, once a second under load), a
# move of data_version may be its own: taken for a write behind regauth's back at most this
# often (every cache emptied: a re-read of each token in use), and at every move otherwise.
_QUIET_TRUST_SECONDS = 60.0
_BUSY_TIMEOUT_MS = 10_000
_savepoints = count()


class _Connection:
    """sqlite3 in the table modules' terms: its errors as theirs."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with _translated():
            return self.raw.execute(sql, params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Cursor:
        with _translated():
            return self.raw.executemany(sql, params)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError:
        raise IntegrityViolation from None
    except sqlite3.OperationalError as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: sqlite3.OperationalError) -> Unavailable:
    # "database is locked" past busy_timeout, "disk I/O error", a full disk: the request was
    # fine, the database could not take it now. The message names no row or value.
    return Unavailable(f"database unavailable: {exc}")


class SQLiteBackend:
    """One WAL file; each thread (the event loop's, each of the store's worker threads, the
    CLI's) has its own connection, so readers run beside the one writer SQLite allows."""

    name = "sqlite"
    dialect = DIALECT

    def __init__(self, path: str | Path, *, migrate_schema: bool = True) -> None:
        self._path = str(path)
        if self._path == ":memory:":
            raise ConfigError("storage.path: an in-memory database cannot be shared by workers")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        try:
            first = self._connection()
            first.execute("PRAGMA journal_mode = WAL")
            if migrate_schema:
                migrate(first)
            else:
                require_current(first)
        except sqlite3.DatabaseError as exc:
            # "file is not a database", "database disk image is malformed", unopenable: one
            # line at start-up saying which file and what to do, not a traceback.
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise _unavailable(exc) from None
            raise ConfigError(
                f"storage.path: cannot use {Path(path).resolve()} as regauth's database ({exc}): "
                "restore a backup (regauth db restore FILE) or point [storage] path elsewhere"
            ) from None
        self._changes = ChangeSignal.beside(self._path)
        self._stamp = b""
        self._external = 0  # commits seen through data_version (the backstop)
        self._recheck_at = 0.0
        self._quiet_seen = b""  # the quiet stamp when data_version last moved
        self._quiet_believed_until = 0.0
        self._doubted = False  # a move was believed: doubted when the belief runs out

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit mode: transactions are explicit (writing()), so nothing is left open.
            conn = sqlite3.connect(
                self._path,
                isolation_level=None,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            # NORMAL in WAL mode survives application crashes; an OS crash may lose the last
            # commits, which for last-used metadata is the right trade (a commit measured
            # ~23 µs with NORMAL, ~166 µs with FULL's fsync, on ext4;
            # https://sqlite.org/pragma.html#pragma_synchronous).
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        yield _Connection(self._connection())

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        raw = self._connection()
        conn = _Connection(raw)
        # IMMEDIATE takes the write lock first: a check-then-write (a limit) inside the block
        # cannot be raced by another worker, and a busy database waits here, not mid-way.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")  # may fail too (a full disk): then nothing was written
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise

    def announce(self, changes: Changes) -> None:
        """Renews the change signal's stamp, which every worker and the CLI read: a change to
        some rows empties every cache too (one stamp cannot name rows; it is one host's
        processes, and what their caches re-read is one SQLite look-up each)."""
        self._changes.announce()

    def committed_quietly(self) -> None:
        self._changes.committed_quietly()

    @contextmanager
    def savepoint(self, conn: Connection) -> Iterator[None]:
        name = f"sp{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")

    def version(self) -> Hashable:
        """Every commit through regauth, in any process (another worker, the CLI), renews the
        change signal's stamp: a memory read, ~0.1 µs, where `PRAGMA data_version` opens a
        read transaction (~30 µs). The pragma is asked once a second as a backstop."""
        stamp = self._changes.stamp()
        now = time.monotonic()
        if stamp != self._stamp or now >= self._recheck_at:
            # data_version is per connection: each thread compares with what its own saw.
            data_version = self._connection().execute("PRAGMA data_version").fetchone()[0]
            if data_version != getattr(self._local, "data_version", None):
                self._local.data_version = data_version
                quiet = self._changes.quiet_stamp()
                # Another connection committed. Announced: the stamp says so. Else regauth
                # quietly, if the quiet stamp moved too: believed for _QUIET_TRUST_SECONDS
                # after the last move that was not, then doubted (caches emptied once).
                if stamp == self._stamp:
                    if quiet != self._quiet_seen and now < self._quiet_believed_until:
                        self._doubted = True
                    else:
                        self._doubt(now)
                self._quiet_seen = quiet
            if self._doubted and now >= self._quiet_believed_until:
                self._doubt(now)
            self._stamp = stamp
            self._recheck_at = now + _BACKSTOP_SECONDS
        return (stamp, self._external)

    def _doubt(self, now: float) -> None:
        """A move of data_version taken for a write behind regauth's back: caches empty."""
        self._external += 1
        self._doubted = False
        self._quiet_believed_until = now + _QUIET_TRUST_SECONDS

    def row_stamp(self) -> int:
        return 0

    def row_changed(self, row: str, since: int) -> bool:
        return False  # every change moves version()

    def trusted(self) -> bool:
        return True

    def listen(self) -> None:
        """Nothing to start: every process reads the change signal's stamp itself."""

    def ping(self) -> None:
        self._connection().execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._changes.close()
        with self._lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
