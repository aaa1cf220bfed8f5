"""The sign-in throttle's counts in PostgreSQL: one allowance for the whole deployment, however
many replicas share out the attempts (store/failures.py's SharedTable does it for one host).

Every read-modify-write holds one advisory lock for its transaction, so a reservation made
on one replica is seen by the next attempt on any other. Keys are stored as keyed hashes.
Successful sign-ins pay nothing: `active()` is a memory read, true while any replica's
failure still counts; and the entries read are kept in memory until any replica changes any
entry (every change notifies `regauth_failures`), so the keys of a client that signs in
correctly are read once, not on every sign-in.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from regauth.store.failures import FORGET_AFTER_SECONDS, RESERVATION_SECONDS, Entry
from regauth.store.postgres.backend import PostgresBackend
from regauth.store.sql.base import Connection

FAILURES_CHANNEL = "regauth_failures"
# pg_advisory_xact_lock key: b"regthrot" as a big-endian integer.
_LOCK = 0x7265_6774_6872_6F74
_COLUMNS = "failures, last_failure, locked_until, pending, pending_since"
_MAX_KEPT = 100_000  # entries kept in memory at most (an attacker rotating names)


class PostgresFailureTable:
    remote = True

    def __init__(self, backend: PostgresBackend, *, secret: bytes, name: str = "throttle") -> None:
        self._backend = backend
        self._secret = hashlib.blake2b(secret, digest_size=32, person=b"regauth-throttle").digest()
        self._name = name.encode()
        self._local = threading.local()
        # The latest failure any replica announced (0: none heard of).
        self._latest = 0.0
        # Entries as read (None: absent), valid while no change is heard: emptied by every
        # notification; a read that a change overtook (the generation moved) is not kept.
        self._entries: dict[str, Entry | None] = {}
        self._generation = 0
        backend.subscribe(FAILURES_CHANNEL, self._heard, on_connect=self._catch_up)

    def _forget(self) -> None:
        self._generation += 1
        self._entries = {}

    def _heard(self, payload: str) -> None:
        self._forget()
        with suppress(ValueError):  # another regauth's payload we do not know
            self._latest = max(self._latest, float(payload))

    def _catch_up(self, conn: Connection) -> None:
        """On (re)connecting: failures recorded while this process did not listen (another
        replica's, an earlier run's); the notifications keep it current from there."""
        self._forget()
        row = conn.execute("SELECT max(last_failure) FROM sign_in_failures").fetchone()
        if row and row[0] is not None:
            self._latest = max(self._latest, float(row[0]))

    def active(self, now: float) -> bool:
        if not self._backend.trusted():
            return True  # failures elsewhere could go unheard: ask the database
        return now - self._latest <= FORGET_AFTER_SECONDS

    def version(self) -> object | None:
        return None  # other replicas write without telling: every check reads

    def cached(self, key: str) -> bool:
        """get(key) would answer from memory, with no database call."""
        return self._backend.trusted() and key in self._entries

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One transaction holding the throttle's lock; re-entrant in a thread."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._backend.writing() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK,))
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None
        # Committed: what another thread read meanwhile may be the old row.
        self._forget()

    def get(self, key: str) -> Entry | None:
        locked = getattr(self._local, "conn", None) is not None
        if not locked and self._backend.trusted() and key in self._entries:
            kept = self._entries.get(key)
            return None if kept is None else _copy(kept)
        generation = self._generation
        row = self._read(
            f"SELECT {_COLUMNS} FROM sign_in_failures WHERE key = ?", (self._tag(key),)
        )
        entry = Entry(int(row[0]), row[1], row[2], int(row[3]), row[4]) if row else None
        # Under the lock the read is exact but may be overtaken by this very transaction.
        if not locked and generation == self._generation and len(self._entries) < _MAX_KEPT:
            self._entries[key] = None if entry is None else _copy(entry)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        with self.lock():
            conn: Connection = self._local.conn
            conn.execute(
                f"INSERT INTO sign_in_failures (key, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
                "last_failure = excluded.last_failure, locked_until = excluded.locked_until, "
                "pending = excluded.pending, pending_since = excluded.pending_since",
                (
                    self._tag(key),
                    entry.failures,
                    entry.last_failure,
                    entry.locked_until,
                    entry.pending,
                    entry.pending_since,
                ),
            )
            self._changed(conn, entry.last_failure)
            if random.random() < 0.01:
                # Bounded: what no longer counts is forgotten (an attacker rotating names).
                horizon = entry.last_active() - max(FORGET_AFTER_SECONDS, RESERVATION_SECONDS)
                conn.execute(
                    "DELETE FROM sign_in_failures WHERE GREATEST(last_failure, pending_since) < ?",
                    (horizon,),
                )

    def pop(self, key: str) -> None:
        with self.lock():
            conn: Connection = self._local.conn
            conn.execute("DELETE FROM sign_in_failures WHERE key = ?", (self._tag(key),))
            self._changed(conn, 0.0)

    def _changed(self, conn: Connection, last_failure: float) -> None:
        """Every replica's kept entries are stale: this one's at once, the others' when the
        notification (delivered at commit) arrives."""
        self._forget()
        self._latest = max(self._latest, last_failure)
        conn.execute("SELECT pg_notify(?, ?)", (FAILURES_CHANNEL, repr(last_failure)))

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn.execute(sql, params).fetchone()
        with self._backend.reading() as fresh:
            return fresh.execute(sql, params).fetchone()

    def _tag(self, key: str) -> str:
        return hashlib.blake2b(
            self._name + b"\0" + key.encode(), digest_size=16, key=self._secret
        ).hexdigest()


def _copy(entry: Entry) -> Entry:
    # A copy, as the other tables give: a caller changes it and puts it back.
    return Entry(
        entry.failures, entry.last_failure, entry.locked_until, entry.pending, entry.pending_since
    )
