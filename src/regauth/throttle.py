"""Failure throttling: a few free failures per key, then a doubling lock-out, reset by success.

An attempt whose check is slow (a memory-hard password hash) is *reserved* before the check
and settled after it, so that a burst of simultaneous guesses cannot all pass the count
before any of them has failed: while attempts are pending, only as many more may start as
the key has free failures left.

The counts live in a table: `MemoryTable` in one process, or `SharedTable`, a file beside the
database that every worker maps, so that N workers give an attacker the allowance once, not
N times. Every read-modify-write holds the table's lock (an flock of that file: atomic across
the machine's processes); plain reads take no lock. Both tables are bounded, so an attacker
rotating usernames or addresses cannot grow memory; when full, the entries active longest
ago make room.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from regauth.clock import Clock
from regauth.sharedmem import map_file, read_stamp, renew_stamp

# Keys forgotten after this long without a failure.
FORGET_AFTER_SECONDS = 3600
# A reservation older than this is taken to belong to a process that died mid-check: a
# check waits at most for its turn (a bounded queue) and one hash, far less than this.
RESERVATION_SECONDS = 120
_MAX_KEYS = 100_000


@dataclass(slots=True)
class Entry:
    failures: int
    last_failure: float
    locked_until: float
    # Attempts reserved and not settled yet, and when the latest of them was reserved.
    pending: int = 0
    pending_since: float = 0.0

    def live_pending(self, now: float) -> int:
        return self.pending if now - self.pending_since < RESERVATION_SECONDS else 0

    def last_active(self) -> float:
        return max(self.last_failure, self.pending_since)


class FailureTable(Protocol):
    def active(self, now: float) -> bool:
        """False when no key can have a failure that still counts: callers may skip all work."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held around every read-modify-write; re-entrant within a process."""
        ...

    def get(self, key: str) -> Entry | None: ...

    def put(self, key: str, entry: Entry) -> None: ...

    def pop(self, key: str) -> None: ...


class Throttle:
    def __init__(
        self,
        *,
        clock: Clock,
        free_failures: int,
        max_lockout: int,
        table: FailureTable | None = None,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._max = max_lockout
        self.table = table if table is not None else MemoryTable()

    def __bool__(self) -> bool:
        """False while no key has failed lately: callers may skip building keys (the hot path)."""
        return self.table.active(self._clock())

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now. Reads without the lock:
        a check before the attempt, which `reserve` repeats atomically where it matters."""
        entry = self.table.get(key)
        if entry is None:
            return 0
        now = self._clock()
        if now - entry.last_active() > FORGET_AFTER_SECONDS:
            return 0
        return self._wait(entry, now)

    def failure(self, key: str) -> None:
        """Counts a failure of an attempt that was not reserved (a check with no wait in it)."""
        with self.table.lock():
            now = self._clock()
            entry = self._current(key, now)
            self._count_failure(entry, now)
            self.table.put(key, entry)

    def success(self, key: str) -> None:
        if self.table.get(key) is None:  # the usual case: nothing to reset, no lock
            return
        with self.table.lock():
            entry = self.table.get(key)
            if entry is not None:
                entry.failures, entry.locked_until = 0, 0.0
                self._store(key, entry, self._clock())

    def reserve(self, key: str) -> int:
        """Reserves an attempt: 0, or the seconds to wait when it may not start now.

        Refused while locked out, and while the attempts already pending could use up the
        free failures left (they may all fail); with no attempt pending, one may always
        start once any lock-out has run out, as a sequential client could.
        """
        with self.table.lock():
            now = self._clock()
            entry = self._current(key, now)
            wait = self._wait(entry, now)
            if wait:
                return wait
            entry.pending, entry.pending_since = entry.live_pending(now) + 1, now
            self.table.put(key, entry)
            return 0

    def settle(self, key: str, *, failed: bool, succeeded: bool = False) -> None:
        """Ends a reserved attempt: counted as a failure, a success (resets the count), or
        neither (the check did not happen or proved nothing)."""
        with self.table.lock():
            now = self._clock()
            entry = self._current(key, now)
            entry.pending = max(0, entry.live_pending(now) - 1)
            if failed:
                self._count_failure(entry, now)
            elif succeeded:
                entry.failures, entry.locked_until = 0, 0.0
            self._store(key, entry, now)

    def _wait(self, entry: Entry, now: float) -> int:
        wait = _seconds_until(entry.locked_until, now)
        pending = entry.live_pending(now)
        if not wait and pending and entry.failures + pending >= self._free:
            wait = 1  # about as long as the pending checks take to settle
        return wait

    def _current(self, key: str, now: float) -> Entry:
        entry = self.table.get(key)
        if entry is None or now - entry.last_active() > FORGET_AFTER_SECONDS:
            return Entry(0, 0.0, 0.0)
        return entry

    def _count_failure(self, entry: Entry, now: float) -> None:
        if now - entry.last_failure > FORGET_AFTER_SECONDS:
            entry.failures = 0
        entry.failures += 1
        entry.last_failure = now
        # The free_failures-th failure locks for 1 s, each further one for twice as long.
        over = entry.failures - self._free
        if over >= 0:
            entry.locked_until = now + min(self._max, 2 ** min(over, 30))

    def _store(self, key: str, entry: Entry, now: float) -> None:
        if entry.failures or entry.live_pending(now) or entry.locked_until > now:
            self.table.put(key, entry)
        else:
            self.table.pop(key)


def _seconds_until(when: float, now: float) -> int:
    return max(0, int(when - now + 0.999))


class MemoryTable:
    """One process's counts, least recently changed first out."""

    def __init__(self, max_keys: int = _MAX_KEYS) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._max = max_keys
        self._latest_failure = float("-inf")

    def active(self, now: float) -> bool:
        return bool(now - self._latest_failure <= FORGET_AFTER_SECONDS)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # one thread (the event loop) changes it

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        # A copy, as SharedTable's are: a caller changes it and puts it back.
        return None if entry is None else Entry(*_fields(entry))

    def put(self, key: str, entry: Entry) -> None:
        self._entries.pop(key, None)
        self._entries[key] = Entry(*_fields(entry))
        self._latest_failure = max(self._latest_failure, entry.last_failure)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)


