"""Account passwords: argon2id hashes, checked off the event loop, successes remembered briefly."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable

import argon2

# OWASP's argon2id minimum (19 MiB, 2 passes): memory-hard, yet ~25 ms, so a handful of
# concurrent checks cannot exhaust memory.
_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MAX_PASSWORD_LENGTH = 1024
_CACHE_SIZE = 10_000


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user does not exist, so timing does not reveal which names do.

    Made on first use, not at import: every CLI call and worker start would pay for it.
    """
    return _HASHER.hash("regauth-dummy-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


class PasswordChecker:
    """Verifies passwords in worker threads, bounded, with a short-lived cache of successes.

    The cache key is an HMAC over the username, the password and the stored hash, so it
    holds no password, and a password change (new stored hash) misses it at once.
    """

    def __init__(
        self, *, key: bytes, cache_seconds: int, concurrency: int, clock: Callable[[], float]
    ) -> None:
        self._key = key
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._remembered: OrderedDict[bytes, float] = OrderedDict()

    async def verify(self, username: str, password: str, stored_hash: str | None) -> bool:
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        if stored_hash is None:
            await self._check(_dummy_hash(), password)
            return False
        cache_key = self._cache_key(username, password, stored_hash)
        now = self._clock()
        expiry = self._remembered.get(cache_key)
        if expiry is not None and expiry > now:
            return True
        if not await self._check(stored_hash, password):
            return False
        if self._cache_seconds:
            self._remember(cache_key, now + self._cache_seconds)
        return True

    async def _check(self, stored_hash: str, password: str) -> bool:
        async with self._limit:
            return await asyncio.to_thread(_verify, stored_hash, password)

    def _cache_key(self, username: str, password: str, stored_hash: str) -> bytes:
        message = b"\0".join(s.encode() for s in (username, password, stored_hash))
        return hmac.digest(self._key, message, hashlib.sha256)

    def _remember(self, cache_key: bytes, expiry: float) -> None:
        self._remembered[cache_key] = expiry
        self._remembered.move_to_end(cache_key)
        while len(self._remembered) > _CACHE_SIZE:
            self._remembered.popitem(last=False)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
