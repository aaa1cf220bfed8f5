"""`regauth db`: bring the schema up to date, copy a SQLite deployment into PostgreSQL, and back
up and restore the database.

`db migrate` is what a deploy step runs once when the servers run with `[storage] migrate =
false` (they then refuse a schema older than their own).

`db copy --to postgresql://...` moves a SQLite deployment ([storage] path) to PostgreSQL: every
row, ids included, read from one snapshot and written in one transaction, into a database that
holds no rows. Changes the service makes after the snapshot are not copied, so stop it (or its
writes) first; then set [storage] url to the target and start it with the same [keys] dir.

SQLite ([storage] path): a backup can be made while the service runs and writes. To restore one
by hand:
1. stop the service (every `regauth serve`);
2. copy the backup file to [storage] path, owned by the service's user, mode 0600;
3. remove any stale <path>-wal and <path>-shm files beside it (left by a crash, they would be
   replayed onto the restored file and corrupt it);
4. start the service.
`regauth db restore FILE` does steps 2 and 3 after checking FILE (with --force to replace an
existing database).

PostgreSQL ([storage] url): back up with PostgreSQL's own tools, which regauth does not wrap.
`pg_dump --format=custom` reads one snapshot, so it is consistent while the service runs and
writes; `pg_restore --clean --if-exists --single-transaction --no-owner` puts it into a new,
empty database (all of it or nothing; the objects owned by the role that restores, whatever
the old one was called), which [storage] url then names. tests/postgres/
test_backup_restore.py runs exactly these commands.
https://www.postgresql.org/docs/current/backup-dump.html
https://www.postgresql.org/docs/current/app-pgdump.html
https://www.postgresql.org/docs/current/app-pgrestore.html

Either way, the signing keys and the HMAC secret (token-hmac.key) live in [keys] dir, not in
the database: back that folder up too, as privately. Restored without the same token-hmac.key,
every personal access token, admin key and second factor fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regauth.cli.output import print_fields
from regauth.cli.runner import EXIT_OK, NO_DATA, USES_DATABASE, Subcommands
from regauth.config import Config
from regauth.domain.clock import Clock
from regauth.errors import BackupError, ConfigError
from regauth.signing.keys import HMAC_FILE
from regauth.store import open_store, postgres_url
from regauth.store.sqlite.backup import (
    DatabaseCopy,
    backup_database,
    restore_database,
)

KEYS_NOTE = """\
The signing keys and the HMAC secret are in [keys] dir, not in the database: back that
folder up too. Without the same token-hmac.key every personal access token fails."""

RESTORE_HELP = f"""\
SQLite ([storage] path). To restore a backup:
  1. stop the service (every `regauth serve`);
  2. copy the backup file to [storage] path, owned by the service's user, mode 0600;
  3. remove any stale <path>-wal and <path>-shm files beside it;
  4. start the service.
`regauth db restore FILE` does steps 2 and 3 after checking FILE (with --force to
replace an existing database).

PostgreSQL ([storage] url): use PostgreSQL's tools (consistent while the service runs):
  pg_dump --format=custom --file=regauth.dump --dbname=postgresql://USER@HOST:PORT/DB
and restore into a new, empty database, then set [storage] url to it:
  pg_restore --clean --if-exists --single-transaction --no-owner \\
      --dbname=postgresql://USER@HOST:PORT/NEWDB regauth.dump
The password from PGPASSWORD or ~/.pgpass, not in the URL (others can read the command line).

{KEYS_NOTE}"""

COPY_HELP = f"""\
The source is read in one snapshot, so the service may keep running; but what it writes
after the snapshot is not copied. To switch without losing a write:
  1. stop the service (or every write to it);
  2. regauth db copy --to postgresql://USER@HOST:PORT/DB --to-password-file FILE;
  3. set [storage] url (and password_file) to the target, keep the same [keys] dir;
  4. start the service.
The target must hold no rows: a new database (it is migrated first) or one that
`regauth db migrate` brought up to date. A failed copy leaves it empty, to copy into again.
The password: --to-password-file, PGPASSWORD or ~/.pgpass, rather than in the URL (others
can read the command line). It is never printed.

