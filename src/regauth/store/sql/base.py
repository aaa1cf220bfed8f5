"""What the table modules stand on, whichever database is behind them: a connection that takes
`?` placeholders, transactions that nest (as savepoints), and the few spellings that differ.

The SQL in store/sql/ is written once for both backends: RETURNING, ON CONFLICT, booleans
bound as Python bools (SQLite stores them as 0/1, PostgreSQL has a boolean type), no rowid.
A backend (store/sqlite/, store/postgres/) supplies connections and says how to lock a row.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

import orjson

from regauth.domain.models import TokenUse
from regauth.domain.networks import Network, stored_networks

P = ParamSpec("P")
T = TypeVar("T")


class IntegrityViolation(Exception):
    """A unique or foreign key constraint refused a write (either backend's own error)."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """A connection in the table modules' terms: `?` placeholders, IntegrityViolation."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Cursor: ...


# A batch of rows written by one statement is cut into statements of this many: a JSON text
# and its parse per statement, kept small in the store thread's memory.
ROWS_PER_STATEMENT = 512


def statement_chunks(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    """`rows` in runs of ROWS_PER_STATEMENT, one statement's worth each."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


@dataclass(frozen=True, slots=True)
class Dialect:
    # "SELECT 1 FROM users WHERE id = ? FOR UPDATE" on PostgreSQL; SQLite's BEGIN IMMEDIATE
    # already holds the database's one write lock for the whole transaction.
    row_lock: str
    # The larger of two values (SQLite's two-argument max(), PostgreSQL's GREATEST).
    greatest: str
    # A text column holding a JSON object, one key of it as text.
    json_text: str  # format with column= and key=
    # Comma-joined strings of a group.
    group_concat: str  # format with expr=
    # The (key, value) rows of a JSON object given as one parameter, its values integers: a
    # batch written by one statement (a step per row re-takes the GIL for each).
    json_int_pairs: str
    # Rows (id, at, ip, ua) of a JSON object {id: [at, ip, ua]} given as one parameter, for a
    # batch of last uses in one UPDATE.
    json_uses: str
    # A statement that locks a table's rows named by the keys of that JSON object in id order,
    # run before the UPDATE; "" where the transaction already holds the one write lock
    # (SQLite). PostgreSQL's UPDATE ... FROM locks rows in its join's order: two replicas'
    # flushes in different orders could deadlock. Ids are COLLATE "C", the order the batch
    # is sorted and cut into statements in, so every flush locks in one order throughout.
    lock_uses: str


@dataclass(slots=True)
class Changes:
    """What a committed transaction changed that a cache may hold: anything (the default for a
    write), or only the rows named here ("tokens:<id>"), whose cached derivations alone are
    dropped. A transaction whose writes name neither (a last use, an audit line, a new row no
    cache can hold yet) changes nothing a cache holds."""

    everything: bool = False
    rows: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return self.everything or bool(self.rows)


class Backend(Protocol):
    """One database: connections for reads, transactions for writes, change versions."""

    name: str
    dialect: Dialect

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection for statements outside a transaction (each one commits by itself)."""
        ...

    def writing(self) -> AbstractContextManager[Connection]:
        """A write transaction, committed when the block ends."""
        ...

    def announce(self, changes: Changes) -> None:
        """After a commit: tell this process's caches at once (other processes and replicas
        hear of it through the backend's own signal)."""
        ...

    def savepoint(self, conn: Connection) -> AbstractContextManager[None]: ...

    def committed_quietly(self) -> None:
        """After a commit that announced nothing: what it wrote is in no cache."""
        ...

    def version(self) -> Hashable:
        """Changes whenever a change to anything, announced by any process or replica, may be
        visible."""
        ...

    def row_stamp(self) -> int:
        """Read before a look-up: row_changed(row, stamp) later says whether `row` changed
        since."""
        ...

    def row_changed(self, row: str, since: int) -> bool:
        """Whether `row` ("tokens:<id>") may have changed since row_stamp() returned `since`
        (a backend that cannot tell rows apart announces every change as version())."""
        ...

    def trusted(self) -> bool: ...

    def listen(self) -> None: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class SqlTables:
    """The base of every table module: the current thread's transaction, if any, is the one
    every statement joins, so a service operation is one transaction however many tables it
    touches (Database.transaction)."""

    def __init__(self, backend: Backend, *, threads: int) -> None:
        self._backend = backend
        self._local = threading.local()
        # Threads of their own, not the loop's default executor (which hashes passwords in
        # other services): a flood of argon2 checks must not queue the database calls.
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="regauth-db")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in one of the store's threads: how the event loop calls a
        service operation or a store method without waiting on the database itself."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    @property
    def backend(self) -> str:
        return self._backend.name

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The caller's block as one transaction; inside another, a savepoint of it (so a
        refused insert that is retried does not abort the whole operation). What it announces
        is what the writes inside it do."""
        with self._transaction(announce=False):
            yield

    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    @contextmanager
    def _transaction(self, *, announce: bool = True) -> Iterator[Connection]:
        """A write (joining the thread's transaction if there is one). `announce=True`: any
        cache may hold what it changes; False: none does, or the block names the rows it
        changed with _rows_changed()."""
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            self._local.changes.everything |= announce
            with self._backend.savepoint(current):
                yield current
            return
        changes = Changes(everything=announce)
        with self._backend.writing() as conn:
            self._local.conn, self._local.changes = conn, changes
            try:
                yield conn
            finally:
                self._local.conn = self._local.changes = None
        if changes:
            self._backend.announce(changes)
        else:
            self._backend.committed_quietly()

    def _rows_changed(self, table: str, ids: Iterable[str]) -> None:
        """Inside _transaction(announce=False): these rows of `table` were updated or deleted;
        caches drop what they derived from them alone."""
        self._local.changes.rows.update(f"{table}:{row_id}" for row_id in ids)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._backend.reading() as conn:
            yield conn

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._read() as conn:
            return conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()

    def _lock(self, table: str, row_id: int) -> None:
        """Hold `table`'s row until the transaction ends, so that check-then-insert (a limit)
        is not raced by another worker or replica."""
        if self._backend.dialect.row_lock:
            with self._read() as conn:
                conn.execute(self._backend.dialect.row_lock.format(table=table), (row_id,))

    def _write_uses(self, table: str, uses: Mapping[str, TokenUse]) -> None:
        """Batched last-use records for `tokens` or `org_tokens`, in one transaction that
        tells no cache (a last use changes nothing /token decides on)."""
        if not uses:
            return
        rows = sorted(uses.items())
        dialect = self._backend.dialect
        with self._transaction(announce=False) as conn:
            # A statement per 512 tokens, as for push grants (repositories.py): executemany
            # takes the GIL back for every row, and under load each take waits for the loop
            # (and on PostgreSQL it ran a statement a row).
            for chunk in statement_chunks(rows):
                batch = (orjson.dumps({t: (u.at, u.ip, u.user_agent) for t, u in chunk}).decode(),)
                if dialect.lock_uses:
                    conn.execute(dialect.lock_uses.format(table=table), batch)
                # Only move forward: another worker or replica may have written a later use.
                conn.execute(
                    f"UPDATE {table} SET last_used_at = u.at, last_used_ip = u.ip, "
                    f"last_used_user_agent = u.ua FROM {dialect.json_uses} AS u "
                    f"WHERE {table}.id = u.id "
                    f"AND ({table}.last_used_at IS NULL OR {table}.last_used_at <= u.at)",
                    batch,
                )

    def version(self) -> Hashable:
        return self._backend.version()

    def row_stamp(self) -> int:
        return self._backend.row_stamp()

    def row_changed(self, row: str, since: int) -> bool:
        return self._backend.row_changed(row, since)

    def trusted(self) -> bool:
        return self._backend.trusted()

    def listen(self) -> None:
        """A serving process: hear other processes' (replicas') changes, so caches serve."""
        self._backend.listen()

    def ping(self) -> None:
        self._backend.ping()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._backend.close()


# A credential's lists (a fine-grained token's repositories, a network-bound one's networks)
# are one text column each: comma-separated, as no repository name or CIDR holds a comma, so
# /token reads a credential in its one lookup; NULL is no list, which is not an empty one.


def list_column(items: Iterable[object] | None) -> str | None:
    return None if items is None else ",".join(map(str, items))


def listed(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(text.split(","))


def networks_listed(text: str | None) -> tuple[Network, ...] | None:
    return None if text is None else stored_networks(text.split(","))
