"""The SQLite store on a real temp file: schema, round trips, batched usage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from regauth.domain.models import AccessLevel, TokenUse, Visibility
from regauth.errors import Conflict
from regauth.store.base import TokenStore
from regauth.store.sqlite.migrations import SCHEMA_VERSION
from regauth.store.sqlite.store import SQLiteStore


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "db" / "regauth.db")
    yield s  # type: ignore[misc]
    s.close()


def make_token(store: TokenStore, owner_id: int, token_id: str = "abcdefghij") -> None:
    store.create_token(
        token_id=token_id,
        uuid=f"uuid-{token_id}",
        owner_id=owner_id,
        description="ci",
        access=AccessLevel.READ,
        secret_hash=b"h" * 32,
        expires_at=None,
        created_ip="127.0.0.1",
        created_user_agent="test",
        now=100,
    )


def test_schema_is_migrated_once_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "regauth.db"
    SQLiteStore(path).close()
    SQLiteStore(path).close()  # second open: nothing to migrate, no error
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_users_round_trip_and_names_are_unique(store: SQLiteStore) -> None:
    user = store.create_user("alice", "hash", is_admin=True, now=5)
    assert store.get_user("alice") == user
    assert store.get_user("nobody") is None
    with pytest.raises(Conflict):
        store.create_user("alice", None, is_admin=False, now=6)


def test_token_auth_lookup_joins_the_owner(store: SQLiteStore) -> None:
    user = store.create_user("alice", None, is_admin=True, now=5)
    make_token(store, user.id)
    record = store.find_token_for_auth("abcdefghij")
    assert record is not None
    assert (record.owner_name, record.owner_is_admin, record.access, record.active) == (
        "alice",
        True,
        AccessLevel.READ,
        True,
    )
    assert store.find_token_for_auth("zzzzzzzzzz") is None
    with pytest.raises(Conflict):
        make_token(store, user.id)  # same public id


def test_usage_batch_only_moves_forward(store: SQLiteStore) -> None:
    user = store.create_user("alice", None, is_admin=False, now=5)
    make_token(store, user.id)
    store.record_token_uses({"abcdefghij": TokenUse(200, "10.0.0.1", "docker")})
    # an older use written later (another worker's slower flush) must not win
    store.record_token_uses({"abcdefghij": TokenUse(150, "10.0.0.2", "skopeo")})
    record = store.get_token("abcdefghij")
    assert record is not None
    assert (record.last_used_at, record.last_used_ip, record.last_used_user_agent) == (
        200,
        "10.0.0.1",
        "docker",
    )


def test_visibility_upsert_and_public_lookup(store: SQLiteStore) -> None:
    store.set_visibility("bob/site", Visibility.PUBLIC, now=1)
    store.set_visibility("bob/other", Visibility.PUBLIC, now=1)
    store.set_visibility("bob/other", Visibility.PRIVATE, now=2)
    assert store.public_repositories(["bob/site", "bob/other", "bob/none"]) == frozenset(
        {"bob/site"}
    )
    assert store.public_repositories([]) == frozenset()
    assert [r.name for r in store.list_repositories()] == ["bob/other", "bob/site"]


def test_the_change_version_moves_with_every_announced_change_by_any_connection(
    tmp_path: Path,
) -> None:
    path = tmp_path / "regauth.db"
    worker, other = SQLiteStore(path), SQLiteStore(path)  # two workers, or a worker and the CLI
    try:
        user = worker.create_user("alice", None, is_admin=False, now=5)
        make_token(worker, user.id)
        seen = worker.version()
        assert worker.version() == seen  # nothing changed
        other.update_token("abcdefghij", active=False)  # another process deactivates it
        assert worker.version() != seen
        seen = worker.version()
        worker.update_token("abcdefghij", active=True)  # this connection's own change
        assert worker.version() != seen
        seen = worker.version()
        # Last uses change nothing a cache holds: no announcement, every cache keeps serving.
        other.record_token_uses({"abcdefghij": TokenUse(300, "10.0.0.3", "crane")})
        assert worker.version() == seen
        other.delete_token("abcdefghij")
        assert worker.version() != seen
    finally:
        worker.close()
        other.close()
