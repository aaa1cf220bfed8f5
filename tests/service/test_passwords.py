"""Password checks: argon2id, remembered briefly under a keyed hash, clock injected."""

from __future__ import annotations

from regauth.services.passwords import PasswordChecker, hash_password
from tests.support.clock import FakeClock


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
