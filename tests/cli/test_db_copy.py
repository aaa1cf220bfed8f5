"""`regauth db migrate` on both backends, and `regauth db copy`: a SQLite deployment moved into
PostgreSQL, where every credential it held still works and new rows still get new ids."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pyotp
import pytest
from psycopg import sql

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.domain.callers import PAT
from regauth.domain.credentials import Credentials
from regauth.domain.hygiene import Notification
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.domain.models import CLI_ACTOR, AuditQuery, TokenUse
from regauth.domain.tokens import parse_token
from regauth.errors import SecondFactorRequired
from regauth.runtime import Runtime
from regauth.services.audit import AUTH_FAILED
from regauth.services.authentication import PASSWORD
from regauth.services.rotation import secret_fingerprint
from regauth.store.copy import TABLES, copy_to_postgres
from regauth.store.postgres.migrations import SCHEMA_VERSION as PG_SCHEMA
from regauth.store.sqlite import migrations as sqlite_migrations
from regauth.store.sqlite.migrations import SCHEMA_VERSION as SQLITE_SCHEMA
from tests.cli.conftest import Cli
from tests.support.builders import OpenRuntime, add_user, enable_two_factor
from tests.support.postgres import PostgresDatabase, PostgresServer
from tests.support.secrets import remember

# A version SQLite databases really had (before tokens.seq and meta).
OLD_SQLITE = 4


# Of the SQLite deployment itself (its file, its copy): the PostgreSQL contract pass skips it.
pytestmark = pytest.mark.sqlite_only


@dataclass(frozen=True)
class Deployment:
    """A SQLite deployment with one of everything, and the secrets that open it."""

    password: str
    pat: str
    pat_id: str
    org_token: str
    admin_key: str
    totp: pyotp.TOTP
    recovery_codes: list[str]


@pytest.fixture
def deployment(cli: Cli, runtime: Runtime) -> Deployment:
    """Built through the CLI and the services, as an operator and the server would."""
    password = remember("alice-password-1")
    cli.ok("user", "add", "alice", "--password-stdin", stdin=password + "\n")
    cli.ok("user", "add", "ops", "--admin")
    argv = ["token", "create", "--user", "alice", "--description", "laptop", "--access", "write"]
    # Fine-grained and network-bound, so that those columns are carried too.
    argv += ["--repositories", "alice/app,acme/*", "--allow-from", "192.0.2.0/24,::1"]
    created = cli.ok(*argv, "--json").json()
    pat, pat_id = remember(created["token"]), created["id"]
    add_user(runtime, "bob")
    totp, codes = enable_two_factor(runtime, "bob")
    cli.ok("org", "create", "acme", "--owner", "alice")
    cli.ok("org", "set-member", "acme", "bob", "member")
    cli.ok("team", "create", "acme", "dev", "--description", "developers")
    cli.ok("team", "add-member", "acme", "dev", "bob")
    cli.ok("team", "grant", "acme", "dev", "app", "write")
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull,push"]
    org_token = remember(cli.ok(*argv, "--public-read", "--allow-from", "127.0.0.0/8").out.strip())
    argv = ["admin-key", "create", "--description", "deploy", "--allow-from", "127.0.0.0/8"]
    admin_key = remember(cli.ok(*argv).out.strip())
    cli.ok("repo", "set-visibility", "alice/site", "public")
    # What only a server writes: last uses, and failed sign-ins counted into one event.
    runtime.usage.record(pat_id, TokenUse(int(cli.clock()), "192.0.2.7", "docker/27"))
    runtime.usage.record_org(parse_token(org_token).public_id, TokenUse(1, "192.0.2.8", None))
    runtime.usage.record_push_grant("alice/site", int(cli.clock()))
    runtime.usage.flush()
    for _ in range(3):
        runtime.audit.failed_authentication("alice", "192.0.2.9", "docker", "wrong password")
    runtime.audit.flush()
    # A web page's session, opened with the PAT (so its token_id is filled too).
    alice = runtime.users.get("alice")
    opened_with = secret_fingerprint(runtime.tokens.get(pat_id).secret_hash)
    reader = runtime.sessions.caller(
        "alice", alice.id, PAT, pat_id, "192.0.2.7", "Firefox", token_secret=opened_with
    )
    runtime.web_sessions.begin(reader, "192.0.2.7", "Firefox/128")
    cli.ok("token", "deactivate", cli.create_token("alice", description="old"))
    # A single sign-on account, and SCIM's rows for it (as /scim/v2 writes them).
    carol = ExternalIdentity(IdentitySource.OIDC, "https://idp.example", "s-1", "carol", ("dev",))
    carol_id = runtime.provisioning.provision(carol, CLI_ACTOR).id
    with sqlite3.connect(sqlite_path(cli)) as conn:
        conn.execute(
            "INSERT INTO scim_users VALUES (?, 'c0ffee', 'ext-1', '{\"userName\": \"carol\"}', 1, 2)",
            (carol_id,),
        )
        conn.execute("INSERT INTO scim_groups VALUES ('g-1', 'dev', NULL, 1, 2)")
        conn.execute("INSERT INTO scim_group_members VALUES ('g-1', ?)", (carol_id,))
    # A webhook notification (as a revocation keeps one with a webhook configured), and the
    # periodic jobs' schedule (as a serving process claims them).
    runtime.store.add_notification(
        Notification(
            id="5b0d2c8e-7f51-4f0e-9d55-1f1c36a3b0a7",
            event="token.expiring",
            dedup_key=f"token.expiring:personal:{pat_id}:1",
            payload='{"event": "token.expiring"}',
            created_at=int(cli.clock()),
            next_attempt_at=int(cli.clock()),
            attempts=0,
            delivered_at=None,
            failed_at=None,
            last_status=None,
            last_error=None,
        )
    )
    now = int(cli.clock())
    assert runtime.store.claim_job("staleness", now=now, next_due=now + 3600)
    return Deployment(password, pat, pat_id, org_token, admin_key, totp, codes)


def sqlite_path(cli: Cli) -> Path:
    return Path(cli.env["REGAUTH_STORAGE_PATH"])


def on_postgres(cli: Cli, url: str) -> Cli:
    """The same data folder's CLI with [storage] url set, as after the switch."""
    return Cli({**cli.env, "REGAUTH_STORAGE_URL": url}, cli.clock)


