"""The PostgreSQL schema migrations: versioning, concurrent starters, the same schema as SQLite's,
and the change notifications that invalidate every replica's cache."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from regauth.errors import ConfigError
from regauth.store.postgres import migrations
from regauth.store.postgres.migrations import SCHEMA_VERSION, migrate
from regauth.store.sqlite import migrations as sqlite_migrations
from tests.support.postgres import PostgresDatabase

# Tables only PostgreSQL has (the shared sign-in throttle will join them).
PG_ONLY = {"schema_version", "sign_in_failures"}
# The 0/1 flags of SQLite, BOOLEAN in PostgreSQL.
FLAGS = {
    ("users", "is_admin"),
    ("users", "disabled"),
    ("users", "totp_enabled"),
    ("tokens", "active"),
    ("org_tokens", "public_read"),
    ("org_tokens", "active"),
    ("web_sessions", "read_only"),
}
PG_TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
# Written on every use of a credential; a write of these alone must wake no replica.
LAST_USE = {"last_used_at", "last_used_ip", "last_used_user_agent"}
# What a sign-in through an identity notes on it: as quiet as a credential's last use.
SIGN_IN_NOTES = {"groups", "last_seen_at"}
# Tables whose writes notify nobody: written on the hot path and cached by nobody.
# web_sessions: no cache holds a web session (each page view reads its row) and /token never
# reads it, so a sign-in or a sliding last_seen_at must wake no replica.
# pushed_repositories: only `repo set-visibility` reads it.
SILENT = {
    "audit_events",
    "token_creations",
    "web_sessions",
    "pushed_repositories",
    # Single sign-on: read by sign-ins and SCIM afresh, never cached; the memberships they
    # lead to are written to team_members and org_members, which notify. (identities notify:
    # password routes are cached with the account's link.)
    "scim_users",
    "scim_groups",
    "scim_group_members",
    # Credential hygiene: webhook notifications and the periodic jobs' schedule, read by the
    # background work afresh each round, never cached (the token columns it changes notify).
    "notifications",
    "scheduled_jobs",
    *PG_ONLY,
}
# Tables whose updates and deletions name the row (row-level triggers; inserts tell nobody).
BY_ROW = {"tokens"}

Columns = dict[str, list[tuple[str, str, bool, str | None]]]


@pytest.fixture
def url(postgres_database: PostgresDatabase) -> str:
    """A migrated database."""
    with psycopg.connect(postgres_database.url) as conn:
        migrate(conn)
    return postgres_database.url


@pytest.fixture
def db(url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A connection to the migrated database where each statement commits on its own."""
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def version(conn: psycopg.Connection[Any]) -> int:
    return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])


def add_user_and_token(db: psycopg.Connection[Any], *, user: bool = True) -> None:
    if user:
        db.execute("INSERT INTO users (name, created_at) VALUES ('alice', 100)")
    db.execute(
        "INSERT INTO tokens (id, uuid, owner_id, description, access, secret_hash, created_at)"
        " SELECT 'abcdefghij', 'uuid-1', id, 'ci', 'read', %s, 100 FROM users",
        (b"h" * 32,),
    )


def test_an_empty_database_is_migrated_from_0_to_the_schema_version(
    postgres_database: PostgresDatabase,
) -> None:
    with psycopg.connect(postgres_database.url) as conn:
        assert migrate(conn) == 0
        assert version(conn) == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)


def test_migrating_again_changes_nothing(db: psycopg.Connection[Any]) -> None:
    add_user_and_token(db)
    before = pg_columns(db)
    assert migrate(db) == SCHEMA_VERSION
    assert pg_columns(db) == before
    assert version(db) == SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM tokens").fetchone() == (1,)