def _fields(entry: Entry) -> tuple[int, float, float, int, float]:
    return (
        entry.failures,
        entry.last_failure,
        entry.locked_until,
        entry.pending,
        entry.pending_since,
    )


# SharedTable's file: a header, then slots of
# (tag, failures, pending, last failure, locked until, pending since).
# A key's tag is a keyed 64-bit hash (keyed, so nobody can pick names that collide with a
# victim's); a key lives in one of the _PROBES slots from tag % _SLOTS on.
# The header starts with the latest failure of any key, then the stamp (sharedmem.py,
# renewed at every put()), then a magic and the layout, checked by every process that maps
# the file. The layout's version is also in the file's name, so that processes of a release
# with another layout, running during an upgrade, use a file of their own and never misread.
LAYOUT_VERSION = 2
_LATEST = struct.Struct("<d")
_STAMP_AT = _LATEST.size
_MAGIC = b"regauth-throttle"
_MAGIC_AT = 16
_LAYOUT = struct.Struct("<III")  # version, slot size, slots
_LAYOUT_AT = _MAGIC_AT + len(_MAGIC)
_HEADER_BYTES = 64
_SLOT = struct.Struct("<QIIddd")
_SLOTS = 8192
_PROBES = 16
_FILE_BYTES = _HEADER_BYTES + (_SLOTS + _PROBES) * _SLOT.size  # ~320 KiB
_WORDS_PER_SLOT = _SLOT.size // 8
_REMEMBERED_ABSENT = 4096
_LAST_FAILURE_FIELD, _PENDING_SINCE_FIELD = 3, 5


class LayoutError(Exception):
    """The shared file was written with another layout: it must not be read."""


