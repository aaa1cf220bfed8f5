"""Backing up a PostgreSQL deployment as `regauth db backup --help` says: PostgreSQL's own
pg_dump and pg_restore (Debian's, beside the test server's binaries), into a new database."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.domain.credentials import Credentials
from regauth.runtime import open_runtime
from tests.cli.conftest import Cli
from tests.e2e.harness.processes import child_env
from tests.support.builders import add_org, add_token, add_user, make_config, reconfigured
from tests.support.clock import FakeClock
from tests.support.postgres import PostgresDatabase, PostgresServer, find_bindir


@pytest.fixture
def config(tmp_path: Path, postgres_database: PostgresDatabase) -> Config:
    return make_config(tmp_path, storage={"url": postgres_database.url})


@pytest.fixture
def restored(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """The new, empty database a dump is restored into."""
    database = postgres_server.create_database()
    yield database
    postgres_server.drop_database(database.name)


def postgres_tool(name: str, *argv: str) -> str:
    """Run one of PostgreSQL's client programs; its stderr (warnings), which must be empty."""
    env = {k: v for k, v in child_env().items() if not k.startswith("PG")}
    result = subprocess.run(
        [str(find_bindir() / name), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


async def test_a_pg_dump_restored_into_a_new_database_keeps_every_credential(
    config: Config,
    clock: FakeClock,
    postgres_database: PostgresDatabase,
    restored: PostgresDatabase,
    tmp_path: Path,
) -> None:
    runtime = open_runtime(config, clock=clock)
    try:
        add_user(runtime, "alice")
        pat = add_token(runtime, "alice")
        add_org(runtime, "acme", "alice")
        dump = tmp_path / "regauth.dump"
        # While the service runs: pg_dump reads one snapshot.
        # https://www.postgresql.org/docs/current/app-pgdump.html
        assert (
            postgres_tool(
                "pg_dump", "--format=custom", f"--file={dump}", f"--dbname={postgres_database.url}"
            )
            == ""
        )
    finally:
        runtime.close()

    # As regauth's own role, which owns both databases (no superuser needed).
    warnings = postgres_tool(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--single-transaction",
        "--no-owner",
        f"--dbname={restored.url}",
        str(dump),
    )
    assert warnings == ""

    # Not migrated on opening: the restored schema is already this regauth's.
    elsewhere = reconfigured(config, storage={"url": restored.url, "migrate": False})
    runtime = open_runtime(elsewhere, clock=clock)
    try:
        authenticated = await runtime.authenticator.authenticate(Credentials("alice", pat))
        assert authenticated.principal.name == "alice"
        assert [o.name for o in runtime.organizations.all()] == ["acme"]
        # pg_dump carries each sequence's position: new rows take new ids.
        bob = add_user(runtime, "bob", None)
        assert bob.id == runtime.users.get("alice").id + 1
    finally:
        runtime.close()


@pytest.mark.parametrize("action", ["backup", "restore"])
def test_db_backup_on_postgresql_points_to_pg_dump(
    config: Config, clock: FakeClock, tmp_path: Path, action: str
) -> None:
    cli = Cli(
        {
            "REGAUTH_STORAGE_PATH": config.storage.path,
            "REGAUTH_STORAGE_URL": config.storage.url,
            "REGAUTH_KEYS_DIR": config.keys.dir,
        },
        clock,
    )
    result = cli("db", action, str(tmp_path / "regauth.db"))
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines() == [
        "regauth: [storage] url is PostgreSQL: back it up with pg_dump --format=custom and"
        " restore it with pg_restore --clean --if-exists into an empty database"
        " (see `regauth db backup --help`)"
    ]
    assert not (tmp_path / "regauth.db").exists()


def test_the_help_says_how_to_back_up_postgresql(clock: FakeClock) -> None:
    text = Cli({}, clock)("db", "backup", "--help").out
    assert "pg_dump --format=custom" in text
    assert "pg_restore --clean --if-exists --single-transaction --no-owner" in text
    assert "[keys] dir" in text