{KEYS_NOTE}"""

_PG_BACKUP = (
    "[storage] url is PostgreSQL: back it up with pg_dump --format=custom and restore it with"
    " pg_restore --clean --if-exists into an empty database (see `regauth db backup --help`)"
)


def register(commands: Subcommands) -> None:
    db = commands.add_parser(
        "db",
        help="migrate the schema, copy SQLite into PostgreSQL, back up and restore SQLite",
    ).add_subparsers(dest="action", required=True)
    migrate = db.add_parser(
        "migrate",
        help="bring the configured database's schema up to date",
        description="Bring the schema of the configured database (SQLite or PostgreSQL) up to\n"
        "this regauth's version; what a deploy step runs once when the servers have\n"
        "[storage] migrate = false (they refuse an older schema).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.set_defaults(run=_migrate, data=USES_DATABASE)

    copy = db.add_parser(
        "copy",
        help="copy the SQLite database into an empty PostgreSQL database",
        description="Copy every row of [storage] path (SQLite), ids included, into the\n"
        "PostgreSQL database at --to: one snapshot of the source, one transaction on the\n"
        "target (all of it or nothing). Prints the rows copied per table.",
        epilog=COPY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", type=_postgres_url, help="postgresql://USER@HOST/DB"
    )
    copy.add_argument(
        "--to-password-file",
        metavar="FILE",
        type=Path,
        help="the target's password, from FILE (default: PGPASSWORD or ~/.pgpass)",
    )
    copy.set_defaults(run=_copy, data=USES_DATABASE)

    backup = db.add_parser(
        "backup",
        help="copy the SQLite database to FILE (mode 0600), safely while the service runs",
        description="Copy [storage] path to FILE with SQLite's online backup API, consistent\n"
        "while the service writes: through a temporary file beside FILE, checked with\n"
        "PRAGMA integrity_check, then renamed into place. For PostgreSQL, see below.",
        epilog=RESTORE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the numbered steps
    )
    backup.add_argument("file", metavar="FILE", type=Path)
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(run=_backup, data=USES_DATABASE)

    restore = db.add_parser(
        "restore",
        help="put a SQLite backup in place of [storage] path (stop the service first)",
        description="Check FILE with PRAGMA integrity_check, then put a copy of it at\n"
        "[storage] path and remove the stale -wal and -shm files beside it. An existing\n"
        "database is replaced only with --force, and not while a process has it open.",
        epilog=RESTORE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    restore.add_argument("file", metavar="FILE", type=Path)
    restore.add_argument(
        "--force", action="store_true", help="replace the database at [storage] path"
    )
    restore.set_defaults(run=_restore, data=NO_DATA)  # it puts the database there


def _postgres_url(text: str) -> str:
    # The value itself is never echoed: it may hold a password.
    if not text.startswith(("postgresql://", "postgres://")):
        raise argparse.ArgumentTypeError("expected a URL postgresql://USER@HOST:PORT/DB")
    return text


def _migrate(config: Config, _clock: Clock, _args: argparse.Namespace) -> int:
    # psycopg is imported by the commands that use it, not by every CLI run.
    from regauth.store.copy import schema_version
    from regauth.store.describe import describe_storage

    storage = config.storage
    before = schema_version(storage, postgres_url(storage) if storage.url else None)
    open_store(storage, migrate=True).close()
    where = describe_storage(storage)
    if before.current == before.required:
        print(f"already at {before.required} ({where})")
    else:
        print(f"schema version {before.current} -> {before.required} ({where})")
    return EXIT_OK


def _copy(config: Config, _clock: Clock, args: argparse.Namespace) -> int:
    from regauth.store.copy import copy_to_postgres

    password = None
    if args.to_password_file is not None:
        try:
            password = args.to_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"--to-password-file: cannot read {args.to_password_file}: {exc.strerror}"
            ) from None
    result = copy_to_postgres(Path(config.storage.path), args.to, password=password)
    schema = (
        f"{result.schema_before} -> {result.schema}"
        if result.schema_before != result.schema
        else str(result.schema)
    )
    print_fields(
        {"source": str(result.source), "target": result.target, "schema": schema, **result.rows}
    )
    print(
        "# copied one snapshot of the source: what the service wrote after it is not in the\n"
        "# target. Next: set [storage] url to the target and start the service with the same\n"
        f"# [keys] dir {Path(config.keys.dir).resolve()} (its {HMAC_FILE}).",
        file=sys.stderr,
    )
    return EXIT_OK


def _backup(config: Config, _clock: Clock, args: argparse.Namespace) -> int:
    if config.storage.url:
        raise BackupError(_PG_BACKUP)
    copy = backup_database(Path(config.storage.path), args.file, force=args.force)
    _print(copy)
    print(
        f"# the signing keys and the HMAC secret ({HMAC_FILE}) are in [keys] dir "
        f"{Path(config.keys.dir).resolve()}, not in this file: back that folder up too.\n"
        "# Restored without the same keys, every personal access token fails.",
        file=sys.stderr,
    )
    return EXIT_OK


def _restore(config: Config, _clock: Clock, args: argparse.Namespace) -> int:
    if config.storage.url:
        raise BackupError(_PG_BACKUP)
    copy = restore_database(args.file, Path(config.storage.path), force=args.force)
    _print(copy)
    print(
        f"# restored; now start the service. It needs the [keys] dir "
        f"{Path(config.keys.dir).resolve()} the backup was made with (its {HMAC_FILE}).",
        file=sys.stderr,
    )
    return EXIT_OK


def _print(copy: DatabaseCopy) -> None:
    print_fields(
        {
            "file": str(copy.path.resolve()),
            "bytes": copy.size,
            "mode": f"{copy.mode:04o}",
            "tables": copy.tables,
            "users": copy.users,
            "tokens": copy.tokens,
            "integrity": "ok",
        }
    )
