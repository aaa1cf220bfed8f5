"""The sign-in guard's memory of clients free to sign in: a failure on record from an address
costs that address's later successes nothing, and stops counting the moment anything changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from regauth.config import Config, LimitsConfig, LiveConfig
from regauth.errors import TooManyRequests
from regauth.services.guard import SignInGuard
from regauth.store.failures import Entry, SharedTable
from tests.support.clock import FakeClock

SECRET = b"k" * 32
IP = "192.0.2.7"


class CountingTable(SharedTable):
    """A worker's mapping that counts its look-ups."""

    gets = 0

    def get(self, key: str) -> Entry | None:
        self.gets += 1
        return super().get(key)


@pytest.fixture
def tables(tmp_path: Path) -> Iterator[tuple[CountingTable, CountingTable]]:
    path = tmp_path / "db.sqlite-throttle"
    first, second = CountingTable(path, secret=SECRET), CountingTable(path, secret=SECRET)
    yield first, second
    first.close()
    second.close()


def _guard(table: SharedTable, clock: FakeClock, *, per_ip: int = 50) -> SignInGuard:
    limits = LimitsConfig(failures_per_user_ip=3, failures_per_ip=per_ip)
    settings = LiveConfig(dataclasses.replace(Config(), limits=limits))
    return SignInGuard(settings, clock=clock, table=table)


def _sign_in(guard: SignInGuard, username: str) -> None:
    guard.check(username, IP)
    guard.succeeded(username, IP)


def test_after_a_failure_from_an_address_its_successes_stop_looking_entries_up(
    tables: tuple[CountingTable, CountingTable],
) -> None:
    table, _ = tables
    guard = _guard(table, FakeClock())
    guard.failed("mallory", IP)  # a failure on record: the address has an entry for an hour
    _sign_in(guard, "alice")  # looks once: nothing of alice's, no wait for the address
    looked = table.gets
    for _ in range(5):
        _sign_in(guard, "alice")
    assert table.gets == looked  # answered from memory, no entry decoded


def test_a_failure_in_another_worker_is_seen_at_the_next_check(
    tables: tuple[CountingTable, CountingTable],
) -> None:
    here, there = tables
    clock = FakeClock()
    guard, other = _guard(here, clock, per_ip=2), _guard(there, clock, per_ip=2)
    guard.failed("mallory", IP)
    _sign_in(guard, "alice")
    _sign_in(guard, "alice")  # remembered as free to sign in
    other.failed("mallory", IP)  # the address's second failure, in another worker: locked
    with pytest.raises(TooManyRequests):
        guard.check("alice", IP)


def test_a_client_with_failures_of_its_own_is_reset_then_remembered(
    tables: tuple[CountingTable, CountingTable],
) -> None:
    table, _ = tables
    guard = _guard(table, FakeClock())
    pair = f"{IP}\0alice"
    guard.failed("alice", IP)
    guard.failed("alice", IP)
    _sign_in(guard, "alice")  # the success resets alice's count
    assert table.get(pair) is None
    _sign_in(guard, "alice")  # found clear
    looked = table.gets
    _sign_in(guard, "alice")
    _sign_in(guard, "alice")
    assert table.gets == looked  # then remembered
    for _ in range(3):  # a new failure is counted from one, and the third locks
        guard.failed("alice", IP)
    with pytest.raises(TooManyRequests):
        guard.check("alice", IP)


@pytest.mark.parametrize("variant", ["ALICE", "Alice", "\uff41\uff4c\uff49\uff43\uff45"])
def test_a_name_in_another_case_or_width_is_the_same_throttled_name(
    tables: tuple[CountingTable, CountingTable], variant: str
) -> None:
    """A directory matches names without case and full-width forms as their ASCII ones (found
    from outside: each variant of an LDAP name got the per-name allowance of its own)."""
    table, _ = tables
    guard = _guard(table, FakeClock())
    for _ in range(3):
        guard.failed("alice", IP)
    with pytest.raises(TooManyRequests):
        guard.check(variant, IP)
    guard.check("bob", IP)  # another name from the address is not locked out