def rows(url_or_path: str | Path, table: str, columns: list[str]) -> Counter[tuple[Any, ...]]:
    """A table's rows (flags as 0/1, as SQLite keeps them), however many times each."""
    if isinstance(url_or_path, Path):
        listed = ", ".join(f'"{c}"' for c in columns)
        with sqlite3.connect(url_or_path) as conn:
            # The schema's own names, from PRAGMA table_info.
            found = conn.execute(f"SELECT {listed} FROM {table}").fetchall()  # noqa: S608
    else:
        with psycopg.connect(url_or_path) as pg:
            found = pg.execute(
                sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)
                )
            ).fetchall()
    return Counter(tuple(int(v) if isinstance(v, bool) else v for v in row) for row in found)


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def scalar(url: str, query: sql.SQL | sql.Composed) -> Any:
    with psycopg.connect(url) as pg:
        row = pg.execute(query).fetchone()
    assert row is not None
    return row[0]


def counts(url: str) -> dict[str, int]:
    count = sql.SQL("SELECT count(*) FROM {}")
    return {t: int(scalar(url, count.format(sql.Identifier(t)))) for t in TABLES}


@pytest.fixture
def target(postgres_database: PostgresDatabase) -> str:
    """A new, empty database (no schema yet: the copy migrates it)."""
    return postgres_database.url


# -- db copy ------------------------------------------------------------------------------------


