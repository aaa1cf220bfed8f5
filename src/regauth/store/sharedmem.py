"""Small files beside the database that every regauth process on the machine maps into memory:
the change stamp (store/changes.py) and the count tables (failures.py: the sign-in throttle's,
the revocation limit's).

All tell readers "something was written" with a stamp: 8 fresh random bytes written after
the data. A reader that compares the bytes with the ones it last saw knows whether to look
again. Random, not a counter: two writers racing on a read-modify-write could bring a counter
back to a value a reader already holds, while a new random value differs from every earlier
one (2**-64 odds).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

STAMP_BYTES = 8
Buffer = mmap.mmap | bytearray


def read_stamp(buffer: Buffer, at: int = 0) -> bytes:
    return bytes(buffer[at : at + STAMP_BYTES])


def renew_stamp(buffer: Buffer, at: int = 0) -> None:
    """Call after the write it announces: a reader that sees the new stamp sees the write."""
    buffer[at : at + STAMP_BYTES] = os.urandom(STAMP_BYTES)


def map_file(path: Path, size: int, *, like: Path | None = None) -> mmap.mmap:
    """Map `path` read-write, created (zero-filled) if missing or short, with the mode and
    owner of `like`, the database, as SQLite does for its -wal and -shm files: the CLI run as
    root must not leave a file the service's own user cannot open."""
    owner = like.stat() if like is not None and like.exists() else None
    mode = owner.st_mode & 0o666 if owner is not None else 0o600
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, owner.st_uid, owner.st_gid)
        if os.fstat(fd).st_size < size:
            # Racing creators both extend to the same size; extending never clears data.
            os.ftruncate(fd, size)
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)  # the mapping keeps the file open