class SharedTable:
    """Counts shared by every process that maps the same file: one machine's workers.

    Plain reads (the check before an attempt, the "known absent" memo) take no lock; every
    change is a read-modify-write under an exclusive flock of the file, so that concurrent
    reservations and failures in several workers are each counted.
    """

    def __init__(self, path: Path, *, secret: bytes, like: Path | None = None) -> None:
        self._map: mmap.mmap = map_file(path, _FILE_BYTES, like=like)
        # Its own descriptor for flock: a lock belongs to an open file description, and each
        # process opens its own (workers open their tables after the fork).
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self._lock_depth = 0
        self._words = memoryview(self._map)[_HEADER_BYTES:].cast("Q")
        try:
            self._check_layout(path)
        except LayoutError:
            self.close()
            raise
        self._secret = hashlib.blake2b(secret, digest_size=32, person=b"regauth-throttle").digest()
        # Keys seen without an entry while the stamp read `_absent_stamp`: once anyone has
        # failed, every sign-in asks for its keys, nearly always to hear "none". Entries appear
        # only through put(), which changes the stamp; pop() and eviction only remove.
        self._absent: set[str] = set()
        self._absent_stamp = b""

    @staticmethod
    def beside(database: str, *, secret: bytes) -> FailureTable:
        if database == ":memory:":
            return MemoryTable()
        return SharedTable(
            Path(f"{database}-throttle-v{LAYOUT_VERSION}"), secret=secret, like=Path(database)
        )

    def active(self, now: float) -> bool:
        (latest,) = _LATEST.unpack_from(self._map, 0)
        return bool(now - latest <= FORGET_AFTER_SECONDS)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        if self._lock_depth == 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def get(self, key: str) -> Entry | None:
        if self._known_absent(key):
            return None
        tag = self._tag(key)
        slot = self._find(tag)
        if slot is None:
            if len(self._absent) >= _REMEMBERED_ABSENT:
                self._absent.clear()
            self._absent.add(key)
            return None
        found, *fields = _SLOT.unpack_from(self._map, _offset(slot))
        if found != tag:  # another process reused the slot meanwhile
            return None
        failures, pending, last_failure, locked_until, pending_since = fields
        return Entry(failures, last_failure, locked_until, pending, pending_since)

    def put(self, key: str, entry: Entry) -> None:
        tag = self._tag(key)
        slot = self._find(tag)
        if slot is None:
            slot = self._free_slot(tag)
        _SLOT.pack_into(
            self._map,
            _offset(slot),
            tag,
            entry.failures,
            entry.pending,
            entry.last_failure,
            entry.locked_until,
            entry.pending_since,
        )
        (latest,) = _LATEST.unpack_from(self._map, 0)
        if entry.last_failure > latest:
            _LATEST.pack_into(self._map, 0, entry.last_failure)
        renew_stamp(self._map, _STAMP_AT)  # after the slot: the new stamp means it is there

    def pop(self, key: str) -> None:
        if self._known_absent(key):
            return
        slot = self._find(self._tag(key))
        if slot is not None:
            self._words[slot * _WORDS_PER_SLOT] = 0

    def close(self) -> None:
        self._words.release()
        self._map.close()
        os.close(self._lock_fd)

    def _check_layout(self, path: Path) -> None:
        layout = _LAYOUT.pack(LAYOUT_VERSION, _SLOT.size, _SLOTS)
        with self.lock():
            magic = self._map[_MAGIC_AT : _MAGIC_AT + len(_MAGIC)]
            found = self._map[_LAYOUT_AT : _LAYOUT_AT + _LAYOUT.size]
            if magic == bytes(len(_MAGIC)) and not any(self._map[:_HEADER_BYTES]):
                # A new file: the first process to map it writes what it is.
                self._map[_LAYOUT_AT : _LAYOUT_AT + _LAYOUT.size] = layout
                self._map[_MAGIC_AT : _MAGIC_AT + len(_MAGIC)] = _MAGIC
                return
            if magic != _MAGIC or found != layout:
                raise LayoutError(
                    f"{path} was not written by this version of regauth (expected throttle "
                    f"layout {LAYOUT_VERSION}): stop every regauth process, remove it and start again"
                )

    def _tag(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode(), digest_size=8, key=self._secret).digest()
        return int.from_bytes(digest, "little") | 1  # 0 marks a free slot

    def _known_absent(self, key: str) -> bool:
        """Reads the stamp before any lookup that follows, so that a put() racing that lookup
        changes the stamp after it, and the key is looked up again next time."""
        stamp = read_stamp(self._map, _STAMP_AT)
        if stamp != self._absent_stamp:
            self._absent.clear()
            self._absent_stamp = stamp
            return False
        return key in self._absent

    def _window(self, tag: int) -> tuple[int, list[int]]:
        first = tag % _SLOTS
        start = first * _WORDS_PER_SLOT
        return first, self._words[
            start : start + _PROBES * _WORDS_PER_SLOT : _WORDS_PER_SLOT
        ].tolist()

    def _find(self, tag: int) -> int | None:
        """The slot holding `tag`, searched as bytes (mmap.find) rather than slot by slot."""
        first = tag % _SLOTS
        start = _offset(first)
        end = start + _PROBES * _SLOT.size
        needle = tag.to_bytes(8, "little")
        found = self._map.find(needle, start, end)
        while found != -1 and (found - start) % _SLOT.size:  # inside another field: go on
            found = self._map.find(needle, found + 1, end)
        return None if found == -1 else first + (found - start) // _SLOT.size

    def _free_slot(self, tag: int) -> int:
        first, tags = self._window(tag)
        if 0 in tags:
            return first + tags.index(0)
        # The slot active longest ago (an expired one first of all).
        ages = []
        for i in range(_PROBES):
            fields = _SLOT.unpack_from(self._map, _offset(first + i))
            ages.append(max(fields[_LAST_FAILURE_FIELD], fields[_PENDING_SINCE_FIELD]))
        return first + ages.index(min(ages))


def _offset(slot: int) -> int:
    return _HEADER_BYTES + slot * _SLOT.size
