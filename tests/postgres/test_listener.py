"""The PostgreSQL store's change listener: another replica's change reaches this one's caches
within the bound, and a lost connection stops the caches serving until it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, AccessLevel, TokenUse
from regauth.errors import Unauthorized, Unavailable
from regauth.runtime import Runtime, open_runtime
from regauth.services.cache import VersionedCache
from regauth.store.postgres.backend import TRUST_SECONDS
from tests.support.builders import make_config, reconfigured, settled
from tests.support.clock import FakeClock
from tests.support.postgres import PostgresDatabase, PostgresServer


@pytest.fixture
def replicas(
    postgres_database: PostgresDatabase, tmp_path: Path
) -> Iterator[tuple[Runtime, Runtime]]:
    """Two replicas: their own data folders, one database, the same keys."""
    clock = FakeClock()
    keys = str(tmp_path / "keys")
    opened = [
        open_runtime(
            reconfigured(
                make_config(tmp_path / name),
                storage={"url": postgres_database.url},
                keys={"dir": keys},
            ),
            clock=clock,
        )
        for name in ("a", "b")
    ]
    for runtime in opened:
        runtime.store.listen()
    yield opened[0], opened[1]
    for runtime in opened:
        runtime.close()


def _pat(runtime: Runtime) -> tuple[Credentials, str]:
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    created = runtime.tokens.create(
        owner, CLI_ACTOR, description="ci", access=AccessLevel.WRITE, expires_at=None
    )
    return Credentials("alice", str(created.token)), created.record.id


def _wait(condition: object, limit: float = 5.0) -> float:
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - start > limit:
            raise AssertionError("not within the limit")
        time.sleep(0.002)
    return time.monotonic() - start


async def test_a_deactivation_through_one_replica_is_refused_by_the_other_within_the_bound(
    replicas: tuple[Runtime, Runtime],
) -> None:
    a, b = replicas
    credentials, token_id = _pat(a)
    _wait(lambda: b.store.trusted())
    await b.authenticator.authenticate(credentials)  # remembered by b
    latencies = []
    row = f"tokens:{token_id}"
    for active in (False, True, False, True, False):
        seen = b.store.row_stamp()
        started = time.monotonic()
        a.tokens.set_active(a.tokens.get(token_id), CLI_ACTOR, active)
        _wait(lambda seen=seen: b.store.row_changed(row, seen), limit=TRUST_SECONDS)
        latencies.append(time.monotonic() - started)
        if active:
            assert (await b.authenticator.authenticate(credentials)).principal.token_id == token_id
        else:
            with pytest.raises(Unauthorized, match="inactive"):
                await b.authenticator.authenticate(credentials)
    assert max(latencies) < TRUST_SECONDS


async def test_another_tokens_creation_and_deletion_leave_a_verified_token_cached(
    replicas: tuple[Runtime, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an admin loop does through one replica costs the other's /token nothing for the
    tokens it did not touch; the token it deleted is refused there within the bound."""
    a, b = replicas
    credentials, token_id = _pat(a)
    _wait(lambda: b.store.trusted())
    await b.authenticator.authenticate(credentials)  # remembered by b
    looked_up: list[str] = []
    find = b.store.find_token_for_auth

    def counted(public_id: str) -> object:
        looked_up.append(public_id)
        return find(public_id)

    monkeypatch.setattr(b.store, "find_token_for_auth", counted)
    alice = a.users.get("alice")
    version = b.store.version()
    for _ in range(5):
        other = a.tokens.create(
            alice, CLI_ACTOR, description="loop", access=AccessLevel.READ, expires_at=None
        )
        other_credentials = Credentials("alice", str(other.token))
        await b.authenticator.authenticate(other_credentials)  # b verifies it, once
        seen = b.store.row_stamp()
        a.tokens.delete(a.tokens.get(other.record.id), CLI_ACTOR)
        row = f"tokens:{other.record.id}"
        _wait(lambda row=row, seen=seen: b.store.row_changed(row, seen), limit=TRUST_SECONDS)
        with pytest.raises(Unauthorized):
            await b.authenticator.authenticate(other_credentials)
        assert (await b.authenticator.authenticate(credentials)).principal.token_id == token_id
    assert token_id not in looked_up  # never looked up again
    assert b.store.version() == version  # nothing else was emptied either


