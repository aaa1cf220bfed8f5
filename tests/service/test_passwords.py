"""Password checks: argon2id, remembered briefly under a keyed hash, clock injected."""

from __future__ import annotations

import asyncio

import pytest

from regauth.services.passwords import PasswordChecker, hash_password
from tests.support.clock import FakeClock
from tests.support.hashes import count_password_hashes


async def test_successful_checks_are_remembered_until_they_expire(monkeypatch: object) -> None:
    clock = FakeClock()
    checker = PasswordChecker(key=b"k" * 32, cache_seconds=60, concurrency=1, clock=clock)
    stored = hash_password("correct horse")
    calls = []
    import regauth.services.passwords as mod

    real = mod._verify

    def counting(h: str, p: str) -> bool:
        calls.append(p)
        return real(h, p)

    monkeypatch.setattr(mod, "_verify", counting)  # type: ignore[attr-defined]
    assert not checker.remembered("alice", "correct horse", stored)
    assert await checker.verify("alice", "correct horse", stored)
    assert checker.remembered("alice", "correct horse", stored)  # no hash needed now
    assert not checker.remembered("bob", "correct horse", stored)  # the name is in the key
    assert len(calls) == 1
    clock.advance(61)
    assert not checker.remembered("alice", "correct horse", stored)
    assert await checker.verify("alice", "correct horse", stored)
    assert len(calls) == 2
    assert not await checker.verify("alice", "wrong", stored)
    assert not checker.remembered("alice", "wrong", stored)  # failures are never remembered
    assert len(calls) == 3


async def test_a_new_password_hash_misses_the_cache() -> None:
    checker = PasswordChecker(key=b"k" * 32, cache_seconds=60, concurrency=1, clock=FakeClock())
    old = hash_password("correct horse")
    assert await checker.verify("alice", "correct horse", old)
    new = hash_password("battery staple")
    assert not checker.remembered("alice", "correct horse", new)
    assert not await checker.verify("alice", "correct horse", new)


async def test_missing_user_and_oversized_password_fail() -> None:
    checker = PasswordChecker(key=b"k" * 32, cache_seconds=60, concurrency=1, clock=FakeClock())
    assert not checker.remembered("ghost", "whatever", None)
    assert not await checker.verify("ghost", "whatever", None)
    assert not await checker.verify("alice", "x" * 5000, hash_password("correct horse"))


def test_cache_holds_no_password() -> None:
    checker = PasswordChecker(key=b"k" * 32, cache_seconds=60, concurrency=1, clock=FakeClock())
    key = checker._cache_key("alice", "correct horse", "$argon2id$...")
    assert b"correct horse" not in key and len(key) == 32


async def _renewed(checker: PasswordChecker) -> None:
    while checker._renewing:
        await asyncio.gather(*checker._renewing.values())


async def test_a_check_used_near_its_expiry_is_renewed_off_the_requests_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    checker = PasswordChecker(key=b"k" * 32, cache_seconds=60, concurrency=2, clock=clock)
    stored = hash_password("correct horse")
    calls = count_password_hashes(monkeypatch)
    assert await checker.verify("alice", "correct horse", stored)
    clock.advance(30)
    assert checker.remembered("alice", "correct horse", stored)
    assert not checker._renewing  # halfway: nothing to renew yet
    clock.advance(20)  # 10 s left: answered at once, checked again in the background
    assert checker.remembered("alice", "correct horse", stored)
    assert checker.remembered("alice", "correct horse", stored)  # one renewal, not two
    await _renewed(checker)
    assert len(calls) == 2
    clock.advance(20)  # past the first check's expiry, within the renewed one
    assert checker.remembered("alice", "correct horse", stored)
    clock.advance(41)  # unused since: it expires like any other
    assert not checker.remembered("alice", "correct horse", stored)
    checker.close()


async def test_a_directory_sign_in_is_not_renewed_by_a_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    checker = PasswordChecker(key=b"k" * 32, cache_seconds=60, concurrency=2, clock=clock)
    calls = count_password_hashes(monkeypatch)
    checker.remember("alice", "directory secret", "ldap:uid=alice")
    clock.advance(55)
    assert checker.remembered("alice", "directory secret", "ldap:uid=alice")
    assert not checker._renewing and not calls  # the directory, not a hash, decides again
    clock.advance(6)
    assert not checker.remembered("alice", "directory secret", "ldap:uid=alice")
