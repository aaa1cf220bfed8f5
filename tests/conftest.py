"""Fixtures shared by the unit, service, HTTP and CLI tests: a pinned clock, a runtime on a real
temp SQLite file (or, with TEST_STORAGE_BACKEND=postgresql, a fresh database on the suite's
real PostgreSQL server), and the real app's client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from pytest_aiohttp import AiohttpClient

from regauth.config import Config
from regauth.http.app import create_app
from regauth.runtime import Runtime, open_runtime
from regauth.store.postgres.migrations import migrate
from tests.support.builders import Client, OpenRuntime, make_config, reconfigured
from tests.support.clock import FakeClock

if TYPE_CHECKING:  # a plugin (below): imported by pytest, after its assertion rewriting
    from tests.support.postgres import PostgresServer

# Checks, at the end of the session, that nothing logged holds a credential; and the real servers
# some tests stand on (PostgreSQL, slapd, an OpenID Provider).
pytest_plugins = [
    "tests.support.log_check",
    "tests.support.postgres",
    "tests.support.ldap",
    "tests.support.oidc_provider",
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# The store contract: scripts/test runs the service, CLI and HTTP tests once more with
# TEST_STORAGE_BACKEND=postgresql, so every service operation is tested on both backends.
STORAGE_BACKEND = os.environ.get("TEST_STORAGE_BACKEND", "sqlite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if STORAGE_BACKEND == "sqlite":
        return
    skip = pytest.mark.skip(reason=f"about the SQLite file itself (run on {STORAGE_BACKEND})")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def migrated_database(postgres_server: PostgresServer) -> str:
    """One database with regauth's schema for the session (migrating costs ~0.15 s, creating
    a database ~0.2 s); each test starts from it emptied."""
    return postgres_server.create_database("regauth_contract").url


def _emptied(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_version'"
            )
        ]
        if not tables:
            migrate(conn)
        else:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def contract_database(request: pytest.FixtureRequest) -> str | None:
    """With TEST_STORAGE_BACKEND=postgresql: the URL of the session's database, emptied for
    this test; None on SQLite."""
    if STORAGE_BACKEND != "postgresql":
        return None
    return _emptied(request.getfixturevalue("migrated_database"))


@pytest.fixture
def config(tmp_path: Path, contract_database: str | None) -> Config:
    # The access log on (the default), so the session's log check sees every request's line.
    # A module that needs other settings overrides this fixture; `runtime` and `client` follow.
    config = make_config(tmp_path)
    if contract_database is not None:
        config = reconfigured(config, storage={"url": contract_database})
    return config


@pytest.fixture
def runtime(config: Config, clock: FakeClock) -> Iterator[Runtime]:
    rt = open_runtime(config, clock=clock)
    rt.store.listen()  # as a serving process does (PostgreSQL: caches serve while it hears)
    yield rt
    rt.close()


@pytest.fixture
def another_runtime(config: Config, clock: FakeClock) -> Iterator[OpenRuntime]:
    """Opens more runtimes on the test's data (`config`, the same clock): another worker's, the
    CLI's, or with `sections` the same data under another config (as `make_config` takes
    them). Each is closed at the end of the test."""
    opened: list[Runtime] = []

    def open_another(**sections: dict[str, Any]) -> Runtime:
        opened.append(open_runtime(reconfigured(config, **sections), clock=clock))
        return opened[-1]

    yield open_another
    for rt in opened:
        rt.close()


@pytest.fixture
async def client(runtime: Runtime, aiohttp_client: AiohttpClient) -> Client:
    """The real app (`create_app`, as `regauth serve` builds it) over `runtime`, on a local port.

    It reads the store on every request, so a test may add accounts before or after asking for
    it; a module's accounts are usually an autouse fixture that takes `runtime`."""
    return await aiohttp_client(create_app(runtime))
