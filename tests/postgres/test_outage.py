"""The PostgreSQL store through an outage longer than a restart: once the server is back, the
store answers again within seconds, however long it was down.

Found by tests/e2e/test_replicas.py: after a 20 s outage a replica answered /token again only
~11 s after PostgreSQL was back (and by the same schedule ~32 s after a 60 s one): psycopg_pool
retried its connections with a doubling delay. The listener now replaces the pool as soon as
it reaches the database again."""

from __future__ import annotations

import time

import pytest

from regauth.errors import Unavailable
from regauth.store.postgres.store import PostgresStore
from tests.support.postgres import PostgresDatabase, PostgresServer

# Long enough to pass the pool's reconnection attempts at ~1, 3, 7 and 15 s after its first
# failed one (psycopg_pool doubles the wait from 1 s, jitter ±10 %): the next is at ~31 s.
OUTAGE_SECONDS = 16.0
# What "back by itself within a few seconds" means (the listener's own back-off stops at 2 s).
BACK_WITHIN_SECONDS = 5.0


def test_the_store_answers_again_within_seconds_after_a_long_outage(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    store = PostgresStore(postgres_database.url, pool_size=2)
    store.listen()  # as a serving process: the listener notices the outage and its end
    try:
        store.ping()
        with postgres_server.down():
            started = time.monotonic()
            with pytest.raises(Unavailable):
                store.ping()  # the pool learns that its connections are gone
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
        back = time.monotonic()
        while True:
            try:
                store.ping()
                break
            except Unavailable:
                if time.monotonic() - back > 60:
                    raise
        answered_after = time.monotonic() - back
    finally:
        store.close()
    assert answered_after < BACK_WITHIN_SECONDS, f"answered {answered_after:.1f} s after"
