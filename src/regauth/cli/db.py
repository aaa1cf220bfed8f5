"""`regauth db backup` and `db restore`: a consistent, private copy of the SQLite database.

A backup can be made while the service runs and writes. To restore one by hand:
1. stop the service (every `regauth serve`);
2. copy the backup file to [storage] path, owned by the service's user, mode 0600;
3. remove any stale <path>-wal and <path>-shm files beside it (left by a crash, they would be
   replayed onto the restored file and corrupt it);
4. start the service.
`regauth db restore FILE` does steps 2 and 3 after checking FILE (with --force to replace an
existing database).

The signing keys and the HMAC secret (token-hmac.key) live in [keys] dir, not in the database:
back that folder up too, as privately. Restored without the same token-hmac.key, every
personal access token, admin key and second factor fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regauth.cli.output import print_fields
from regauth.cli.runner import EXIT_OK, Subcommands
from regauth.config import Config
from regauth.domain.clock import Clock
from regauth.signing.keys import HMAC_FILE
from regauth.store.sqlite.backup import DatabaseCopy, backup_database, restore_database

RESTORE_HELP = """\
To restore a backup:
  1. stop the service (every `regauth serve`);
  2. copy the backup file to [storage] path, owned by the service's user, mode 0600;
  3. remove any stale <path>-wal and <path>-shm files beside it;
  4. start the service.
`regauth db restore FILE` does steps 2 and 3 after checking FILE (with --force to
replace an existing database).
The signing keys and the HMAC secret are in [keys] dir, not in the database: back that
folder up too. Without the same token-hmac.key every personal access token fails."""


def register(commands: Subcommands) -> None:
    db = commands.add_parser("db", help="back up and restore the SQLite database").add_subparsers(
        dest="action", required=True
    )
    backup = db.add_parser(
        "backup",
        help="copy the database to FILE (mode 0600), safely while the service runs",
        description="Copy [storage] path to FILE with SQLite's online backup API, consistent\n"
        "while the service writes: through a temporary file beside FILE, checked with\n"
        "PRAGMA integrity_check, then renamed into place.",
        epilog=RESTORE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the numbered steps
    )
    backup.add_argument("file", metavar="FILE", type=Path)
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(run=_backup)

    restore = db.add_parser(
        "restore",
        help="put a backup in place of [storage] path (stop the service first)",
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
    restore.set_defaults(run=_restore)


def _backup(config: Config, _clock: Clock, args: argparse.Namespace) -> int:
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
