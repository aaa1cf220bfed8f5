"""Copies of the SQLite database made with SQLite's online backup API, and putting one back.

A copy is made in one read transaction on a read-only connection: it is consistent while the
service runs and writes (under WAL a reader never waits for a writer), and a wrong path never
becomes a new empty database. It is written to a temporary file beside the target, checked
with `PRAGMA integrity_check`, and renamed into place, so the target is either what it was or
a whole, checked copy.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from regauth.errors import BackupError, Conflict, NotFound

# Under WAL only a connection in exclusive locking mode (the sqlite3 shell can set it) keeps
# a reader out; past this a backup gives up rather than hang.
BUSY_TIMEOUT_SECONDS = 10.0
# What SQLite keeps beside a WAL database. A stale pair left by a crash, replayed onto another
# database file, would corrupt it: SQLite cannot tell whose WAL it is.
WAL_SUFFIXES = ("-wal", "-shm")
# The file holds password hashes and encrypted second-factor secrets.
PRIVATE_MODE = 0o600
REQUIRED_TABLES = ("users", "tokens")


@dataclass(frozen=True)
class DatabaseCopy:
    """What was written: where, how big, and how many rows (never a row's content)."""

    path: Path
    size: int
    mode: int
    tables: int
    users: int
    tokens: int


def backup_database(database: Path, target: Path, *, force: bool) -> DatabaseCopy:
    """Copy `database` to `target` (mode 0600); an existing `target` is replaced only if `force`."""
    if not database.is_file():
        raise NotFound(f"no database at {database}: check [storage] path or --config")
    if target.is_dir():
        raise BackupError(f"{target} is a directory: name the backup file")
    if _is_database(target, database):
        raise BackupError(f"{target} is the database itself: choose another file")
    if target.exists() and not force:
        raise Conflict(f"{target} exists: pass --force to replace it")
    with _read_only(database, "the database") as source:
        return _write_copy(
            source, target, what=f"the copy of {database}", replace=force, mode=PRIVATE_MODE
        )


def restore_database(backup: Path, database: Path, *, force: bool) -> DatabaseCopy:
    """Put the checked `backup` in place of `database` and remove its stale -wal and -shm.

    An existing database is replaced only with `force`, and not while any process has it open
    (as far as can be seen: see `_refuse_if_in_use`). The restored file keeps the replaced
    one's mode and owner, so the service's user can still open it; a new one is 0600.
    """
    if not backup.is_file():
        raise NotFound(f"no backup at {backup}")
    if database.is_dir():
        raise BackupError(f"[storage] path {database} is a directory")
    if _is_database(backup, database):
        raise BackupError(f"{backup} is the database itself: nothing to restore")
    with _read_only(backup, "the backup") as source:
        # Before anything is touched: a bad backup must not cost the database it would replace.
        problem = _integrity_problem(source)
        if problem is not None:
            raise BackupError(
                f"{backup} fails PRAGMA integrity_check: {problem}; nothing was restored"
            )
        mode, owner = PRIVATE_MODE, None
        if database.exists():
            if not force:
                raise Conflict(
                    f"a database exists at {database}: stop the service, then pass --force "
                    "to replace it"
                )
            _refuse_if_in_use(database)
            existing = database.stat()
            mode, owner = stat.S_IMODE(existing.st_mode), (existing.st_uid, existing.st_gid)
        return _write_copy(
            source,
            database,
            what=f"the copy of {backup}",
            replace=True,
            mode=mode,
            owner=owner,
            stale=tuple(Path(f"{database}{suffix}") for suffix in WAL_SUFFIXES),
        )


@contextmanager
def _read_only(path: Path, what: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection (`mode=ro`: it cannot create or change the file) on a regauth
    database; SQLite's errors become one line naming the file."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(
            sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        ) as conn:
            _require_schema(conn, path)
            yield conn
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read {what} at {path}: {exc}") from None


def _require_schema(conn: sqlite3.Connection, path: Path) -> None:
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in REQUIRED_TABLES:
        if table not in names:
            raise BackupError(f"{path} is not a regauth database (it has no {table} table)")


def _integrity_problem(conn: sqlite3.Connection) -> str | None:
    """None if the database passes `PRAGMA integrity_check`, else the first problem it names."""
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:  # damaged beyond listing its problems
        return str(exc)
    return None if rows == ["ok"] else rows[0]


def _refuse_if_in_use(database: Path) -> None:
    """Refuse while any connection has `database` open.

    Once a connection has read a WAL database (the service's do as they start) it holds a
    shared lock on the file until it closes, idle or not, so an exclusive lock is refused while
    a service, a CLI command or a backup has it open. A service started after this check is
    not seen: stop it first.
    """
    try:
        with closing(sqlite3.connect(database, timeout=0, isolation_level=None)) as conn:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        code = exc.sqlite_errorcode & 0xFF  # the primary code of an extended one
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise Conflict(
                f"the database at {database} is in use: stop the service first"
            ) from None
        if code not in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            raise BackupError(f"cannot open the database at {database}: {exc}") from None
        # Damaged past opening, which is when a restore is wanted: nothing can be using it
        # as a database, and --force replaces it.


def _write_copy(
    source: sqlite3.Connection,
    target: Path,
    *,
    what: str,
    replace: bool,
    mode: int,
    owner: tuple[int, int] | None = None,
    stale: tuple[Path, ...] = (),
) -> DatabaseCopy:
    """Copy `source` to a temporary file beside `target`, check it, remove `stale`, rename."""
    folder = target.parent
    if not folder.is_dir():
        if folder.exists():
            raise BackupError(f"{folder} is not a folder")
        raise BackupError(f"no folder {folder}: create it first")
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise BackupError(f"cannot write {folder}: {exc.strerror}") from None
    temporary = Path(name)
    try:
        try:
            os.fchmod(fd, mode)
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
        tables, users, tokens = _copy_into(source, temporary, what)
        _fsync(temporary)
        for path in stale:
            path.unlink(missing_ok=True)
        # Checked again at the last moment: the first check only spared the copy's work.
        if not replace and target.exists():
            raise Conflict(f"{target} exists: pass --force to replace it")
        os.replace(temporary, target)
        _fsync(folder)  # the rename itself survives a power cut
        size = target.stat().st_size
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        # Only there if something failed: the temporary file and what SQLite made beside it.
        for leftover in (
            temporary,
            *(Path(f"{temporary}{s}") for s in ("-journal", "-wal", "-shm")),
        ):
            leftover.unlink(missing_ok=True)
    return DatabaseCopy(target, size, mode, tables, users, tokens)


def _copy_into(source: sqlite3.Connection, temporary: Path, what: str) -> tuple[int, int, int]:
    """The online backup into `temporary`, checked; the count of tables, users and tokens."""
    try:
        with closing(sqlite3.connect(temporary, isolation_level=None)) as copy:
            # All pages in one step, so one read transaction: a consistent snapshot that a
            # writer's commit cannot restart.
            source.backup(copy)
            # A copy of a WAL database is a WAL database; in rollback-journal mode it is one
            # self-contained file that opens read-only anywhere. The service turns WAL back on.
            copy.execute("PRAGMA journal_mode = DELETE")
            problem = _integrity_problem(copy)
            if problem is not None:
                raise BackupError(f"{what} fails PRAGMA integrity_check: {problem}")
            tables = copy.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
            users = copy.execute("SELECT count(*) FROM users").fetchone()[0]
            tokens = copy.execute("SELECT count(*) FROM tokens").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {what}: {exc}") from None
    return int(tables), int(users), int(tokens)


def _is_database(path: Path, database: Path) -> bool:
    """Whether `path` is `database` or one of the files SQLite keeps beside it."""
    own = database.resolve()
    if path.resolve() in {own, *(Path(f"{own}{suffix}") for suffix in WAL_SUFFIXES)}:
        return True
    return path.exists() and database.exists() and os.path.samefile(path, database)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
