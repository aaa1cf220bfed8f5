"""The audit trail when the database refuses a write for a while (another process holds the
write lock): nothing is lost, counts are merged, and a database that never comes back cannot
grow memory without limit."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from regauth.config import Config
from regauth.domain.models import Actor, AuditQuery
from regauth.errors import Unavailable
from regauth.runtime import Runtime, open_runtime
from regauth.services.audit import AuditLog
from tests.support.clock import FakeClock

ADMIN = Actor(name="root", kind="user", ip="192.0.2.1", user_agent="curl/8")


@contextmanager
def locked(runtime: Runtime, config: Config) -> Iterator[None]:
    """Another connection holds the write lock: the runtime's writes fail with
    `Unavailable: database is locked` (at once, not after the 10 s busy wait)."""
    runtime.store._backend._connection().execute("PRAGMA busy_timeout = 0")  # type: ignore[attr-defined]
    other = sqlite3.connect(config.storage.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _failed(runtime: Runtime) -> dict[tuple[str, str], int]:
    events = runtime.audit.list(AuditQuery(action="auth.failed", limit=1000))
    return {(e.actor, e.details["reason"] if e.details else ""): e.count for e in events}


@pytest.mark.sqlite_only  # holds the SQLite write lock from another connection
def test_failed_sign_ins_are_kept_when_a_flush_fails_and_merged_with_later_ones(
    runtime: Runtime, config: Config
) -> None:
    for _ in range(3):
        runtime.audit.failed_authentication("alice", "192.0.2.9", "docker/20", "incorrect")
    runtime.audit.failed_authentication("bob", "192.0.2.9", "docker/20", "incorrect")
    with locked(runtime, config), pytest.raises(Unavailable, match="locked"):
        runtime.audit.flush()
    # More of the same key, and a new one, before the next round.
    runtime.audit.failed_authentication("alice", "192.0.2.9", "docker/20", "incorrect")
    runtime.audit.failed_authentication("carol", "192.0.2.9", "docker/20", "incorrect")
    assert runtime.audit.flush() == 3
    assert _failed(runtime) == {
        ("alice", "incorrect"): 4,
        ("bob", "incorrect"): 1,
        ("carol", "incorrect"): 1,
    }
    assert runtime.audit.flush() == 0  # written once, not again


@pytest.mark.sqlite_only  # holds the SQLite write lock from another connection
def test_a_change_whose_event_cannot_be_written_at_once_is_written_with_the_next_batch(
    runtime: Runtime, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    with locked(runtime, config), caplog.at_level(logging.WARNING, "regauth.audit"):
        # The change it records is already committed: raising would not undo it, only lose
        # the event and fail the caller.
        event = runtime.audit.record(ADMIN, "user.update", "alice", disabled=True)
    assert "audit_write_deferred" in caplog.messages
    assert runtime.audit.list(AuditQuery(action="user.update")) == []
    assert runtime.audit.flush() == 1
    (written,) = runtime.audit.list(AuditQuery(action="user.update"))
    assert (written.at, written.actor, written.target, written.details) == (
        event.at,
        "root",
        "alice",
        {"disabled": True},
    )


@pytest.mark.sqlite_only  # holds the SQLite write lock from another connection
def test_deferred_events_survive_a_failed_flush_and_the_end_of_a_cli_process(
    config: Config, clock: FakeClock
) -> None:
    runtime = open_runtime(config, clock=clock)
    with locked(runtime, config):
        runtime.audit.record(ADMIN, "token.delete", "AbC123xYz0")
        with pytest.raises(Unavailable):
            runtime.audit.flush()
    runtime.close()  # what a CLI command does last: the batch is written then
    reopened = open_runtime(config, clock=clock)
    try:
        assert [e.target for e in reopened.audit.list(AuditQuery(action="token.delete"))] == [
            "AbC123xYz0"
        ]
    finally:
        reopened.close()


@pytest.mark.sqlite_only  # holds the SQLite write lock from another connection
def test_a_database_that_stays_broken_holds_at_most_the_bound_and_says_what_it_dropped(
    runtime: Runtime, config: Config, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditLog(runtime.store, clock=clock, max_pending=50)
    with locked(runtime, config), caplog.at_level(logging.WARNING, "regauth.audit"):
        for round_ in range(3):
            for i in range(40):  # 40 new addresses a round: 120 keys, 50 kept
                audit.failed_authentication("alice", f"192.0.2.{round_ * 40 + i}", None, "x")
            with pytest.raises(Unavailable):
                audit.flush()
        audit.failed_authentication("alice", "192.0.2.0", None, "x")  # a kept key still counts
        dropped = [r for r in caplog.records if r.getMessage() == "audit_events_dropped"]
        assert sum(r.fields["dropped"] for r in dropped) == 120 - 50  # type: ignore[attr-defined]
        assert all(r.levelno == logging.ERROR for r in dropped)
    assert audit.flush() == 50  # what was held: the bound
    events = runtime.audit.list(AuditQuery(action="auth.failed", limit=1000))
    assert len(events) == 50 and sum(e.count for e in events) == 51