def test_replicas_starting_at_once_migrate_the_schema_once(
    postgres_database: PostgresDatabase,
) -> None:
    starters = 6
    barrier = threading.Barrier(starters)
    old_versions: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with psycopg.connect(postgres_database.url) as conn:
                barrier.wait()
                old_versions.append(migrate(conn))
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Without the lock, a second CREATE TABLE fails (or the version row is doubled).
    assert errors == []
    # The lock is taken per step, so a starter may take over after another's first step.
    assert len(old_versions) == starters
    assert old_versions.count(0) == 1
    with psycopg.connect(postgres_database.url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_database_newer_than_this_regauth_is_refused(db: psycopg.Connection[Any]) -> None:
    db.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(
        ConfigError, match=rf"version {SCHEMA_VERSION + 1} is newer .*\({SCHEMA_VERSION}\)"
    ):
        migrate(db)
    assert version(db) == SCHEMA_VERSION + 1


def test_a_failed_step_leaves_nothing_behind(
    db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ("CREATE TABLE half_done (n integer)", "SELECT no_such_function()")
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate(db)
    assert version(db) == SCHEMA_VERSION
    assert db.execute("SELECT to_regclass('half_done')").fetchone() == (None,)


def test_migrate_refuses_a_connection_inside_a_transaction(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1")  # not autocommit: this opened a transaction
        with pytest.raises(ValueError, match="no transaction open"):
            migrate(conn)


def sqlite_schema(tmp_path: Path) -> tuple[sqlite3.Connection, list[str]]:
    conn = sqlite3.connect(tmp_path / "regauth.db", isolation_level=None)
    sqlite_migrations.migrate(conn)
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return conn, tables


def sqlite_columns(tmp_path: Path) -> Columns:
    """Per table, in order: (name, the PostgreSQL type it maps to, NOT NULL, default)."""
    conn, tables = sqlite_schema(tmp_path)
    columns: Columns = {}
    for table in tables:
        columns[table] = []
        for _, name, type_, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})"):
            flag = (table, name) in FLAGS
            if flag:
                default = {"0": "false", "1": "true"}[default]
            # A key is NOT NULL in PostgreSQL; SQLite allows NULL in a TEXT one (a quirk
            # regauth never uses) and none in INTEGER PRIMARY KEY, the rowid.
            columns[table].append(
                (name, "boolean" if flag else PG_TYPES[type_], bool(notnull or pk), default)
            )
    conn.close()
    return columns


def pg_columns(db: psycopg.Connection[Any]) -> Columns:
    columns: Columns = {}
    rows = db.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " ORDER BY table_name, ordinal_position"
    )
    for table, name, type_, nullable, default in rows:
        if table not in PG_ONLY:
            default = default.removesuffix("::text") if default is not None else None
            columns.setdefault(table, []).append((name, type_, nullable == "NO", default))
    return columns


def test_the_schema_is_sqlites_column_for_column(
    db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """The guard that keeps the backends from drifting: a migration added to one needs its
    counterpart in the other. Same order too, so a `SELECT *` reads the same row."""
    assert pg_columns(db) == sqlite_columns(tmp_path)


def test_the_keys_references_and_indexes_are_sqlites(
    db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    conn, tables = sqlite_schema(tmp_path)
    expected: set[tuple[Any, ...]] = set()
    for table in tables:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        pk = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        if pk:  # token_creations has none
            expected.add((table, "p", pk))
        for _, index, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})"):
            names = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index})"))
            if origin == "u":
                expected.add((table, "u", names))
            elif origin == "c":  # CREATE INDEX: the same name in both
                expected.add((table, "index", index, names, bool(unique)))
        refs: dict[int, list[Any]] = {}
        for id_, _, parent, column, parent_column, _, on_delete, _ in conn.execute(
            f"PRAGMA foreign_key_list({table})"
        ):
            refs.setdefault(id_, [parent, [], [], on_delete])
            refs[id_][1].append(column)
            refs[id_][2].append(parent_column)
        for parent, cols, parent_cols, on_delete in refs.values():
            expected.add((table, "f", tuple(cols), parent, tuple(parent_cols), on_delete))
    conn.close()

    actual: set[tuple[Any, ...]] = set()
    constraints = db.execute(
        """SELECT c.conrelid::regclass::text, c.contype::text,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY i),
            c.confrelid::regclass::text,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY i),
            c.confdeltype::text
        FROM pg_constraint c
        WHERE c.connamespace = current_schema()::regnamespace AND c.contype IN ('p', 'u', 'f')"""
    )
    for table, kind, cols, parent, parent_cols, on_delete in constraints:
        if kind == "f":
            action = {"c": "CASCADE", "a": "NO ACTION"}[on_delete]
            actual.add((table, kind, tuple(cols), parent, tuple(parent_cols), action))
        else:
            actual.add((table, kind, tuple(cols)))
    indexes = db.execute(
        """SELECT t.relname::text, i.relname::text, x.indisunique,
            ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS k(n, o)
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY o)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid)"""
    )
    for table, index, unique, cols in indexes:
        if table not in PG_ONLY:
            actual.add((table, "index", index, tuple(cols), unique))
    assert {e for e in actual if e[0] not in PG_ONLY} == expected


def test_flags_are_booleans_with_sqlites_defaults(db: psycopg.Connection[Any]) -> None:
    add_user_and_token(db)
    assert db.execute("SELECT is_admin, disabled, totp_enabled FROM users").fetchone() == (
        False,
        False,
        False,
    )
    assert db.execute("SELECT active FROM tokens").fetchone() == (True,)
    # 0/1 as on SQLite is refused: the store binds Python bools.
    with pytest.raises(psycopg.errors.DatatypeMismatch):
        db.execute("UPDATE tokens SET active = %s", (0,))


def test_text_compares_bytewise_as_on_sqlite(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        "SELECT table_name, column_name, collation_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND data_type = 'text'"
    ).fetchall()
    assert rows
    assert [row for row in rows if row[2] != "C"] == []


Notified = Callable[..., list[str]]


