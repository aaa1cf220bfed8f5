"""Moving a deployment from SQLite to PostgreSQL: every row, ids included, read from one SQLite
snapshot and written in one PostgreSQL transaction; and the schema version a database is at.

The two schemas are the same column for column (tests/postgres/test_migrations.py holds them
together), so a row is copied by its column names; only the 0/1 flags change type, to BOOLEAN.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import tuple_row

from regauth.config import StorageConfig
from regauth.errors import CopyError, NotFound
from regauth.store.describe import describe_url
from regauth.store.postgres import migrations as pg_migrations
from regauth.store.sqlite import migrations as sqlite_migrations

# Parents before children: the foreign keys are not DEFERRABLE, so PostgreSQL checks them as
# each table's COPY ends, not at commit.
# https://www.postgresql.org/docs/current/sql-createtable.html (DEFERRABLE)
# A table the SQLite schema gains must be added here: the copy refuses a source table it does
# not know rather than leave it behind.
TABLES = (
    "users",
    "recovery_codes",
    "token_creations",
    "tokens",
    "web_sessions",  # after users and tokens, which it refers to
    "repositories",
    "pushed_repositories",
    "audit_events",
    "admin_keys",
    "organizations",
    "org_members",
    "teams",
    "team_members",
    "team_permissions",
    "org_tokens",
    "org_token_resources",
    "identities",
    "scim_users",
    "scim_groups",
    "scim_group_members",
    "notifications",
    "scheduled_jobs",
    "meta",
)
# Facts about the deployment (its HMAC secret's fingerprint): a target that holds the same
# ones still counts as empty (a process opened it with the same [keys] dir, say).
META = "meta"
# How long the copy waits for a lock: on the target, held by a process writing to it; on the
# SQLite source, only by a connection in exclusive locking mode (under WAL a reader never waits
# for a writer).
LOCK_TIMEOUT = "10s"
BUSY_TIMEOUT_SECONDS = 10.0
# Rows read from SQLite per fetch: the copy streams, so a long audit trail is never all in memory.
BATCH = 1000
APPLICATION_NAME = "regauth db copy"
_FLAG_VALUES = {0: False, 1: True}


@dataclass(frozen=True)
class SchemaVersion:
    current: int
    required: int  # what this regauth's migrations bring the backend to


@dataclass(frozen=True)
class CopyResult:
    """What was copied, where: never a password, never a row's content."""

    source: Path
    target: str  # host:port/dbname
    schema_before: int  # the target's, before the copy migrated it
    schema: int
    rows: dict[str, int]  # per table, in copy order


def schema_version(storage: StorageConfig, url: str | None = None) -> SchemaVersion:
    """The schema version of the configured database (0: none yet), read without changing it;
    `url` is the PostgreSQL URL with its password (store.postgres_url)."""
    if not storage.url:
        path = Path(storage.path)
        if not path.exists():
            return SchemaVersion(0, sqlite_migrations.SCHEMA_VERSION)
        with _sqlite(path) as conn:
            return SchemaVersion(_sqlite_version(conn), sqlite_migrations.SCHEMA_VERSION)
    with _postgres(url or storage.url, autocommit=True) as conn:
        return SchemaVersion(_pg_version(conn), pg_migrations.SCHEMA_VERSION)


def copy_to_postgres(source: Path, url: str, *, password: str | None = None) -> CopyResult:
    """Copy the SQLite database at `source` into the PostgreSQL database at `url`, which must
    hold no rows (a migrated or a brand-new database; a new one is migrated first).

    Reads one snapshot of `source`: the service may keep running, and what it writes after
    the snapshot is not copied. Writes in one transaction: all of it or, on any failure,
    nothing (what a failed copy leaves is an empty, migrated database to copy into again).
    """
    if password:
        url = make_conninfo(url, password=password)
    target = describe_url(url)
    if not source.is_file():
        raise NotFound(f"no SQLite database at {source}: check [storage] path or --config")
    with (
        _sqlite(source) as src,
        _postgres(url, autocommit=True, failed="; nothing was copied") as dst,
    ):
        # Every wait for a lock on the target (a process writing to it, or migrating it)
        # gives up after this, with an error, rather than hang.
        # https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
        dst.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        # The snapshot first: everything after reads the state committed at this point. A
        # deferred transaction's snapshot starts at its first read, and in WAL mode it holds
        # however many commits the service makes meanwhile.
        # https://sqlite.org/isolation.html  https://sqlite.org/lang_transaction.html
        src.execute("BEGIN")
        try:
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            tables = _source_tables(src, source)
            meta = dict(src.execute("SELECT key, value FROM meta").fetchall())
            # Before anything is written, migrations included: a refused target is left as
            # it was.
            _refuse_unless_empty(dst, meta)
            # Before the transaction: migrate() commits each step by itself (and refuses a
            # database newer than this regauth).
            before = pg_migrations.migrate(dst)
            with dst.transaction():
                rows = _copy(src, dst, tables, meta)
        finally:
            if src.in_transaction:  # it only read: nothing to commit
                src.execute("ROLLBACK")
    return CopyResult(source.resolve(), target, before, pg_migrations.SCHEMA_VERSION, rows)


