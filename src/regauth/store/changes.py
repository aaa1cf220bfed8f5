"""The change signal: how every process learns, at the cost of a memory read, that data changed.

Each regauth process keeps the rows the /token hot path reads in a per-process cache. Asking
SQLite whether the database changed (`PRAGMA data_version`) opens a read transaction: two
`fcntl` lock calls and the WAL-index checks, ~30 µs per request inside the running server
(more than all of the policy work). Instead, every regauth writer stamps a small shared file
beside the database with a fresh random stamp right after each commit (sharedmem.py); readers
compare the mapped bytes with the stamp they last saw.

A second stamp is renewed after each commit that announces nothing (what no cache holds:
the last-used columns, the audit log): `PRAGMA data_version`, the backstop for writes made
behind regauth's back, moves for those too, and must not be taken for such a write.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from regauth.store.sharedmem import STAMP_BYTES, Buffer, map_file, read_stamp, renew_stamp

_QUIET_AT = STAMP_BYTES
_FILE_BYTES = 2 * STAMP_BYTES


class ChangeSignal:
    """`stamp()` changes after every commit made through regauth, in any process."""

    def __init__(self, path: Path | None, *, like: Path | None = None) -> None:
        """Map `path` (created if missing, with the mode and owner of `like`, the database,
        as SQLite does for its -wal and -shm files: the CLI run as root must not leave a file
        the service's own user cannot open). None: an in-memory database, one connection,
        so nobody else can change it."""
        self._map: Buffer
        if path is None:
            self._map = bytearray(_FILE_BYTES)
            return
        self._map = map_file(path, _FILE_BYTES, like=like)

    @staticmethod
    def beside(database: str) -> ChangeSignal:
        if database == ":memory:":
            return ChangeSignal(None)
        return ChangeSignal(Path(f"{database}-changes"), like=Path(database))

    def stamp(self) -> bytes:
        return read_stamp(self._map)

    def announce(self) -> None:
        """Call after a commit: every reader's next stamp() differs from what it saw before."""
        renew_stamp(self._map)

    def quiet_stamp(self) -> bytes:
        return read_stamp(self._map, _QUIET_AT)

    def committed_quietly(self) -> None:
        """Call after a commit that announces nothing (no cache holds what it wrote)."""
        renew_stamp(self._map, _QUIET_AT)

    def close(self) -> None:
        if isinstance(self._map, mmap.mmap):
            self._map.close()
