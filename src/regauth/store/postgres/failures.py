"""The sign-in throttle's counts in PostgreSQL: one allowance for the whole deployment, however
many replicas share out the attempts (store/failures.py's SharedTable does it for one host).

Every read-modify-write holds one advisory lock for its transaction, so a reservation made
on one replica is seen by the next attempt on any other. Keys are stored as keyed hashes.
Successful sign-ins pay nothing: `active()` is a memory read, kept true for as long as any
replica's failure still counts (each failure notifies `regauth_failures` with its time).
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


class PostgresFailureTable:
    remote = True

    def __init__(self, backend: PostgresBackend, *, secret: bytes, name: str = "throttle") -> None:
        self._backend = backend
        self._secret = hashlib.blake2b(secret, digest_size=32, person=b"regauth-throttle").digest()
        self._name = name.encode()
        self._local = threading.local()
        # The latest failure or reservation any replica announced (0: none heard of).
        self._latest = 0.0
        backend.subscribe(FAILURES_CHANNEL, self._heard, on_connect=self._catch_up)

    def _heard(self, payload: str) -> None:
        with suppress(ValueError):  # another regauth's payload we do not know
            self._latest = max(self._latest, float(payload))

    def _catch_up(self, conn: Connection) -> None:
        """On (re)connecting: failures recorded while this process did not listen (another
        replica's, an earlier run's); the notifications keep it current from there."""
        row = conn.execute(
            "SELECT max(GREATEST(last_failure, pending_since)) FROM sign_in_failures"
        ).fetchone()
        if row and row[0] is not None:
            self._latest = max(self._latest, float(row[0]))

    def active(self, now: float) -> bool:
        if not self._backend.trusted():
            return True  # failures elsewhere could go unheard: ask the database
        return now - self._latest <= FORGET_AFTER_SECONDS

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One transaction holding the throttle's lock; re-entrant in a thread."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._backend.writing(announce=False) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK,))
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def get(self, key: str) -> Entry | None:
        row = self._read(
            f"SELECT {_COLUMNS} FROM sign_in_failures WHERE key = ?", (self._tag(key),)
        )
        return Entry(int(row[0]), row[1], row[2], int(row[3]), row[4]) if row else None

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
            latest = entry.last_active()
            if latest > self._latest:
                self._latest = latest
                # Delivered at commit, to every replica (this one too).
                conn.execute("SELECT pg_notify(?, ?)", (FAILURES_CHANNEL, repr(latest)))
            if random.random() < 0.01:
                # Bounded: what no longer counts is forgotten (an attacker rotating names).
                horizon = latest - max(FORGET_AFTER_SECONDS, RESERVATION_SECONDS)
                conn.execute(
                    "DELETE FROM sign_in_failures WHERE GREATEST(last_failure, pending_since) < ?",
                    (horizon,),
                )

    def pop(self, key: str) -> None:
        with self.lock():
            self._local.conn.execute(
                "DELETE FROM sign_in_failures WHERE key = ?", (self._tag(key),)
            )

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
