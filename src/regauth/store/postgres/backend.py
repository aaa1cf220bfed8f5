"""PostgreSQL behind the table modules: a pool of connections for the store's threads, and a
listener that hears every replica's changes.

psycopg 3's synchronous API, not asyncpg or psycopg's async one: every store call already runs
in the store's threads (Database.run), where services keep one code path for the server and
the CLI and a transaction is a plain `with` block; the event loop never waits on either.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from regauth import logs
from regauth.errors import Unavailable
from regauth.store.postgres.migrations import migrate, require_current
from regauth.store.sql.base import Changes, Connection, Cursor, Dialect, IntegrityViolation

log = logging.getLogger("regauth.store")

DIALECT = Dialect(
    row_lock="SELECT 1 FROM {table} WHERE id = ? FOR UPDATE",
    greatest="GREATEST",
    json_text="({column}::jsonb ->> '{key}')",
    group_concat="string_agg({expr}, ',')",
    json_int_pairs="SELECT key, value::bigint FROM jsonb_each_text(?::jsonb)",
    json_uses=(
        "(SELECT key AS id, (value ->> 0)::bigint AS at, value ->> 1 AS ip, value ->> 2 AS ua"
        " FROM jsonb_each(?::jsonb))"
    ),
    lock_uses=(
        "SELECT 1 FROM {table} WHERE id IN (SELECT key FROM jsonb_each(?::jsonb)) "
        "ORDER BY id FOR UPDATE"
    ),
)
CHANNEL = "regauth_changes"
# How stale a replica's caches may be: the listener proves its connection alive at least this
# often, and caches stop serving (every lookup goes to the database) once it has not. Within
# the bound, a change is heard as soon as PostgreSQL delivers its notification (milliseconds).
TRUST_SECONDS = 1.0
_PING_SECONDS = TRUST_SECONDS / 4
# Rows whose changes are remembered one by one (a deleted token's id, say) before they are
# forgotten together, which empties every cache once.
_ROWS_KEPT = 100_000
# TCP keepalives so that a peer gone silent (no RST) is noticed by the socket as well.
_CONNECT: dict[str, Any] = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 2,
    "application_name": "regauth",
}


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """The table modules' `?` as psycopg's `%s` (and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with _translated():
            return self.raw.execute(_placeholders(sql), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Cursor:
        cursor = self.raw.cursor()
        with _translated():
            cursor.executemany(_placeholders(sql), params)
        return cursor


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.errors.IntegrityError:
        raise IntegrityViolation from None
    except psycopg.OperationalError as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: Exception) -> Unavailable:
    # The class only: a libpq message can quote the connection string.
    return Unavailable(f"database unavailable ({type(exc).__name__})")


class PostgresBackend:
    name = "postgresql"
    dialect = DIALECT

    def __init__(self, url: str, *, pool_size: int, migrate_schema: bool = True) -> None:
        self._url = url
        try:
            with psycopg.connect(url, autocommit=True, **_CONNECT) as conn:
                if migrate_schema:
                    migrate(conn)
                else:
                    require_current(conn)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from None
        self._pool_size = pool_size
        self._pool = self._new_pool()
        # Set by the listener while it cannot reach the database: calls fail at once (503)
        # instead of each holding a store thread for the pool's whole wait.
        self._unreachable = False
        # Changes heard (any replica's, through the listener) and made (this process's own):
        # each takes a fresh number from the counter (next() is atomic; `+= 1` is not).
        self._counter = itertools.count(1)
        self._epoch = 0
        # Changes to single rows (a token updated or deleted, named by the triggers): the
        # number of each row's latest, the latest number, and the number below which every
        # row counts as changed (once _rows was forgotten).
        self._rows: dict[str, int] = {}
        self._row_stamp = 0
        self._row_floor = 0
        self._trusted_until = 0.0
        self._closed = threading.Event()
        self._listener: threading.Thread | None = None
        # Other channels' listeners (the throttle's): channel -> (on_notify, on_connect).
        self._subscribers: dict[
            str, tuple[Callable[[str], None], Callable[[Connection], None] | None]
        ] = {}

    def _new_pool(self) -> psycopg_pool.ConnectionPool[psycopg.Connection[Any]]:
        return psycopg_pool.ConnectionPool(
            self._url,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True, **_CONNECT},
            # A connection the server dropped (a restart) is replaced, not handed out.
            check=psycopg_pool.ConnectionPool.check_connection,
            # There is a connection for every store thread: waiting longer than this means
            # the database is not answering.
            timeout=2.0,
            open=True,
            name="regauth",
        )

    def subscribe(
        self,
        channel: str,
        on_notify: Callable[[str], None],
        *,
        on_connect: Callable[[Connection], None] | None = None,
    ) -> None:
        """Before listen(): `on_notify(payload)` for each notification on `channel`, in the
        listener's thread; `on_connect(conn)` each time it (re)connects, to catch up."""
        self._subscribers[channel] = (on_notify, on_connect)

    # The listener

    def listen(self) -> None:
        """Start hearing other replicas' changes: without it (the CLI) caches never serve.
        The first connection is made here, so caches serve from the moment this returns."""
        if self._listener is not None:
            return
        try:
            first: psycopg.Connection[Any] | None = self._subscribe()
        except psycopg.Error:
            first = None  # the listener keeps trying; until then nothing is cached
        self._listener = threading.Thread(
            target=self._listen, args=(first,), name="regauth-listen", daemon=True
        )
        self._listener.start()

    def _subscribe(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, autocommit=True, **_CONNECT)
        conn.execute(f"LISTEN {CHANNEL}")
        for channel, (_, on_connect) in self._subscribers.items():
            conn.execute(f"LISTEN {channel}")
            if on_connect is not None:
                on_connect(_Connection(conn))
        # Whatever changed while nobody listened: every cache is stale.
        self._epoch = next(self._counter)
        self._trusted_until = time.monotonic() + TRUST_SECONDS
        return conn

    def _listen(self, conn: psycopg.Connection[Any] | None) -> None:
        backoff = 0.1
        while not self._closed.is_set():
            try:
                if conn is None:
                    try:
                        conn = self._subscribe()
                    except psycopg.Error:
                        self._unreachable = True
                        raise
                    logs.event(log, logging.INFO, "change_listener_connected")
                    if self._unreachable:
                        self._reachable_again()
                backoff = 0.1
                with conn:
                    while not self._closed.is_set():
                        for notify in conn.notifies(timeout=_PING_SECONDS):
                            if notify.channel == CHANNEL:
                                self._heard(notify.payload)
                            elif notify.channel in self._subscribers:
                                self._subscribers[notify.channel][0](notify.payload)
                            if self._closed.is_set():
                                break
                        conn.execute("SELECT 1")  # the connection still answers
                        self._trusted_until = time.monotonic() + TRUST_SECONDS
            except psycopg.Error as exc:
                self._trusted_until = 0.0  # caches stop serving at once
                if backoff == 0.1:
                    logs.event(
                        log, logging.WARNING, "change_listener_lost", cause=type(exc).__name__
                    )
                self._closed.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            conn = None

    def _heard(self, payload: str) -> None:
        """A trigger's notification: "tokens:<id>" for one row, a table's name for anything
        in it."""
        if ":" in payload:
            self._changed_rows((payload,))
        else:
            self._epoch = next(self._counter)

    def _changed_rows(self, rows: Iterable[str]) -> None:
        # Numbered after the commit, so a look-up that read an earlier stamp may have missed
        # the change and is not kept (VersionedCache); a later one saw it.
        number = next(self._counter)
        for row in rows:
            self._rows[row] = number
        if len(self._rows) > _ROWS_KEPT:
            # The floor first: a reader that finds the new, empty dict sees the floor too.
            self._row_floor = number
            self._rows = {}
        self._row_stamp = number

    def _reachable_again(self) -> None:
        """The database answers again after an outage: a fresh pool, at once. (psycopg_pool
        would retry its broken connections with a doubling delay: as long again as the
        outage lasted.) The old pool is closed aside, its connections gone anyway."""
        old, self._pool = self._pool, self._new_pool()
        self._unreachable = False
        threading.Thread(target=old.close, kwargs={"timeout": 5.0}, daemon=True).start()

    # Backend

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self._connection() as raw:
            yield _Connection(raw)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with self._connection() as raw:
            try:
                with raw.transaction():
                    yield _Connection(raw)
            except psycopg.OperationalError as exc:  # the commit itself failed
                raise _unavailable(exc) from None

    def committed_quietly(self) -> None:
        """Nothing to do: PostgreSQL's caches hear only what is announced (NOTIFY)."""

    def announce(self, changes: Changes) -> None:
        """The triggers tell the other replicas (and, through the listener, this one); this
        process's caches need not wait for the round trip."""
        if changes.everything:
            self._epoch = next(self._counter)
        else:
            self._changed_rows(changes.rows)

    @contextmanager
    def savepoint(self, conn: Connection) -> Iterator[None]:
        assert isinstance(conn, _Connection)
        with conn.raw.transaction():
            yield

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._unreachable:
            raise Unavailable("database unavailable (unreachable)")
        try:
            with self._pool.connection() as raw:
                yield raw
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as exc:
            raise _unavailable(exc) from None

    def version(self) -> Hashable:
        return self._epoch

    def row_stamp(self) -> int:
        return self._row_stamp

    def row_changed(self, row: str, since: int) -> bool:
        # _rows before the floor: the opposite of the order _changed_rows writes them.
        number = self._rows.get(row, 0)
        return number > since or self._row_floor > since

    def trusted(self) -> bool:
        return time.monotonic() < self._trusted_until

    def ping(self) -> None:
        with self.reading() as conn:
            conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            # Wakes the listener from its wait at once (any notification on the channel
            # does); if the database is unreachable, it ends within its next timeout.
            with contextlib.suppress(Unavailable, psycopg.Error), self.reading() as conn:
                conn.execute("SELECT pg_notify(?, 'closing')", (CHANNEL,))
            self._listener.join(timeout=5)
        self._pool.close()
