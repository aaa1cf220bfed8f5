"""Admin API key last use: remembered per call and written with the usage batch, never moved
back by a worker that flushes an older use later, and kept when a flush fails."""

from __future__ import annotations

import sqlite3

import pytest

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, AdminKey
from regauth.errors import Unavailable
from regauth.runtime import Runtime
from regauth.store.changes import ChangeSignal
from tests.support.builders import OpenRuntime
from tests.support.clock import FakeClock
from tests.support.secrets import remember


@pytest.fixture
def key(runtime: Runtime) -> tuple[str, str]:
    """An admin key: its id and its secret."""
    created = runtime.admin_keys.create("ops", CLI_ACTOR)
    return created.key.id, remember(str(created.secret))


def _stored(runtime: Runtime, key_id: str) -> AdminKey:
    return next(k for k in runtime.admin_keys.list() if k.id == key_id)


def _change_stamp(config: Config) -> bytes:
    """The stamp every commit renews (and every worker's memo of /token lookups obeys)."""
    signal = ChangeSignal.beside(config.storage.path)
    try:
        return signal.stamp()
    finally:
        signal.close()


def test_a_call_writes_nothing_until_the_flush(
    runtime: Runtime, config: Config, clock: FakeClock, key: tuple[str, str]
) -> None:
    key_id, secret = key
    before = _change_stamp(config)
    for ip in ("192.0.2.1", "192.0.2.2"):
        clock.advance(1)
        assert runtime.admin_keys.authenticate(secret, ip).id == key_id
    # No commit per call: none of the workers' /token memos was emptied by these calls.
    assert _change_stamp(config) == before
    assert _stored(runtime, key_id).last_used_at is None
    assert runtime.usage.flush() == 1  # one row: the last of the two uses
    stored = _stored(runtime, key_id)
    assert (stored.last_used_at, stored.last_used_ip) == (int(clock()), "192.0.2.2")


@pytest.fixture
def second_worker(another_runtime: OpenRuntime) -> Runtime:
    """Another process's runtime on the same database, as each worker opens its own."""
    return another_runtime()


def test_an_older_use_flushed_later_does_not_replace_a_newer_one(
    runtime: Runtime, second_worker: Runtime, clock: FakeClock, key: tuple[str, str]
) -> None:
    key_id, secret = key
    runtime.admin_keys.authenticate(secret, "192.0.2.1")
    clock.advance(5)
    second_worker.admin_keys.authenticate(secret, "192.0.2.2")
    second_worker.usage.flush()
    runtime.usage.flush()  # its use is the older one
    stored = _stored(runtime, key_id)
    assert (stored.last_used_at, stored.last_used_ip) == (int(clock()), "192.0.2.2")


@pytest.mark.sqlite_only  # holds the SQLite write lock from another connection
def test_a_failed_flush_keeps_the_use_for_the_next(
    runtime: Runtime, config: Config, clock: FakeClock, key: tuple[str, str]
) -> None:
    key_id, secret = key
    runtime.admin_keys.authenticate(secret, "192.0.2.1")
    runtime.store._backend._connection().execute("PRAGMA busy_timeout = 0")  # type: ignore[attr-defined]
    other = sqlite3.connect(config.storage.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(Unavailable, match="locked"):
            runtime.usage.flush()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert runtime.usage.flush() == 1
    assert _stored(runtime, key_id).last_used_ip == "192.0.2.1"