def test_a_last_use_batch_leaves_every_replicas_caches_alone(
    replicas: tuple[Runtime, Runtime],
) -> None:
    a, b = replicas
    _, token_id = _pat(a)
    time.sleep(0.2)  # the creation's own notification has arrived
    seen = b.store.version(), b.store.row_stamp()
    a.usage.record(token_id, TokenUse(1, "192.0.2.1", "docker"))
    assert a.usage.flush() == 1
    time.sleep(0.3)  # a notification would have arrived by now (they take milliseconds)
    assert (b.store.version(), b.store.row_stamp()) == seen


def test_a_lost_listener_connection_stops_the_caches_until_it_is_back(
    replicas: tuple[Runtime, Runtime], postgres_database: PostgresDatabase
) -> None:
    _, b = replicas
    _wait(lambda: b.store.trusted())
    seen = b.store.version()
    with psycopg.connect(postgres_database.url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    _wait(lambda: not b.store.trusted(), limit=TRUST_SECONDS + 0.5)
    _wait(lambda: b.store.trusted(), limit=5.0)  # reconnected by itself
    assert b.store.version() != seen  # and took everything as changed


def test_while_postgresql_is_down_calls_are_unavailable_and_recover_by_themselves(
    replicas: tuple[Runtime, Runtime], postgres_server: PostgresServer
) -> None:
    a, b = replicas
    _pat(a)
    with postgres_server.down():
        _wait(lambda: not b.store.trusted(), limit=TRUST_SECONDS + 0.5)
        with pytest.raises(Unavailable):
            b.users.get("alice")
    _wait(lambda: b.store.trusted(), limit=10.0)
    deadline = time.monotonic() + 10
    while True:
        try:
            assert b.users.get("alice").name == "alice"
            break
        except Unavailable:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def _tokens(runtime: Runtime, count: int) -> list[str]:
    owner = runtime.users.create("bob", None, CLI_ACTOR)
    return [
        runtime.tokens.create(
            owner, CLI_ACTOR, description="t", access=AccessLevel.READ, expires_at=None
        ).record.id
        for _ in range(count)
    ]


def _delete(runtime: Runtime, token_id: str) -> None:
    runtime.tokens.delete(runtime.tokens.get(token_id), CLI_ACTOR)


def test_a_row_changed_during_a_look_up_is_not_kept_and_others_stay(
    replicas: tuple[Runtime, Runtime],
) -> None:
    a, _ = replicas
    kept, looked_up = _tokens(a, 2)
    settled(a)  # the account's creation, heard back: it empties everything
    cache: VersionedCache[str, str] = VersionedCache(a.store)
    cache.put("kept", "value", cache.version(), row=f"tokens:{kept}")
    during = cache.version()
    _delete(a, looked_up)  # committed while the look-up ran
    cache.put("looked-up", "stale", during, row=f"tokens:{looked_up}")
    assert cache.get("looked-up") is None
    assert cache.get("kept") == "value"
    _delete(a, kept)
    assert cache.get("kept") is None


def test_rows_forgotten_together_count_as_changed(
    replicas: tuple[Runtime, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = replicas
    monkeypatch.setattr("regauth.store.postgres.backend._ROWS_KEPT", 3)
    kept, *others = _tokens(a, 5)
    settled(a)
    cache: VersionedCache[str, str] = VersionedCache(a.store)
    cache.put("kept", "value", cache.version(), row=f"tokens:{kept}")
    for token_id in others[:3]:
        _delete(a, token_id)
        assert cache.get("kept") == "value"
    _delete(a, others[3])  # the fourth: the three before it are forgotten
    assert cache.get("kept") is None