def _copy(
    src: sqlite3.Connection,
    dst: psycopg.Connection[Any],
    tables: dict[str, list[str]],
    meta: dict[str, str],
) -> dict[str, int]:
    """Inside the target's transaction: hold its tables, check them again, copy, renumber."""
    # EXCLUSIVE: a process already serving on the target may read but not write until the
    # copy commits, so "empty" stays true from the check below to the commit.
    # https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES
    dst.execute(
        sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
            sql.SQL(", ").join(map(sql.Identifier, TABLES))
        )
    )
    _refuse_unless_empty(dst, meta)
    types = _target_types(dst)
    rows: dict[str, int] = {}
    for table in TABLES:
        columns = tables[table]
        missing = [c for c in columns if (table, c) not in types]
        if missing:
            raise CopyError(
                f"the target's {table} has no column {missing[0]}: is it this regauth's schema?"
            )
        skip = _existing_meta(dst) if table == META else set()
        try:
            rows[table] = _copy_table(
                src, dst, table, columns, [types[table, c] for c in columns], skip=skip
            )
        except psycopg.Error as exc:
            raise CopyError(
                f"copying {table} failed ({type(exc).__name__}: {_first_line(exc, dst)});"
                " nothing was copied"
            ) from None
    _advance_identities(dst)
    return rows


def _copy_table(
    src: sqlite3.Connection,
    dst: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    *,
    skip: set[str],
) -> int:
    """Stream `table` from SQLite into PostgreSQL's COPY FROM STDIN; the rows copied.

    COPY rather than INSERTs: one statement and one stream, not a round trip per row.
    https://www.postgresql.org/docs/current/sql-copy.html
    https://www.psycopg.org/psycopg3/docs/basic/copy.html
    """
    flags = [i for i, t in enumerate(types) if t == "boolean"]
    listed = ", ".join(f'"{c}"' for c in columns)
    # In rowid order (the order SQLite inserted them), so the same source copies the same way.
    cursor = src.execute(f"SELECT {listed} FROM {table} ORDER BY rowid")
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with dst.cursor() as cur, cur.copy(statement) as copy:
        # The target's types, not ones guessed from the Python values: bytes as BYTEA, and
        # SQLite's 0/1 ints (turned into bools below) as BOOLEAN.
        copy.set_types(list(types))
        while batch := cursor.fetchmany(BATCH):
            for row in batch:
                if table == META and row[0] in skip:
                    continue  # the target holds the same value already
                values = list(row)
                for i in flags:
                    values[i] = _flag(table, columns[i], values[i])
                copy.write_row(values)
                count += 1
    return count


def _flag(table: str, column: str, value: Any) -> bool:
    try:
        return _FLAG_VALUES[value]
    except (KeyError, TypeError):
        raise CopyError(
            f"{table}.{column} holds {value!r}, not 0 or 1; nothing was copied"
        ) from None


def _advance_identities(dst: psycopg.Connection[Any]) -> None:
    """Each identity column's sequence past the ids copied, so the next row the service
    inserts does not take an id a copied row holds. Explicit ids never advance a sequence.

    setval(seq, max + 1, false): the next nextval() returns max + 1, and 1 for an empty table
    (max is NULL there). setval is not undone by a rollback, which is harmless: a copy that
    fails after it leaves an empty table whose ids start higher, and a new copy sets it again.
    https://www.postgresql.org/docs/current/functions-sequence.html
    https://www.postgresql.org/docs/current/functions-info.html (pg_get_serial_sequence)
    """
    identities = dst.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in identities:
        if table not in TABLES:
            continue
        dst.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(max({}), 0) + 1, false)"
                " FROM {}"
            ).format(sql.Identifier(column), sql.Identifier(table)),
            (table, column),
        )