async def test_a_copied_deployment_works_on_postgresql(
    cli: Cli,
    deployment: Deployment,
    runtime: Runtime,
    target: str,
    another_runtime: OpenRuntime,
    postgres_server: PostgresServer,
) -> None:
    result = cli.ok("db", "copy", "--to", target)

    summary = result.fields()
    assert summary["source"] == str(sqlite_path(cli).resolve())
    assert summary["target"] == target.split("@")[1]  # host:port/db, no user, no password
    assert summary["schema"] == f"0 -> {PG_SCHEMA}"
    assert postgres_server.password not in result.out + result.err
    assert "not in the" in result.err and "[keys] dir" in result.err
    source = sqlite_path(cli)
    for table in TABLES:
        names = columns(source, table)
        expected = rows(source, table, names)
        assert int(summary[table]) == sum(expected.values()), table
        assert rows(target, table, names) == expected, table  # every column of every row
    assert {t for t in TABLES if int(summary[t]) == 0} == set()  # the fixture filled them all

    pg = another_runtime(storage={"url": target})
    assert pg.store.backend == "postgresql"
    # The personal access token, the password and the organization token.
    authenticated = await pg.authenticator.authenticate(Credentials("alice", deployment.pat))
    assert authenticated.principal.token_id == deployment.pat_id
    assert authenticated.principal.repositories == ("alice/app", "acme/*")
    assert list(map(str, authenticated.principal.networks or ())) == ["192.0.2.0/24", "::1/128"]
    signed_in = await pg.authenticator.authenticate(Credentials("alice", deployment.password))
    assert (signed_in.principal.name, signed_in.method) == ("alice", PASSWORD)
    org = (await pg.authenticator.authenticate(Credentials("acme", deployment.org_token))).principal
    assert (org.name, org.public_read) == ("acme", True)
    assert dict(org.org_token_resources or ()) == {"acme/app": frozenset({"pull", "push"})}
    assert list(map(str, org.networks or ())) == ["127.0.0.0/8"]
    # The admin key, from its network.
    assert pg.admin_keys.authenticate(deployment.admin_key, "127.0.0.1").description == "deploy"
    # The second factor: its last accepted step came along (the code that confirmed it is not
    # accepted again), the next step's code is, and each recovery code works once.
    bob = pg.users.get("bob")
    with pytest.raises(SecondFactorRequired):
        await pg.authenticator.authenticate(Credentials("bob", "bob-password"))
    assert not pg.two_factor.verify(bob, deployment.totp.at(cli.clock()))
    cli.clock.advance(30)
    assert pg.two_factor.verify(bob, deployment.totp.at(cli.clock()))
    assert pg.two_factor.verify(bob, deployment.recovery_codes[0])
    assert not pg.two_factor.verify(bob, deployment.recovery_codes[0])
    # The audit trail, aggregated counts and all.
    everything = AuditQuery(limit=1000)
    assert pg.audit.list(everything) == runtime.audit.list(everything)
    failed = [e for e in pg.audit.list(everything) if e.action == AUTH_FAILED]
    assert [e.count for e in failed] == [3]

    # New rows take ids past the copied ones: the sequences were advanced.
    old_max = {t: max_id(target, t) for t in ("users", "organizations", "teams", "audit_events")}
    dave = add_user(pg, "dave", None)
    assert dave.id == old_max["users"] + 1
    zeta = pg.organizations.create("zeta", dave, CLI_ACTOR)
    assert zeta.id == old_max["organizations"] + 1
    assert pg.organizations.create_team(zeta, "ops", "", CLI_ACTOR).id == old_max["teams"] + 1
    assert max_id(target, "audit_events") > old_max["audit_events"]
    # And through the CLI, as after the switch.
    after = on_postgres(cli, target)
    token_id = after.create_token("dave")
    assert token_id in {t["id"] for t in after.ok("token", "list", "--json").json()}
    after.ok("org-token", "create", "zeta", "--label", "ci", "--repo", "zeta/app:pull")


def max_id(url: str, table: str) -> int:
    return int(scalar(url, sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier(table))))


@pytest.fixture
def other(postgres_server: PostgresServer) -> Iterator[str]:
    """One more new database, dropped after the test."""
    database = postgres_server.create_database()
    yield database.url
    postgres_server.drop_database(database.name)


def test_a_target_that_holds_rows_is_refused_and_left_as_it_was(
    cli: Cli, deployment: Deployment, target: str
) -> None:
    cli.ok("db", "copy", "--to", target)
    before = counts(target)

    again = cli("db", "copy", "--to", target)

    assert (again.code, again.out) == (EXIT_ERROR, "")
    assert again.err.startswith("regauth: the target is not empty (users, recovery_codes,")
    assert again.err.endswith("copy into a new, empty database; nothing was copied\n")
    assert counts(target) == before


def test_one_row_of_another_deployment_is_enough_to_refuse(
    cli: Cli, deployment: Deployment, other: str, another_runtime: OpenRuntime
) -> None:
    add_user(another_runtime(storage={"url": other}), "mallory", None)
    before = counts(other)

    refused = cli("db", "copy", "--to", other)

    assert (refused.code, refused.err) == (
        EXIT_ERROR,
        "regauth: the target is not empty (users, audit_events hold rows): copy into a new,"
        " empty database; nothing was copied\n",
    )
    assert counts(other) == before


