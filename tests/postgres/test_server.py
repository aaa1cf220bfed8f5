"""The PostgreSQL test server (tests/support/postgres.py) does what the store's tests will need:
password logins, upserts, LISTEN/NOTIFY, fresh databases, and restarts that clients survive."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from tests.support.postgres import ROLE, PostgresDatabase, PostgresServer


def test_regauth_connects_over_loopback_with_its_password_and_is_no_superuser(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    with psycopg.connect(postgres_database.url) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), inet_server_addr()::text,"
            " inet_server_port(), current_setting('is_superuser'), current_setting('fsync')"
        ).fetchone()
    assert row == (ROLE, postgres_database.name, "127.0.0.1/32", postgres_server.port, "off", "off")
    wrong = postgres_database.url.replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def test_the_server_does_not_run_as_root(postgres_server: PostgresServer) -> None:
    pid = (postgres_server.data_dir / "postmaster.pid").read_text().split()[0]
    real_uid = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]
    assert real_uid != "0"


def test_an_upsert_counts_every_one_of_many_simultaneous_writers(
    postgres_database: PostgresDatabase,
) -> None:
    """What one throttle across replicas stands on: a counter upserted from many connections."""
    with psycopg.connect(postgres_database.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE failures (key text PRIMARY KEY, count integer NOT NULL)")
    writers, each = 8, 25
    seen: list[int] = []
    barrier = threading.Barrier(writers)

    def write() -> None:
        with psycopg.connect(postgres_database.url, autocommit=True) as conn:
            barrier.wait()
            for _ in range(each):
                row = conn.execute(
                    "INSERT INTO failures (key, count) VALUES (%s, 1)"
                    " ON CONFLICT (key) DO UPDATE SET count = failures.count + 1"
                    " RETURNING count",
                    ("alice@192.0.2.1",),
                ).fetchone()
                assert row is not None
                seen.append(row[0])

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each writer saw the count its own increment made: no two the same, none lost.
    assert sorted(seen) == list(range(1, writers * each + 1))


async def test_a_notification_reaches_a_listener_on_another_connection_at_commit(
    postgres_database: PostgresDatabase,
) -> None:
    listener = await psycopg.AsyncConnection.connect(postgres_database.url, autocommit=True)
    notifier = await psycopg.AsyncConnection.connect(postgres_database.url)
    async with listener, notifier:
        await listener.execute("LISTEN changes")
        await notifier.execute("SELECT pg_notify('changes', 'token 42 revoked')")
        # Not before the notifier's transaction commits.
        assert [n async for n in listener.notifies(timeout=0.3)] == []
        await notifier.commit()
        received = [n async for n in listener.notifies(timeout=5, stop_after=1)]
    assert [(n.channel, n.payload) for n in received] == [("changes", "token 42 revoked")]


def test_a_pool_hands_out_working_connections_after_a_restart(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    pool = ConnectionPool(
        postgres_database.url, min_size=2, open=False, check=ConnectionPool.check_connection
    )
    with pool:
        pool.open(wait=True)
        with pool.connection() as conn:
            conn.execute("CREATE TABLE marks (n integer)")
            conn.execute("INSERT INTO marks VALUES (1)")
        held = psycopg.connect(postgres_database.url)
        with postgres_server.down(), pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres_database.url, connect_timeout=2)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")  # its server process is gone
        held.close()
        # The pool checks each connection before handing it out and replaces the dead ones.
        with pool.connection() as conn:
            assert conn.execute("SELECT n FROM marks").fetchall() == [(1,)]


def test_a_commit_survives_the_server_being_killed(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    with psycopg.connect(postgres_database.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE marks (n integer)")
        conn.execute("INSERT INTO marks VALUES (7)")
        with postgres_server.down(crash=True):
            pass  # killed right after the commit returned: crash recovery must replay it
    assert "database system was interrupted" in postgres_server.log_text()
    with psycopg.connect(postgres_database.url) as conn:
        assert conn.execute("SELECT n FROM marks").fetchall() == [(7,)]


async def test_a_listener_learns_that_its_connection_died_and_hears_again_after_reconnecting(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    """What a replica's cache invalidation needs: a lost LISTEN connection is an error it sees,
    not a silence it would take for "nothing changed"."""
    listener = await psycopg.AsyncConnection.connect(postgres_database.url, autocommit=True)
    await listener.execute("LISTEN changes")
    with postgres_server.down(), pytest.raises(psycopg.OperationalError):
        async for _ in listener.notifies(timeout=10):
            pass
    await listener.close()
    async with await psycopg.AsyncConnection.connect(
        postgres_database.url, autocommit=True
    ) as listener:
        await listener.execute("LISTEN changes")
        async with await psycopg.AsyncConnection.connect(
            postgres_database.url, autocommit=True
        ) as notifier:
            await notifier.execute("NOTIFY changes, 'after the restart'")
        received = [n.payload async for n in listener.notifies(timeout=5, stop_after=1)]
    assert received == ["after the restart"]


def test_each_database_is_a_fresh_copy_of_its_template(postgres_server: PostgresServer) -> None:
    created: list[str] = []

    def create(**template: str) -> PostgresDatabase:
        database = postgres_server.create_database(**template)
        created.append(database.name)
        return database

    try:
        filled = create()
        with psycopg.connect(filled.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_version (v integer)")
            conn.execute("INSERT INTO schema_version VALUES (3)")
        # A migrated template, copied per test: what the store's contract tests will do.
        copy, empty = create(template=filled.name), create()
        with psycopg.connect(copy.url) as conn:
            assert conn.execute("SELECT v FROM schema_version").fetchall() == [(3,)]
        with psycopg.connect(empty.url) as conn:
            query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            assert conn.execute(query).fetchone() == (0,)
    finally:
        for name in created:
            postgres_server.drop_database(name)


async def test_dropping_a_database_closes_the_connections_to_it(
    postgres_server: PostgresServer,
) -> None:
    database = postgres_server.create_database()
    conn = await psycopg.AsyncConnection.connect(database.url)
    await asyncio.to_thread(postgres_server.drop_database, database.name)
    with pytest.raises(psycopg.OperationalError):
        await conn.execute("SELECT 1")
    await conn.close()
