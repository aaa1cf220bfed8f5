"""Last uses written in batches (the store contract): only forward, every field, any size."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from regauth.domain.models import TokenUse
from regauth.runtime import Runtime
from regauth.services.usage import WRITTEN_KEPT, UsageRecorder
from regauth.store.base import TokenStore
from regauth.store.postgres.store import PostgresStore
from tests.service.test_store import make_token


def _tokens(store: TokenStore, owner_id: int, count: int) -> list[str]:
    ids = [f"t{i:09d}" for i in range(count)]
    for token_id in ids:
        make_token(store, owner_id, token_id)
    return ids


def _last_use(store: TokenStore, token_id: str) -> tuple[int | None, str | None, str | None]:
    record = store.get_token(token_id)
    assert record is not None
    return record.last_used_at, record.last_used_ip, record.last_used_user_agent


def test_a_batch_of_any_size_writes_every_use_and_never_moves_one_back(runtime: Runtime) -> None:
    store = runtime.store
    user = store.create_user("alice", None, is_admin=False, now=5)
    ids = _tokens(store, user.id, 600)  # more than one statement's worth
    store.record_token_uses(
        {t: TokenUse(200 + i, f"10.0.{i // 256}.{i % 256}", "docker") for i, t in enumerate(ids)}
    )
    assert _last_use(store, ids[0]) == (200, "10.0.0.0", "docker")
    assert _last_use(store, ids[599]) == (799, "10.0.2.87", "docker")
    # An older use written later (another worker's slower flush) loses; a newer one wins, and
    # a use without an address or user agent says so.
    store.record_token_uses(
        {ids[0]: TokenUse(150, "10.9.9.9", "skopeo"), ids[1]: TokenUse(900, None, None)}
    )
    assert _last_use(store, ids[0]) == (200, "10.0.0.0", "docker")
    assert _last_use(store, ids[1]) == (900, None, None)
    store.record_token_uses({"nosuchtoken": TokenUse(1, None, None)})  # deleted since: nothing


class _Counted:
    """A connection that notes how many statements each call runs (executemany: one a row)."""

    def __init__(self, conn: Any, statements: list[int]) -> None:
        self._conn, self._statements = conn, statements

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._statements.append(1)
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, params: Any) -> Any:
        self._statements.append(len(params))
        return self._conn.executemany(sql, params)


def test_a_batch_is_a_statement_or_two_per_512_uses_not_one_a_row(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """executemany ran a statement a row (on SQLite it also took the GIL back for each, and
    under load each take waited for the event loop). Now one UPDATE per 512 uses, after, on
    PostgreSQL, one statement that locks their rows in id order (against deadlocks between
    replicas' flushes)."""
    store = runtime.store
    user = store.create_user("alice", None, is_admin=False, now=5)
    ids = _tokens(store, user.id, 600)
    backend = store._backend  # type: ignore[attr-defined]
    writing = backend.writing
    statements: list[int] = []

    @contextlib.contextmanager
    def counted() -> Iterator[_Counted]:
        with writing() as conn:
            yield _Counted(conn, statements)

    monkeypatch.setattr(backend, "writing", counted)
    store.record_token_uses({t: TokenUse(300, "10.0.0.1", "crane") for t in ids})
    monkeypatch.undo()
    per_chunk = 2 if isinstance(store, PostgresStore) else 1  # the lock, then the UPDATE
    assert statements == [1] * 2 * per_chunk, statements
    assert _last_use(store, ids[0]) == _last_use(store, ids[599]) == (300, "10.0.0.1", "crane")


def test_a_use_a_minute_after_the_last_one_written_or_from_another_client_is_written(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client pulling all day is written once a minute, not once a flush (1,000 PATs in use
    were 1,000 row updates a second)."""
    store = runtime.store
    user = store.create_user("alice", None, is_admin=False, now=5)
    (token,) = _tokens(store, user.id, 1)
    usage = UsageRecorder(store)
    writes: list[dict[str, TokenUse]] = []
    record = store.record_token_uses

    def counted(uses: dict[str, TokenUse]) -> None:
        if uses:
            writes.append(dict(uses))
        record(uses)

    monkeypatch.setattr(store, "record_token_uses", counted)
    for at in (1000, 1001, 1030, 1059):  # the same client within a minute: one write
        usage.record(token, TokenUse(at, "10.0.0.1", "docker"))
        usage.flush()
    assert writes == [{token: TokenUse(1000, "10.0.0.1", "docker")}]
    assert _last_use(store, token) == (1000, "10.0.0.1", "docker")
    usage.record(token, TokenUse(1060, "10.0.0.1", "docker"))  # a minute on
    usage.record(token, TokenUse(1061, "10.0.0.2", "docker"))  # another address
    usage.flush()
    assert _last_use(store, token) == (1061, "10.0.0.2", "docker")
    usage.record(token, TokenUse(1062, "10.0.0.2", "crane"))  # another client
    usage.flush()
    assert _last_use(store, token) == (1062, "10.0.0.2", "crane")
    assert len(writes) == 3


def test_org_token_and_admin_key_uses_are_written_once_a_minute_too(runtime: Runtime) -> None:
    usage = UsageRecorder(runtime.store)
    for at in (1000, 1010):
        usage.record_org("o1", TokenUse(at, "10.0.0.1", "docker"))
        usage.record_admin_key("k1", TokenUse(at, "10.0.0.1", "curl"))
    assert usage.flush() == 2
    usage.record_org("o1", TokenUse(1070, "10.0.0.1", "docker"))
    usage.record_admin_key("k1", TokenUse(1020, "10.0.0.1", "curl"))
    assert usage.flush() == 1


def test_the_uses_remembered_are_bounded_and_a_forgotten_token_is_written_again(
    runtime: Runtime,
) -> None:
    usage = UsageRecorder(runtime.store)
    for i in range(WRITTEN_KEPT):
        usage.record(f"t{i}", TokenUse(1000, None, None))
    assert usage.flush() == WRITTEN_KEPT
    usage.record("t0", TokenUse(1001, None, None))  # remembered: not written
    assert usage.flush() == 0
    usage.record("another", TokenUse(1001, None, None))  # over the bound: all forgotten
    usage.record("t0", TokenUse(1002, None, None))
    assert usage.flush() == 2