def test_a_target_started_with_other_keys_is_refused_and_with_the_same_keys_taken(
    cli: Cli, deployment: Deployment, other: str, another_runtime: OpenRuntime, tmp_path: Path
) -> None:
    """A process that opened the target recorded its HMAC secret's fingerprint (meta), and
    nothing else: with the source's secret that is the same row, with another it is not."""
    another_runtime(storage={"url": other}, keys={"dir": str(tmp_path / "other-keys")})
    refused = cli("db", "copy", "--to", other)
    assert refused.code == EXIT_ERROR
    assert "the target's meta 'hmac_fingerprint' is not the source's" in refused.err
    assert counts(other)["users"] == 0

    with psycopg.connect(other) as pg:
        pg.execute("DELETE FROM meta")
    another_runtime(storage={"url": other})  # the same [keys] dir as the source's
    copied = cli.ok("db", "copy", "--to", other).fields()
    assert copied["meta"] == "0"  # the one row was there already
    assert copied["users"] == "4"  # alice, ops, bob, carol


def test_a_copy_that_fails_on_a_late_table_leaves_the_target_empty(
    cli: Cli, deployment: Deployment, target: str
) -> None:
    # A row SQLite let in with foreign keys off (the sqlite3 shell's default): PostgreSQL
    # refuses it, at the second-last table, after every other row went in.
    with sqlite3.connect(sqlite_path(cli)) as conn:
        conn.execute(
            "INSERT INTO org_token_resources (token_id, path, actions) VALUES (?, ?, ?)",
            ("rgo_gone", "acme/app", "pull"),
        )

    result = cli("db", "copy", "--to", target)

    assert result.code == EXIT_ERROR and result.out == ""
    assert result.err.startswith(
        "regauth: copying org_token_resources failed (ForeignKeyViolation: insert or update"
    )
    assert result.err.rstrip().endswith("nothing was copied")
    assert set(counts(target).values()) == {0}
    # Once the source is repaired, the same target takes the copy.
    with sqlite3.connect(sqlite_path(cli)) as conn:
        conn.execute("DELETE FROM org_token_resources WHERE token_id = 'rgo_gone'")
    copied = cli.ok("db", "copy", "--to", target).fields()
    assert copied["schema"] == str(PG_SCHEMA)  # migrated by the failed copy, kept
    assert counts(target)["users"] == 4  # alice, ops, bob and carol (single sign-on)


def test_what_the_service_writes_after_the_snapshot_is_not_copied(
    cli: Cli, deployment: Deployment, target: str
) -> None:
    """The service keeps running during a copy: the copy holds what was committed when it
    began, whatever is committed meanwhile."""
    on_postgres(cli, target).ok("db", "migrate")
    outcome: list[Any] = []
    with psycopg.connect(target) as blocker:
        # Held until the test lets go: the copy, once it has its snapshot, waits for it.
        blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")

        def copy() -> None:
            try:
                outcome.append(copy_to_postgres(sqlite_path(cli), target))
            except BaseException as exc:  # reported below, in the test's own thread
                outcome.append(exc)

        thread = threading.Thread(target=copy)
        thread.start()
        wait_for_lock_wait(target)
        cli.ok("user", "add", "late")  # the service writes, and commits, meanwhile
        blocker.rollback()
    thread.join(timeout=30)

    (result,) = outcome
    assert not isinstance(result, BaseException), result
    assert result.rows["users"] == 4
    with psycopg.connect(target) as pg:
        names = {name for (name,) in pg.execute("SELECT name FROM users")}
    assert names == {"alice", "ops", "bob", "carol"}
    assert "late" in {u["name"] for u in cli.ok("user", "list", "--json").json()}


def wait_for_lock_wait(url: str) -> None:
    deadline = time.monotonic() + 10
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'regauth db copy' AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting == (1,):
                return
            time.sleep(0.01)
    raise AssertionError("the copy never waited for the lock")


def test_the_password_comes_from_a_file_and_is_never_printed(
    cli: Cli, deployment: Deployment, target: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    without = target.replace(f":{postgres_server.password}@", "@")
    password_file = tmp_path / "pg-password"
    password_file.write_text(postgres_server.password + "\n")
    wrong_file = tmp_path / "wrong-password"
    wrong_file.write_text(remember("not-the-password") + "\n")

    wrong = cli("db", "copy", "--to", without, "--to-password-file", str(wrong_file))
    assert wrong.code == EXIT_ERROR
    assert "password authentication failed" in wrong.err
    assert "not-the-password" not in wrong.err

    result = cli.ok("db", "copy", "--to", without, "--to-password-file", str(password_file))
    assert result.fields()["users"] == "4"
    assert postgres_server.password not in result.out + result.err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--to", "mysql://db/regauth"], EXIT_USAGE, "expected a URL postgresql://"),
        (
            ["--to", "postgresql:///x", "--to-password-file", "/nonexistent"],
            EXIT_USAGE,
            "--to-password-file: cannot read /nonexistent",
        ),
    ],
)
def test_bad_arguments_are_refused(cli: Cli, argv: list[str], code: int, message: str) -> None:
    result = cli("db", "copy", *argv)
    assert result.code == code and message in result.err


