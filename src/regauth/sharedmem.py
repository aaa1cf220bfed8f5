"""Small files beside the database that every regauth process on the machine maps into memory:
the change stamp (store/changes.py) and the sign-in failure table (throttle.py)."""

from __future__ import annotations

import mmap
import os
from pathlib import Path


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
