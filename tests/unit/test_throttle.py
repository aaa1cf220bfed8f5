"""Failure throttling over both tables: one process's memory and the file all workers map."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from regauth.services.throttle import Throttle
from regauth.store import failures as throttle
from regauth.store.failures import FORGET_AFTER_SECONDS, MemoryTable, SharedTable
from regauth.store.sharedmem import renew_stamp
from tests.support.clock import FakeClock

SECRET = b"k" * 32


@pytest.fixture(params=["memory", "shared"])
def make_table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], object]]:
    opened: list[SharedTable] = []

    def make() -> object:
        if request.param == "memory":
            return MemoryTable()
        table = SharedTable(tmp_path / "db.sqlite-throttle", secret=SECRET)
        opened.append(table)
        return table

    yield make
    for table in opened:
        table.close()


def _throttle(table: object, clock: FakeClock, free: int = 3) -> Throttle:
    return Throttle(clock=clock, free_failures=free, max_lockout=60, table=table)  # type: ignore[arg-type]


def test_free_failures_then_a_doubling_lockout_up_to_the_maximum(
    make_table: Callable[[], object],
) -> None:
    clock = FakeClock()
    t = _throttle(make_table(), clock)
    assert not t  # nobody failed: the hot path skips everything
    waits = []
    for _ in range(10):
        t.failure("1.2.3.4\0alice")
        waits.append(t.retry_after("1.2.3.4\0alice"))
    assert t
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert t.retry_after("1.2.3.4\0bob") == 0  # other keys are untouched
    clock.now += 61
    assert t.retry_after("1.2.3.4\0alice") == 0  # the lock ran out; the count did not
    t.failure("1.2.3.4\0alice")
    assert t.retry_after("1.2.3.4\0alice") == 60


def test_success_resets_and_an_hour_without_failures_forgets(
    make_table: Callable[[], object],
) -> None:
    clock = FakeClock()
    t = _throttle(make_table(), clock)
    for _ in range(3):
        t.failure("a")
    assert t.retry_after("a") == 1
    t.success("a")
    assert t.retry_after("a") == 0
    for _ in range(2):
        t.failure("b")
    clock.now += FORGET_AFTER_SECONDS + 1
    t.failure("b")  # counts from one again: the earlier two are forgotten
    assert t.retry_after("b") == 0
    clock.now += FORGET_AFTER_SECONDS + 1
    assert t.retry_after("b") == 0  # forgotten
    assert not t  # so the hot path skips everything again


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[SharedTable, SharedTable]]:
    """Two processes' mappings of the same file."""
    path = tmp_path / "db.sqlite-throttle"
    first, second = SharedTable(path, secret=SECRET), SharedTable(path, secret=SECRET)
    yield first, second
    first.close()
    second.close()


def test_workers_mapping_the_same_file_count_together(
    two_workers: tuple[SharedTable, SharedTable],
) -> None:
    clock = FakeClock()
    worker_a, worker_b = (_throttle(table, clock) for table in two_workers)
    worker_a.failure("ip\0alice")
    worker_b.failure("ip\0alice")
    assert worker_a.retry_after("ip\0alice") == 0
    worker_a.failure("ip\0alice")  # the third failure, whichever worker saw it
    assert worker_b.retry_after("ip\0alice") == 1
    worker_b.success("ip\0alice")
    assert worker_a.retry_after("ip\0alice") == 0


def test_a_key_seen_absent_is_found_once_another_worker_records_it(
    two_workers: tuple[SharedTable, SharedTable],
) -> None:
    # Each process remembers which keys it found without an entry (the usual sign-in), until
    # any process records a failure: then it looks again.
    clock = FakeClock()
    worker_a, worker_b = (_throttle(table, clock, free=1) for table in two_workers)
    worker_b.failure("ip\0mallory")  # the table is active: worker_a looks keys up
    assert worker_a.retry_after("ip\0alice") == 0
    assert worker_a.retry_after("ip\0alice") == 0  # now from what it remembers
    worker_b.failure("ip\0alice")
    assert worker_a.retry_after("ip\0alice") == 1
    worker_a.success("ip\0alice")
    assert worker_b.retry_after("ip\0alice") == 0