@pytest.fixture
def notified(url: str) -> Iterator[Notified]:
    """The tables named on regauth_changes by `writes`, committed as one transaction.

    A marker sent after them ends the wait: notifications arrive in commit order, so whatever
    the writes sent has arrived before the marker, and "none" needs no timeout to be sure.
    """
    with (
        psycopg.connect(url, autocommit=True) as listener,
        psycopg.connect(url) as writer,
    ):
        listener.execute("LISTEN regauth_changes")

        def tables_named_by(*writes: str) -> list[str]:
            for write in writes:
                writer.execute(write)
            writer.commit()
            writer.execute("NOTIFY regauth_changes, 'marker'")
            writer.commit()
            seen: list[str] = []
            for notify in listener.notifies(timeout=10):
                if notify.payload == "marker":
                    return seen
                seen.append(notify.payload)
            raise AssertionError(f"no marker within 10 s; seen: {seen}")

        yield tables_named_by


def test_a_deactivation_wakes_the_replicas_and_a_last_use_does_not(
    db: psycopg.Connection[Any], notified: Notified
) -> None:
    add_user_and_token(db)
    assert notified() == ["users"]  # the inserts, one commit each: a new token tells nobody
    assert notified("UPDATE tokens SET active = FALSE") == ["tokens:abcdefghij"]
    last_use = "UPDATE {} SET last_used_at = 200, last_used_ip = '192.0.2.1'"
    assert notified(last_use.format("tokens") + ", last_used_user_agent = 'docker'") == []
    assert notified(last_use.format("admin_keys")) == []
    assert notified(last_use.format("org_tokens")) == []
    # One notification per table and transaction, however many statements wrote to it.
    assert notified("UPDATE users SET totp_last_step = 9", "UPDATE users SET disabled = TRUE") == [
        "users"
    ]
    assert notified("DELETE FROM tokens") == ["tokens:abcdefghij"]
    add_user_and_token(db, user=False)
    # CASCADE: web_sessions refers to the PAT a read-only page session was opened with.
    assert notified("TRUNCATE tokens CASCADE") == ["tokens"]


def test_each_token_updated_or_deleted_is_named_once_per_transaction(
    db: psycopg.Connection[Any], notified: Notified
) -> None:
    add_user_and_token(db)
    db.execute(
        "INSERT INTO tokens (id, uuid, owner_id, description, access, secret_hash, created_at)"
        " SELECT 'klmnopqrst', 'uuid-2', id, 'ci', 'read', %s, 100 FROM users",
        (b"h" * 32,),
    )
    assert notified() == ["users"]
    assert notified(
        "UPDATE tokens SET description = 'a'", "UPDATE tokens SET description = 'b'"
    ) == ["tokens:abcdefghij", "tokens:klmnopqrst"]
    assert notified("DELETE FROM tokens WHERE id = 'klmnopqrst'") == ["tokens:klmnopqrst"]


def test_the_audit_trail_and_token_creations_wake_nobody(
    db: psycopg.Connection[Any], notified: Notified
) -> None:
    add_user_and_token(db)
    assert notified() == ["users"]
    assert (
        notified(
            "INSERT INTO audit_events (at, actor, actor_kind, action)"
            " VALUES (1, 'alice', 'user', 'token.create')",
            "INSERT INTO token_creations (owner_id, at) SELECT id, 1 FROM users",
        )
        == []
    )


def test_every_table_notifies_but_the_silent_ones(db: psycopg.Connection[Any]) -> None:
    """A table added later without its trigger would leave stale caches: this fails first."""
    tables = {
        name
        for (name,) in db.execute(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    # tgtype's bits (src/include/catalog/pg_trigger.h): 1 row-level, 2 before, 4 insert,
    # 8 delete, 16 update, 32 truncate, 64 instead of. 60: after all four, once per statement.
    triggers: dict[str, set[int]] = {}
    for table, tgtype in db.execute(
        "SELECT tgrelid::regclass::text, tgtype::int FROM pg_trigger"
        " WHERE NOT tgisinternal AND tgname LIKE 'regauth_changes%'"
    ):
        triggers.setdefault(table, set()).add(tgtype)
    everything = {4 | 8 | 16 | 32}
    by_row = {1 | 8 | 16, 32}  # after update or delete for each row; after truncate
    assert triggers == {t: by_row if t in BY_ROW else everything for t in tables - SILENT}


def test_update_triggers_list_every_column_but_the_last_use_ones(
    db: psycopg.Connection[Any],
) -> None:
    """A column added to a table with last-use columns (or a sign-in's notes) must be added to
    its trigger's list, or changing it alone would wake nobody; tables without them notify on
    any UPDATE."""
    listed: dict[str, set[str]] = {}
    for table, column in db.execute(
        "SELECT event_object_table, event_object_column FROM information_schema"
        ".triggered_update_columns WHERE trigger_name = 'regauth_changes'"
    ):
        listed.setdefault(table, set()).add(column)
    for table, columns in pg_columns(db).items():
        names = {name for name, *_ in columns}
        if table in SILENT:
            continue
        quiet = names & (LAST_USE | SIGN_IN_NOTES)
        if quiet:
            assert listed.get(table) == names - quiet, table
        else:
            assert table not in listed, table
