"""The change signal and the caches it guards: what one process writes, every other one sees."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, AccessLevel, TokenUse
from regauth.domain.tokens import AccessToken, parse_token
from regauth.errors import Unauthorized
from regauth.runtime import Runtime
from regauth.store.changes import ChangeSignal
from regauth.store.sqlite import backend as sqlite_backend
from regauth.store.sqlite.store import SQLiteStore
from tests.service.test_store import make_token
from tests.support.builders import OpenRuntime, settled
from tests.support.clock import FakeClock


def test_an_announcement_reaches_every_mapping_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "regauth.db-changes"
    writer, reader = ChangeSignal(path), ChangeSignal(path)
    try:
        seen = reader.stamp()
        assert len(seen) == 8 and path.stat().st_size == 16  # the stamp and the quiet one
        writer.announce()
        assert reader.stamp() != seen
        assert reader.stamp() == writer.stamp()
        seen = reader.stamp()
        writer.announce()
        writer.announce()  # stamps are random: never back to a value a reader holds
        assert reader.stamp() != seen
    finally:
        writer.close()
        reader.close()


def test_an_in_memory_database_needs_no_file(tmp_path: Path) -> None:
    signal = ChangeSignal.beside(":memory:")
    before = signal.stamp()
    signal.announce()
    assert signal.stamp() != before
    assert list(tmp_path.iterdir()) == []


def test_a_write_behind_regauths_back_is_seen_within_the_backstop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "_BACKSTOP_SECONDS", 0.0)  # as if a second went by
    path = tmp_path / "regauth.db"
    store = SQLiteStore(path)
    try:
        make_token(store, store.create_user("alice", None, is_admin=False, now=5).id)
        before = store.version()
        assert store.version() == before  # nothing changed: caches keep serving
        with sqlite3.connect(path) as raw:  # the sqlite3 shell: no announcement
            raw.execute("UPDATE tokens SET active = 0 WHERE id = 'abcdefghij'")
        assert store.version() != before
    finally:
        store.close()


def test_regauths_own_quiet_commits_leave_the_caches_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last-used flush announces nothing (no cache holds last-used), yet moves
    # data_version: taken for a write behind regauth's back, it emptied every cache once a
    # second, and 1,000 PATs in use were verified again, in threads, every second.
    monkeypatch.setattr(sqlite_backend, "_BACKSTOP_SECONDS", 0.0)
    path = tmp_path / "regauth.db"
    store, flusher = SQLiteStore(path), SQLiteStore(path)  # a worker and its flush thread
    try:
        make_token(store, store.create_user("alice", None, is_admin=False, now=5).id)
        store.version()
        flusher.record_token_uses({"abcdefghij": _use(6)})
        store.version()  # the first move is taken for a foreign one: caches empty once
        before = store.version()
        for at in range(7, 10):
            flusher.record_token_uses({"abcdefghij": _use(at)})
            assert store.version() == before
    finally:
        store.close()
        flusher.close()


def test_a_write_behind_regauths_back_amid_quiet_commits_is_seen_within_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "_BACKSTOP_SECONDS", 0.0)
    clock = [1000.0]
    monkeypatch.setattr(sqlite_backend, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    path = tmp_path / "regauth.db"
    store, flusher = SQLiteStore(path), SQLiteStore(path)
    try:
        make_token(store, store.create_user("alice", None, is_admin=False, now=5).id)
        before = store.version()
        _deactivate_behind_regauths_back(path, active=0)
        flusher.record_token_uses({"abcdefghij": _use(6)})  # in the same second
        assert store.version() != before  # the first such move is never believed
        before = store.version()
        clock[0] += 30
        _deactivate_behind_regauths_back(path, active=1)
        flusher.record_token_uses({"abcdefghij": _use(7)})
        assert store.version() == before  # believed to be regauth's own, for now
        clock[0] += 29
        assert store.version() == before
        clock[0] += 2  # a minute after the last doubt: doubted, with no further commit
        assert store.version() != before
    finally:
        store.close()
        flusher.close()


def _deactivate_behind_regauths_back(path: Path, *, active: int) -> None:
    with sqlite3.connect(path) as raw:  # the sqlite3 shell: no announcement
        raw.execute("UPDATE tokens SET active = ? WHERE id = 'abcdefghij'", (active,))


def _pat_of_alice(
    runtime: Runtime, clock: FakeClock, *, expires_in: int | None
) -> tuple[Credentials, str]:
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    expires_at = None if expires_in is None else int(clock.now) + expires_in
    created = runtime.tokens.create(
        owner, CLI_ACTOR, description="ci", access=AccessLevel.WRITE, expires_at=expires_at
    )
    settled(runtime)
    return Credentials("alice", str(created.token)), created.record.id


async def test_a_remembered_token_still_expires_on_time(runtime: Runtime, clock: FakeClock) -> None:
    credentials, _ = _pat_of_alice(runtime, clock, expires_in=60)
    first = await runtime.authenticator.authenticate(credentials)
    assert await runtime.authenticator.authenticate(credentials) is first  # remembered
    clock.advance(60)
    with pytest.raises(Unauthorized, match="has expired"):
        await runtime.authenticator.authenticate(credentials)


async def test_a_remembered_token_is_refused_once_another_process_deactivates_it(
    runtime: Runtime, clock: FakeClock, another_runtime: OpenRuntime
) -> None:
    credentials, token_id = _pat_of_alice(runtime, clock, expires_in=None)
    cli = another_runtime()  # another worker, or the CLI
    await runtime.authenticator.authenticate(credentials)
    cli.store.update_token(token_id, active=False)
    settled(runtime)
    with pytest.raises(Unauthorized, match="inactive"):
        await runtime.authenticator.authenticate(credentials)
    cli.store.update_token(token_id, active=True)
    again = await runtime.authenticator.authenticate(credentials)
    assert again.principal.token_id == token_id


async def test_a_wrong_secret_is_never_remembered_as_right(
    runtime: Runtime, clock: FakeClock
) -> None:
    credentials, _ = _pat_of_alice(runtime, clock, expires_in=None)
    await runtime.authenticator.authenticate(credentials)
    # Same user, same public id, another (well-formed) secret.
    real = parse_token(credentials.secret)
    forged = AccessToken(real.kind, real.public_id, "x" * len(real.secret))
    with pytest.raises(Unauthorized, match="incorrect"):
        await runtime.authenticator.authenticate(Credentials("alice", str(forged)))
    with pytest.raises(Unauthorized, match="incorrect"):  # and another user's name
        await runtime.authenticator.authenticate(Credentials("bob", credentials.secret))


def test_the_stamp_file_takes_the_databases_mode_and_owner(tmp_path: Path) -> None:
    database = tmp_path / "regauth.db"
    database.write_bytes(b"")
    database.chmod(0o640)
    if os.geteuid() == 0:  # CI runs as root: the case that matters (the CLI run as root)
        os.chown(database, 4242, 4343)
    signal = ChangeSignal.beside(str(database))
    try:
        made = (tmp_path / "regauth.db-changes").stat()
        assert made.st_mode & 0o777 == 0o640 & ~_umask()
        if os.geteuid() == 0:
            assert (made.st_uid, made.st_gid) == (4242, 4343)
    finally:
        signal.close()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


async def test_a_remembered_token_is_refused_once_another_process_disables_its_owner(
    runtime: Runtime, clock: FakeClock, another_runtime: OpenRuntime
) -> None:
    credentials, _ = _pat_of_alice(runtime, clock, expires_in=None)
    cli = another_runtime()
    await runtime.authenticator.authenticate(credentials)
    cli.users.set_disabled("alice", CLI_ACTOR, True)
    settled(runtime)  # PostgreSQL: the other process's change is heard within the bound
    with pytest.raises(Unauthorized, match="account is disabled"):
        await runtime.authenticator.authenticate(credentials)


def _use(at: int) -> TokenUse:
    return TokenUse(at=at, ip="127.0.0.1", user_agent="docker")
