"""Account passwords: argon2id hashes, checked off the event loop, successes remembered briefly."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import argon2

from regauth.metrics.counts import Metrics
from regauth.services.fairshare import FairLimiter, source_of

# OWASP's argon2id minimum (19 MiB, 2 passes): memory-hard, yet ~25 ms, so a handful of
# concurrent checks cannot exhaust memory.
_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MAX_PASSWORD_LENGTH = 1024
_CACHE_SIZE = 10_000
# Checks one address may have waiting per worker beyond those running; more are a 429.
QUEUE_PER_SOURCE = 8
# A crowding source's checks run at this nice value: when both want a core, Linux gives a
# normal thread about 28 times the share of one at 15 (CFS weights 1024 and 36).
_BACKGROUND_NICE = 15
# A remembered check used in the last quarter of its life is checked again in the background
# and remembered anew: a client that keeps signing in never waits for the hash again (with
# 60 s of memory, every minute's expiry had put a ~40 ms check in the p99).
_RENEW_WITHIN = 0.25


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user does not exist, so timing does not reveal which names do.

    Made on first use, not at import: every CLI call and worker start would pay for it.
    """
    return _HASHER.hash("regauth-dummy-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


class PasswordChecker:
    """Verifies passwords in worker threads, shared fairly between client addresses
    (fairshare.py), with a short-lived cache of successes.

    The cache key is an HMAC over the username, the password and the stored hash, so it
    holds no password, and a password change (new stored hash) misses it at once.
    """

    def __init__(
        self,
        *,
        key: bytes,
        cache_seconds: int,
        concurrency: int,
        clock: Callable[[], float],
        queue_per_source: int = QUEUE_PER_SOURCE,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._key = key
        self._cache_seconds = cache_seconds
        self._clock = clock
        # One address may hold at most half the slots (at least one), so that a flood from
        # it leaves the rest to everyone else.
        self._limit = FairLimiter(
            concurrency,
            per_source=max(1, concurrency // 2),
            queue_per_source=queue_per_source,
        )
        # cache key -> (expiry, renewable: checked here against an argon2 hash)
        self._remembered: OrderedDict[bytes, tuple[float, bool]] = OrderedDict()
        self._renewing: dict[bytes, asyncio.Task[None]] = {}  # by cache key
        # Checks under way, by cache key: the same password for the same account at once
        # (a pipeline's parallel pulls) waits for the one check instead of queueing its own.
        self._checking: dict[bytes, asyncio.Future[bool]] = {}
        self._concurrency = concurrency
        self._foreground = ThreadPoolExecutor(concurrency, thread_name_prefix="password")
        self._background = ThreadPoolExecutor(
            concurrency, thread_name_prefix="password-low", initializer=_lower_priority
        )

    def close(self) -> None:
        for task in self._renewing.values():
            task.cancel()
        for pool in (self._foreground, self._background):
            pool.shutdown(wait=False, cancel_futures=True)

    def remembered(self, username: str, password: str, stored_hash: str | None) -> bool:
        """True when this password was verified for this stored hash a moment ago: no hash."""
        if stored_hash is None or len(password) > MAX_PASSWORD_LENGTH:
            return False
        key = self._cache_key(username, password, stored_hash)
        expiry, renewable = self._remembered.get(key, (0.0, False))
        left = expiry - self._clock()
        if left <= 0:
            return False
        if renewable and left < self._cache_seconds * _RENEW_WITHIN:
            self._renew(key, password, stored_hash)
        return True

    def remember(self, username: str, password: str, stored_hash: str) -> None:
        """Remembers a password checked elsewhere (a bind to the directory) as `verify`
        remembers its own; `stored_hash` names what it was checked against."""
        if self._cache_seconds and len(password) <= MAX_PASSWORD_LENGTH:
            key = self._cache_key(username, password, stored_hash)
            self._remember(key, self._clock() + self._cache_seconds, renewable=False)

    async def verify(
        self,
        username: str,
        password: str,
        stored_hash: str | None,
        *,
        source: str | None = None,
        before_check: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """The memory-hard check (after `remembered` said no), queued fairly by `source`;
        429 when that source already has a full queue. The same password for the same
        account while its check is under way waits for that check: one hash, and
        `before_check` (the throttle's reservation) is awaited only by a check that starts."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        if stored_hash is None:
            await self._reserved_check(_dummy_hash(), password, source, before_check)
            return False
        key = self._cache_key(username, password, stored_hash)
        pending = self._checking.get(key)
        if pending is None:
            # Registered before the reservation is awaited (on PostgreSQL it waits for a
            # thread): the same password arriving meanwhile waits for this check too.
            pending = asyncio.ensure_future(
                self._reserved_check(stored_hash, password, source, before_check)
            )
            self._checking[key] = pending
            pending.add_done_callback(lambda _: self._checking.pop(key, None))
        if not await asyncio.shield(pending):
            return False
        if self._cache_seconds:
            self._remember(key, self._clock() + self._cache_seconds, renewable=True)
        return True

    async def _reserved_check(
        self,
        stored_hash: str,
        password: str,
        source: str | None,
        before_check: Callable[[], Awaitable[None]] | None,
    ) -> bool:
        if before_check is not None:
            await before_check()
        return await self._check(stored_hash, password, source)

    def _renew(self, key: bytes, password: str, stored_hash: str) -> None:
        """Checks a remembered password again off the request's path, at low priority, at
        most `concurrency` at once (one not started now is started at its next use)."""
        if key in self._renewing or len(self._renewing) >= self._concurrency:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on the event loop: nothing to run it on
            return
        task = loop.create_task(self._renew_check(key, password, stored_hash))
        self._renewing[key] = task
        task.add_done_callback(lambda _: self._renewing.pop(key, None))

    async def _renew_check(self, key: bytes, password: str, stored_hash: str) -> None:
        self._metrics.password_checks_in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(self._background, _verify, stored_hash, password):
                self._remember(key, self._clock() + self._cache_seconds, renewable=True)
        finally:
            self._metrics.password_checks_in_flight -= 1

    async def _check(self, stored_hash: str, password: str, source: str | None) -> bool:
        # Counted on the event loop, queued or running: the gauge of checks in flight.
        self._metrics.password_checks_in_flight += 1
        try:
            return await self._check_in_turn(stored_hash, password, source)
        finally:
            self._metrics.password_checks_in_flight -= 1

    async def _check_in_turn(self, stored_hash: str, password: str, source: str | None) -> bool:
        async with self._limit.slot(source_of(source)) as crowding:
            # A source with several checks at once (a flood, or many users behind one NAT)
            # hashes at a lower CPU priority: it gets every core nobody else wants, and the
            # one sign-in of another address is not slowed down by sharing a core with it.
            pool = self._background if crowding else self._foreground
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, _verify, stored_hash, password)

    def _cache_key(self, username: str, password: str, stored_hash: str) -> bytes:
        message = b"\0".join(s.encode() for s in (username, password, stored_hash))
        return hmac.digest(self._key, message, hashlib.sha256)

    def _remember(self, cache_key: bytes, expiry: float, *, renewable: bool) -> None:
        self._remembered[cache_key] = (expiry, renewable)
        self._remembered.move_to_end(cache_key)
        while len(self._remembered) > _CACHE_SIZE:
            self._remembered.popitem(last=False)


def _lower_priority() -> None:
    """Runs in each background thread: Linux gives every thread a nice value of its own."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
