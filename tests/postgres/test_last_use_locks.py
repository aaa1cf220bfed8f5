"""Two replicas flushing last uses of the same tokens at once: neither deadlocks.

A flush writes up to 512 tokens a statement, all in one transaction, so a flush of many tokens
holds the rows of its first statements while it asks for those of the next. Two replicas
whose flushes took the same rows in different orders would wait for each other until
PostgreSQL broke the deadlock and one flush was lost. Every flush takes its rows in id order
(the batches sorted, and each batch's rows locked `ORDER BY id` before the update).

With the batches in each replica's own order this test fails (`DeadlockDetected`, the lock
statement or not). The lock statement is for what it cannot stage: two batches of different
sizes planned differently (an index look-up a row, in the batch's order, against a scan of the
table, in the order of its row versions), whose rows would be locked in different orders.
"""

from __future__ import annotations

import threading

from regauth.domain.models import TokenUse
from regauth.store.postgres.store import PostgresStore
from tests.service.test_store import make_token
from tests.support.postgres import PostgresDatabase

TOKENS = 1_600  # four statements' worth a flush
ROUNDS = 12


def test_two_replicas_flushing_the_same_tokens_at_once_never_deadlock(
    postgres_database: PostgresDatabase,
) -> None:
    first = PostgresStore(postgres_database.url, pool_size=1)
    second = PostgresStore(postgres_database.url, pool_size=1, migrate=False)
    try:
        owner = first.create_user("alice", None, is_admin=False, now=5)
        ids = [f"t{i:09d}" for i in range(TOKENS)]
        for token_id in ids:
            make_token(first, owner.id, token_id)
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def flush(store: PostgresStore, order: list[str], address: str) -> None:
            try:
                for round_ in range(ROUNDS):
                    # Each replica knows the tokens in its own order (its dict's, as used).
                    uses = {t: TokenUse(1_000 + round_, address, "docker") for t in order}
                    start.wait(timeout=30)
                    store.record_token_uses(uses)
            except BaseException as exc:  # reported by the test below
                failures.append(exc)
                start.abort()

        threads = [
            threading.Thread(target=flush, args=(first, ids, "10.0.0.1")),
            threading.Thread(target=flush, args=(second, ids[::-1], "10.0.0.2")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a flush is still waiting"
        assert not failures, [f"{type(exc).__name__}: {exc}" for exc in failures]
        # Both flushes of the last round were written (one after the other): the last use.
        for token_id in (ids[0], ids[TOKENS // 2], ids[-1]):
            record = first.get_token(token_id)
            assert record is not None and record.last_used_at == 1_000 + ROUNDS - 1
            assert record.last_used_ip in ("10.0.0.1", "10.0.0.2")
    finally:
        first.close()
        second.close()
