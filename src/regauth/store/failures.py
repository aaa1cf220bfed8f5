"""The tables that hold counts for the sign-in throttle (services/throttle.py) and the
revocation limit (services/rate_limit.py), which decide.

An entry holds a key's failures, its lock-out and the attempts reserved before their check.
`MemoryTable` holds them in one process; `SharedTable` in a file beside the database that
every worker maps, so that N workers give an attacker the allowance once, not
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

from regauth.store.sharedmem import map_file, read_stamp, renew_stamp

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
    # True when reads and writes go to a database (PostgreSQL): callers on the event loop
    # run them in the store's threads, except where active() says there is nothing to do.
    remote: bool

    def active(self, now: float) -> bool:
        """False when no key can have a failure that still counts: callers may skip all work."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held around every read-modify-write; re-entrant within a process."""
        ...

    def cached(self, key: str) -> bool:
        """get(key) answers from memory, with no database call (always, but on PostgreSQL)."""
        ...

    def version(self) -> object | None:
        """A value that changes at every put(): while it stays, no key's wait can have grown
        (pop() and time only shorten them). None where it is not tracked (PostgreSQL)."""
        ...

    def get(self, key: str) -> Entry | None: ...

    def put(self, key: str, entry: Entry) -> None: ...

    def pop(self, key: str) -> None: ...


class MemoryTable:
    """One process's counts, least recently changed first out."""

    remote = False

    def __init__(self, max_keys: int = _MAX_KEYS) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._max = max_keys
        self._latest_failure = float("-inf")
        self._puts = 0

    def active(self, now: float) -> bool:
        return bool(now - self._latest_failure <= FORGET_AFTER_SECONDS)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # one thread (the event loop) changes it

    def cached(self, key: str) -> bool:
        return True

    def version(self) -> object | None:
        return self._puts

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        # A copy, as SharedTable's are: a caller changes it and puts it back.
        return None if entry is None else Entry(*_fields(entry))

    def put(self, key: str, entry: Entry) -> None:
        self._entries.pop(key, None)
        self._entries[key] = Entry(*_fields(entry))
        self._puts += 1
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
    remote = False
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
    def beside(database: str, *, secret: bytes, name: str = "throttle") -> FailureTable:
        """`<database>-<name>-v<layout>`: the sign-in throttle's counts ("throttle"), or another
        count's (the revocation limit's, "revocations") in a file of its own."""
        if database == ":memory:":
            return MemoryTable()
        return SharedTable(
            Path(f"{database}-{name}-v{LAYOUT_VERSION}"), secret=secret, like=Path(database)
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

    def cached(self, key: str) -> bool:
        return True  # a mapped file: reading it is a memory read

    def version(self) -> object | None:
        return read_stamp(self._map, _STAMP_AT)

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
