"""Failure throttling: a few free failures per key, then a doubling lock-out, reset by success.

The counts live in a table: `MemoryTable` in one process, or `SharedTable`, a file beside the
database that every worker maps, so that N workers give an attacker the allowance once, not
N times. Both are bounded, so an attacker rotating usernames or addresses cannot grow memory;
when full, the entries that failed longest ago make room.
"""

from __future__ import annotations

import hashlib
import mmap
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from regauth.clock import Clock
from regauth.sharedmem import map_file, read_stamp, renew_stamp

# Keys forgotten after this long without a failure.
FORGET_AFTER_SECONDS = 3600
_MAX_KEYS = 100_000


@dataclass(slots=True)
class Entry:
    failures: int
    last_failure: float
    locked_until: float


class FailureTable(Protocol):
    def active(self, now: float) -> bool:
        """False when no key can have an entry that still counts: callers may skip all work."""
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
        self._table = table if table is not None else MemoryTable()

    def __bool__(self) -> bool:
        """False while no key has failed lately: callers may skip building keys (the hot path)."""
        return self._table.active(self._clock())

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        entry = self._table.get(key)
        if entry is None:
            return 0
        now = self._clock()
        if now - entry.last_failure > FORGET_AFTER_SECONDS:
            self._table.pop(key)
            return 0
        return max(0, int(entry.locked_until - now + 0.999))

    def failure(self, key: str) -> None:
        now = self._clock()
        entry = self._table.get(key)
        if entry is None or now - entry.last_failure > FORGET_AFTER_SECONDS:
            entry = Entry(0, now, 0.0)
        entry.failures += 1
        entry.last_failure = now
        # The free_failures-th failure locks for 1 s, each further one for twice as long.
        over = entry.failures - self._free
        if over >= 0:
            entry.locked_until = now + min(self._max, 2 ** min(over, 30))
        self._table.put(key, entry)

    def success(self, key: str) -> None:
        self._table.pop(key)


class MemoryTable:
    """One process's counts, least recently failed first out."""

    def __init__(self, max_keys: int = _MAX_KEYS) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._max = max_keys

    def active(self, now: float) -> bool:
        return bool(self._entries)

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def put(self, key: str, entry: Entry) -> None:
        self._entries.pop(key, None)
        self._entries[key] = entry
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)


# SharedTable's file: a header, then slots of (tag, failures, -, last failure, locked until).
# A key's tag is a keyed 64-bit hash (keyed, so nobody can pick names that collide with a
# victim's); a key lives in one of the _PROBES slots from tag % _SLOTS on.
_HEADER = struct.Struct("<d")  # the latest failure of any key
_HEADER_BYTES = 64
_SLOT = struct.Struct("<QIIdd")
_SLOTS = 8192
_PROBES = 16
_FILE_BYTES = _HEADER_BYTES + (_SLOTS + _PROBES) * _SLOT.size  # ~256 KiB
_WORDS_PER_SLOT = _SLOT.size // 8
_REMEMBERED_ABSENT = 4096
# In the header after the latest failure: a stamp (sharedmem.py), renewed at every put().
_STAMP_AT = _HEADER.size


class SharedTable:
    """Counts shared by every process that maps the same file: one machine's workers.

    Writers do not lock: two workers recording a failure of the same key at the same instant
    may count it once, which only errs by one try. A full window evicts the slot that failed
    longest ago, so at most _SLOTS keys are remembered at once.
    """

    def __init__(self, path: Path, *, secret: bytes, like: Path | None = None) -> None:
        self._map: mmap.mmap = map_file(path, _FILE_BYTES, like=like)
        self._words = memoryview(self._map)[_HEADER_BYTES:].cast("Q")
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
        return SharedTable(Path(f"{database}-throttle"), secret=secret, like=Path(database))

    def active(self, now: float) -> bool:
        (latest,) = _HEADER.unpack_from(self._map, 0)
        return bool(now - latest <= FORGET_AFTER_SECONDS)

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
        found, failures, _, last_failure, locked_until = _SLOT.unpack_from(self._map, _offset(slot))
        if found != tag:  # another process reused the slot meanwhile
            return None
        return Entry(failures, last_failure, locked_until)

    def put(self, key: str, entry: Entry) -> None:
        tag = self._tag(key)
        slot = self._find(tag)
        if slot is None:
            slot = self._free_slot(tag)
        _SLOT.pack_into(
            self._map, _offset(slot), tag, entry.failures, 0, entry.last_failure, entry.locked_until
        )
        (latest,) = _HEADER.unpack_from(self._map, 0)
        if entry.last_failure > latest:
            _HEADER.pack_into(self._map, 0, entry.last_failure)
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
        # The slot whose last failure is oldest (an expired one first of all).
        ages = [_SLOT.unpack_from(self._map, _offset(first + i))[3] for i in range(_PROBES)]
        return first + ages.index(min(ages))


def _offset(slot: int) -> int:
    return _HEADER_BYTES + slot * _SLOT.size