def test_a_key_is_found_only_under_the_same_secret(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "db.sqlite-throttle"
    ours, other = SharedTable(path, secret=SECRET), SharedTable(path, secret=b"x" * 32)
    try:
        t = _throttle(ours, clock, free=1)
        t.failure("ip\0alice")
        assert t.retry_after("ip\0alice") == 1
        assert _throttle(other, clock, free=1).retry_after("ip\0alice") == 0
    finally:
        ours.close()
        other.close()


def test_the_shared_table_stays_bounded_and_keeps_the_newest_failures(tmp_path: Path) -> None:
    clock = FakeClock()
    table = SharedTable(tmp_path / "db.sqlite-throttle", secret=SECRET)
    try:
        t = _throttle(table, clock, free=1)
        keys = [f"10.0.{i // 256}.{i % 256}" for i in range(3 * throttle._SLOTS)]
        for key in keys:
            clock.now += 0.001
            t.failure(key)
        size = (tmp_path / "db.sqlite-throttle").stat().st_size
        assert size == throttle._FILE_BYTES  # never grows
        remembered = [key for key in keys if table.get(key) is not None]
        assert throttle._SLOTS // 2 < len(remembered) <= throttle._SLOTS + throttle._PROBES
        assert set(keys[-100:]) <= set(remembered)  # the newest failures are all kept
        assert all(t.retry_after(key) for key in keys[-100:])  # and still locked
    finally:
        table.close()


def test_the_file_takes_the_database_mode(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    database.write_bytes(b"")
    os.chmod(database, 0o640)
    table = SharedTable.beside(str(database), secret=SECRET)
    try:
        assert isinstance(table, SharedTable)
        assert (tmp_path / "db.sqlite-throttle-v2").stat().st_mode & 0o777 == 0o640
    finally:
        table.close()
    assert isinstance(SharedTable.beside(":memory:", secret=SECRET), MemoryTable)


def test_a_tag_is_found_only_where_a_slot_starts(tmp_path: Path) -> None:
    # The window is searched as bytes; the same 8 bytes inside another slot's fields (a
    # failure time, say) are not that key's slot.
    table = SharedTable(tmp_path / "db.sqlite-throttle", secret=SECRET)
    try:
        key = "10.0.0.1\0alice"
        tag = table._tag(key)
        first = tag % throttle._SLOTS
        needle = tag.to_bytes(8, "little")
        inside = throttle._offset(first) + 8  # the failures and padding fields of slot `first`
        table._map[inside : inside + 8] = needle
        assert table.get(key) is None
        throttle._SLOT.pack_into(
            table._map, throttle._offset(first + 2), tag, 4, 0, 1_800_000_000.0, 0.0, 0.0
        )
        renew_stamp(table._map, throttle._STAMP_AT)  # as put() does
        entry = table.get(key)
        assert entry is not None and entry.failures == 4
        table.pop(key)
        assert table.get(key) is None
    finally:
        table.close()


def test_simultaneous_attempts_beyond_the_free_failures_are_refused_before_any_check(
    make_table: Callable[[], object],
) -> None:
    # 3 free failures: three attempts may be under way at once (all may fail); the fourth
    # must wait for them, whether or not any has finished.
    clock = FakeClock()
    t = _throttle(make_table(), clock, free=3)
    assert [t.reserve("ip\0alice") for _ in range(5)] == [0, 0, 0, 1, 1]
    t.settle("ip\0alice", failed=True)
    assert t.reserve("ip\0alice") == 1  # two still pending: 1 failure + 2 pending = 3
    t.settle("ip\0alice", failed=True)
    t.settle("ip\0alice", failed=True)  # the third failure locks for 1 s
    assert t.reserve("ip\0alice") == 1
    assert t.retry_after("ip\0alice") == 1
    clock.now += 1
    # Past the free failures, one attempt at a time, each failure doubling the lock-out.
    assert [t.reserve("ip\0alice") for _ in range(2)] == [0, 1]
    t.settle("ip\0alice", failed=True)
    assert t.retry_after("ip\0alice") == 2
    assert t.reserve("ip\0bob") == 0  # other keys are untouched


def test_a_success_resets_the_count_and_keeps_the_other_pending_attempts(
    make_table: Callable[[], object],
) -> None:
    clock = FakeClock()
    t = _throttle(make_table(), clock, free=3)
    t.failure("k")
    assert [t.reserve("k") for _ in range(3)] == [0, 0, 1]
    t.settle("k", failed=False, succeeded=True)  # the count starts over; one still pending
    assert [t.reserve("k") for _ in range(3)] == [0, 0, 1]
    for _ in range(3):
        t.settle("k", failed=False)  # neither: the check never ran
    assert [t.reserve("k") for _ in range(4)] == [0, 0, 0, 1]


def test_a_reservation_whose_process_died_lapses(make_table: Callable[[], object]) -> None:
    clock = FakeClock()
    t = _throttle(make_table(), clock, free=2)
    assert [t.reserve("k") for _ in range(3)] == [0, 0, 1]  # and never settled
    clock.now += throttle.RESERVATION_SECONDS
    assert [t.reserve("k") for _ in range(3)] == [0, 0, 1]


def test_reservations_in_one_worker_count_in_the_other(
    two_workers: tuple[SharedTable, SharedTable],
) -> None:
    clock = FakeClock()
    worker_a, worker_b = (_throttle(table, clock, free=2) for table in two_workers)
    assert worker_a.reserve("ip\0alice") == 0
    assert worker_b.reserve("ip\0alice") == 0
    assert worker_a.reserve("ip\0alice") == 1
    assert worker_b.reserve("ip\0alice") == 1
    worker_a.settle("ip\0alice", failed=True)
    worker_b.settle("ip\0alice", failed=True)
    assert worker_a.retry_after("ip\0alice") == 1


def _race(path: str, rounds: int, start: float) -> int:
    """One process of the test below: reserve and settle as fast as it can."""
    import time

    table = SharedTable(Path(path), secret=SECRET)
    t = Throttle(clock=time.time, free_failures=10**9, max_lockout=60, table=table)
    while time.time() < start:
        pass
    granted = 0
    for _ in range(rounds):
        if t.reserve("ip\0alice") == 0:
            granted += 1
            t.settle("ip\0alice", failed=True)
    table.close()
    return granted


def test_reservations_and_failures_are_atomic_across_processes(tmp_path: Path) -> None:
    # Four processes race on one key: without the lock their read-modify-writes overwrite
    # each other, and both the pending count and the failures lose updates.
    import concurrent.futures
    import multiprocessing
    import time

    path = tmp_path / "db.sqlite-throttle"
    SharedTable(path, secret=SECRET).close()
    start = time.time() + 1.0
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=context) as pool:
        granted = list(pool.map(_race, [str(path)] * 4, [2000] * 4, [start] * 4))
    assert granted == [2000] * 4
    table = SharedTable(path, secret=SECRET)
    try:
        entry = table.get("ip\0alice")
        assert entry is not None
        assert (entry.failures, entry.pending) == (8000, 0)
    finally:
        table.close()


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite-throttle"
    SharedTable(path, secret=SECRET).close()
    with path.open("r+b") as f:  # the layout version, as a later release might write it
        f.seek(throttle._LAYOUT_AT)
        f.write(throttle._LAYOUT.pack(throttle.LAYOUT_VERSION + 1, 48, throttle._SLOTS))
    with pytest.raises(throttle.LayoutError, match="not written by this version"):
        SharedTable(path, secret=SECRET)
    old = tmp_path / "old-throttle"  # the unversioned layout: data, no magic
    old.write_bytes(b"\x01" * throttle._FILE_BYTES)
    with pytest.raises(throttle.LayoutError):
        SharedTable(old, secret=SECRET)