def _refuse_unless_empty(dst: psycopg.Connection[Any], meta: dict[str, str]) -> None:
    """Refuse a target with rows in any of regauth's tables (but meta rows equal to the
    source's): copying into one would merge two deployments, or fail on their ids."""
    existing = {
        name
        for (name,) in dst.execute(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    occupied = [
        table
        for table in TABLES
        if table != META
        and table in existing
        and dst.execute(
            sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(table))
        ).fetchone()
        == (True,)
    ]
    if occupied:
        raise CopyError(
            f"the target is not empty ({', '.join(occupied)} hold rows): copy into a new,"
            " empty database; nothing was copied"
        )
    if META in existing:
        for key, value in dst.execute("SELECT key, value FROM meta").fetchall():
            if meta.get(key) != value:
                raise CopyError(
                    f"the target's meta {key!r} is not the source's (it was started with"
                    " another [keys] dir?): copy into a new, empty database; nothing was copied"
                )


def _existing_meta(dst: psycopg.Connection[Any]) -> set[str]:
    return {str(key) for (key,) in dst.execute("SELECT key FROM meta")}


def _target_types(dst: psycopg.Connection[Any]) -> dict[tuple[str, str], str]:
    """(table, column) -> the column's type as PostgreSQL names it ('bigint', 'boolean', ...)."""
    rows = dst.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
    ).fetchall()
    return {(str(t), str(c)): str(d) for t, c, d in rows}


def _source_tables(src: sqlite3.Connection, path: Path) -> dict[str, list[str]]:
    """The source's tables and their columns, checked to be this regauth's schema."""
    version = _sqlite_version(src)
    if version != sqlite_migrations.SCHEMA_VERSION:
        raise CopyError(
            f"the SQLite database at {path} is at schema version {version}, this regauth copies"
            f" version {sqlite_migrations.SCHEMA_VERSION}: run `regauth db migrate` on it first"
        )
    names = [
        str(name)
        for (name,) in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        raise CopyError(f"the SQLite database has tables this copy does not know: {unknown}")
    return {
        table: [str(row[1]) for row in src.execute(f"PRAGMA table_info({table})")]
        for table in TABLES
    }


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (`mode=ro`: it cannot create or change the file)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(
            sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        ) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if not {"users", "tokens"} <= names:
                raise CopyError(f"{path} is not a regauth database (it has no users table)")
            yield conn
    except sqlite3.Error as exc:
        raise CopyError(f"cannot read the SQLite database at {path}: {exc}") from None


def _sqlite_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextmanager
def _postgres(url: str, *, autocommit: bool, failed: str = "") -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own (not the store's pool); libpq's errors without the password,
    `failed` added to a failure's message."""
    secret = _password(url)
    try:
        conn = psycopg.connect(
            url,
            autocommit=autocommit,
            connect_timeout=10,
            application_name=APPLICATION_NAME,
            row_factory=tuple_row,
        )
    except psycopg.Error as exc:
        message = _scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", secret)
        raise CopyError(
            f"cannot connect to PostgreSQL at {describe_url(url)}: {message or type(exc).__name__}"
        ) from None
    with conn:
        try:
            yield conn
        except psycopg.Error as exc:
            raise CopyError(
                f"PostgreSQL at {describe_url(url)} failed ({type(exc).__name__}:"
                f" {_first_line(exc, conn)}){failed}"
            ) from None


def _pg_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    version = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(version[0]) if version else 0


def _password(url: str) -> str:
    try:
        return str(conninfo_to_dict(url).get("password") or "")
    except psycopg.ProgrammingError:
        return ""


def _first_line(exc: BaseException, conn: psycopg.Connection[Any]) -> str:
    """The server's message, first line: it names a table or a constraint, never the URL."""
    text = str(exc).strip()
    return _scrub(text.splitlines()[0] if text else type(exc).__name__, conn.info.password)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