def test_a_missing_source_is_refused(bare_cli: Cli) -> None:
    result = bare_cli("db", "copy", "--to", "postgresql://regauth@127.0.0.1:1/x")
    assert result.code == EXIT_USAGE
    assert f"no regauth database at {sqlite_path(bare_cli).resolve()}" in result.err


def test_a_source_at_an_older_schema_is_refused(
    bare_cli: Cli, target: str, old_sqlite: Path
) -> None:
    result = bare_cli("db", "copy", "--to", target)
    assert result.code == EXIT_ERROR
    assert (
        f"schema version {OLD_SQLITE}, this regauth copies version {SQLITE_SCHEMA}:"
        " run `regauth db migrate` on it first"
    ) in result.err
    # Refused before anything was written: not even migrated.
    assert scalar(target, sql.SQL("SELECT to_regclass('schema_version')")) is None


# -- db migrate ---------------------------------------------------------------------------------


@pytest.fixture
def old_sqlite(bare_cli: Cli, tmp_path: Path) -> Path:
    """A SQLite database at an old schema version, with a user (and the keys `init` makes)."""
    elsewhere = {**bare_cli.env, "REGAUTH_STORAGE_PATH": str(tmp_path / "other.db")}
    Cli(elsewhere, bare_cli.clock).ok("init")
    path = sqlite_path(bare_cli)
    with sqlite3.connect(path) as conn:
        for statements in sqlite_migrations.MIGRATIONS[:OLD_SQLITE]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("INSERT INTO users (name, created_at) VALUES ('alice', 1)")
        conn.execute(f"PRAGMA user_version = {OLD_SQLITE}")
    return path


def test_migrate_brings_an_old_sqlite_schema_up_to_date(bare_cli: Cli, old_sqlite: Path) -> None:
    cli = bare_cli
    pinned = Cli({**cli.env, "REGAUTH_STORAGE_MIGRATE": "false"}, cli.clock)
    refused = pinned("user", "list")
    assert refused.code == EXIT_USAGE
    assert (
        f"schema version {OLD_SQLITE}, this regauth needs {SQLITE_SCHEMA}: run `regauth db migrate`"
    ) in refused.err

    result = pinned.ok("db", "migrate")

    where = f"SQLite {old_sqlite.resolve()}"
    assert result.out == f"schema version {OLD_SQLITE} -> {SQLITE_SCHEMA} ({where})\n"
    assert [u["name"] for u in pinned.ok("user", "list", "--json").json()] == ["alice"]
    assert pinned.ok("db", "migrate").out == f"already at {SQLITE_SCHEMA} ({where})\n"


def test_migrate_on_postgresql_creates_the_schema_once(
    cli: Cli, postgres_database: PostgresDatabase
) -> None:
    pinned = Cli(
        {**cli.env, "REGAUTH_STORAGE_URL": postgres_database.url, "REGAUTH_STORAGE_MIGRATE": "0"},
        cli.clock,
    )
    refused = pinned("user", "list")
    assert refused.code == EXIT_USAGE
    assert f"schema version 0, this regauth needs {PG_SCHEMA}: run `regauth db migrate`" in (
        refused.err
    )
    where = postgres_database.url.split("@")[1]

    result = pinned.ok("db", "migrate")

    assert result.out == f"schema version 0 -> {PG_SCHEMA} (PostgreSQL {where})\n"
    assert pinned.ok("db", "migrate").out == f"already at {PG_SCHEMA} (PostgreSQL {where})\n"
    pinned.ok("user", "add", "alice")
    assert [u["name"] for u in pinned.ok("user", "list", "--json").json()] == ["alice"]


def test_migrate_does_not_make_a_missing_sqlite_database(bare_cli: Cli) -> None:
    # A path from the wrong directory would otherwise become a new, empty database.
    path = sqlite_path(bare_cli)
    result = bare_cli("db", "migrate")
    assert (result.code, result.out) == (EXIT_USAGE, "")
    assert f"no regauth database at {path.resolve()}" in result.err
    assert not path.exists()
