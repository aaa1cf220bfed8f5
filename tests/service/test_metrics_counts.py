"""What services count for /metrics: password checks in flight, on the event loop."""

from __future__ import annotations

import asyncio
import time

from regauth.metrics.counts import Metrics
from regauth.services.passwords import PasswordChecker, hash_password


async def test_password_checks_in_flight_count_queued_and_running_checks() -> None:
    metrics = Metrics()
    checker = PasswordChecker(
        key=b"k" * 32, cache_seconds=0, concurrency=1, clock=time.time, metrics=metrics
    )
    try:
        stored = hash_password("secret")
        checks = [  # three accounts (the same one at once would share one check)
            asyncio.ensure_future(
                checker.verify(f"user{i}", "secret", stored, source=f"10.0.0.{i}")
            )
            for i in range(3)
        ]
        for _ in range(2):  # each has started its check: one hashing, two waiting for the slot
            await asyncio.sleep(0)
        assert metrics.password_checks_in_flight == 3
        assert await asyncio.gather(*checks) == [True, True, True]
        assert metrics.password_checks_in_flight == 0
    finally:
        checker.close()
