"""`regauth db backup` and `db restore`: a consistent private copy of the database, put back."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.config import load_config
from regauth.domain.credentials import Credentials
from regauth.runtime import Runtime, open_runtime
from regauth.store.sqlite import backup as backup_module
from tests.cli.conftest import Cli
from tests.support.secrets import remember

# Of the SQLite deployment itself (its file, its copy): the PostgreSQL contract pass skips it.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def alice(cli: Cli) -> str:
    """alice, with a password and one personal access token: its secret."""
    cli.ok("user", "add", "alice", "--password-stdin", stdin=remember("alice-password") + "\n")
    cli.ok("user", "add", "bob")
    argv = ["token", "create", "--user", "alice", "--description", "laptop", "--access", "write"]
    return remember(cli.ok(*argv, "--json").json()["token"])


@pytest.fixture
def private_umask() -> Iterator[None]:
    """The usual umask, under which a plain new file would be world-readable (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def database(cli: Cli) -> Path:
    return Path(cli.env["REGAUTH_STORAGE_PATH"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path, *expected: str) -> list[str]:
    """What is in `folder` besides `expected`: a temporary file left behind shows up here."""
    return sorted(set(os.listdir(folder)) - set(expected))


@pytest.mark.parametrize("how", ["db restore", "copied by hand"])
async def test_a_backup_restores_to_a_database_where_the_same_pat_still_authenticates(
    cli: Cli, alice: str, tmp_path: Path, private_umask: None, how: str
) -> None:
    token_id = cli.ok("token", "list", "--json").json()[0]["id"]
    target = tmp_path / "backups" / "regauth.db"
    target.parent.mkdir()

    result = cli.ok("db", "backup", str(target))

    summary = result.fields()
    assert summary["file"] == str(target.resolve())
    assert summary["bytes"] == str(target.stat().st_size)
    assert (summary["users"], summary["tokens"], summary["integrity"]) == ("2", "1", "ok")
    assert int(summary["tables"]) > 2
    assert summary["mode"] == "0600"
    assert mode(target) == 0o600
    assert "[keys] dir" in result.err and "token-hmac.key" in result.err
    assert alice not in result.out + result.err
    assert leftovers(target.parent, "regauth.db") == []

    # Elsewhere, with the same keys folder, as after losing the machine's disk but not the keys.
    restored = tmp_path / "restored" / "regauth.db"
    restored.parent.mkdir()
    elsewhere = Cli({**cli.env, "REGAUTH_STORAGE_PATH": str(restored)}, cli.clock)
    if how == "db restore":
        result = elsewhere.ok("db", "restore", str(target))
        assert result.fields()["users"] == "2"
        assert "start the service" in result.err
    else:
        shutil.copyfile(target, restored)  # the README's steps: copy, no -wal/-shm, start
    assert [t["id"] for t in elsewhere.ok("token", "list", "--json").json()] == [token_id]
    runtime = open_runtime(load_config(None, elsewhere.env), clock=cli.clock)
    try:
        authenticated = await runtime.authenticator.authenticate(Credentials("alice", alice))
        assert authenticated.principal.token_id == token_id
    finally:
        runtime.close()


def test_a_backup_during_an_open_write_transaction_holds_what_was_committed(
    cli: Cli, alice: str, tmp_path: Path
) -> None:
    target_dir = tmp_path / "backups"
    target_dir.mkdir()
    writer = sqlite3.connect(database(cli), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM tokens")  # not committed: the backup must not see it
        result = cli.ok("db", "backup", str(target_dir / "backup.db"))
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert result.fields()["tokens"] == "1"
    assert leftovers(target_dir, "backup.db") == []


def test_a_backup_that_cannot_read_fails_cleanly_and_leaves_no_file(
    cli: Cli, alice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection in exclusive locking mode (the sqlite3 shell can do this) shuts readers
    # out even under WAL; the backup waits its busy timeout, then gives up.
    monkeypatch.setattr(backup_module, "BUSY_TIMEOUT_SECONDS", 0.1)
    target_dir = tmp_path / "backups"
    target_dir.mkdir()
    holder = sqlite3.connect(database(cli), isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        result = cli("db", "backup", str(target_dir / "backup.db"))
    finally:
        holder.close()
    assert result.code == EXIT_ERROR
    assert (
        result.err == f"regauth: cannot read the database at {database(cli)}: database is locked\n"
    )
    assert leftovers(target_dir) == []


def test_a_corrupt_database_fails_the_backup_check_and_leaves_no_file(
    cli: Cli, alice: str, tmp_path: Path
) -> None:
    page_size = 4096
    with database(cli).open("r+b") as f:
        f.seek(page_size * 2)  # past the schema on page 1: the copy succeeds, the check does not
        f.write(b"\xff" * page_size)
    target_dir = tmp_path / "backups"
    target_dir.mkdir()
    result = cli("db", "backup", str(target_dir / "backup.db"))
    assert result.code == EXIT_ERROR
    assert result.err.startswith(
        f"regauth: the copy of {database(cli)} fails PRAGMA integrity_check: "
    )
    assert leftovers(target_dir) == []


def test_an_existing_file_is_replaced_only_with_force(
    cli: Cli, alice: str, tmp_path: Path, private_umask: None
) -> None:
    target = tmp_path / "backup.db"
    target.write_text("last night's backup")
    target.chmod(0o644)

    refused = cli("db", "backup", str(target))
    assert (refused.code, refused.err) == (
        EXIT_ERROR,
        f"regauth: {target} exists: pass --force to replace it\n",
    )
    assert target.read_text() == "last night's backup"

    cli.ok("db", "backup", "--force", str(target))
    assert mode(target) == 0o600
    with sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True) as copy:
        assert copy.execute("SELECT count(*) FROM users").fetchone() == (2,)


def test_a_wrong_storage_path_is_named_and_nothing_is_created(
    bare_cli: Cli, tmp_path: Path
) -> None:
    cli = bare_cli
    cli.env["REGAUTH_STORAGE_PATH"] = str(tmp_path / "nowhere" / "regauth.db")
    result = cli("db", "backup", str(tmp_path / "backup.db"))
    assert (result.code, result.err) == (
        EXIT_USAGE,
        f"regauth: no regauth database at {tmp_path / 'nowhere' / 'regauth.db'} "
        "(use --config or REGAUTH_CONFIG)\n",
    )
    assert leftovers(tmp_path) == []


def test_a_file_that_is_not_a_regauth_database_is_refused(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text)")
    conn.close()
    cli.env["REGAUTH_STORAGE_PATH"] = str(other)
    result = cli("db", "backup", str(tmp_path / "backup.db"))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        f"regauth: {other} is not a regauth database (it has no users table)\n",
    )
    assert not (tmp_path / "backup.db").exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("backups", "{target} is a directory: name the backup file"),
        ("missing/backup.db", "no folder {parent}: create it first"),
        ("plain-file/backup.db", "{parent} is not a folder"),
    ],
)
def test_a_target_that_cannot_be_written_is_one_clear_line(
    cli: Cli, alice: str, tmp_path: Path, target: str, message: str
) -> None:
    (tmp_path / "backups").mkdir()
    (tmp_path / "plain-file").write_text("")
    path = tmp_path / target
    result = cli("db", "backup", "--force", str(path))
    assert result.code == EXIT_ERROR
    assert result.err == "regauth: " + message.format(target=path, parent=path.parent) + "\n"
    assert leftovers(tmp_path / "backups") == []


def test_a_folder_it_may_not_write_is_one_clear_line(cli: Cli, alice: str, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        folder = Path("/sys")  # sysfs: no new files, not even for root (who may write any mode)
    else:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
    result = cli("db", "backup", str(folder / "regauth-backup.db"))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        f"regauth: cannot write {folder}: Permission denied\n",
    )
    assert not (folder / "regauth-backup.db").exists()


def test_the_database_itself_is_never_the_target(cli: Cli, alice: str) -> None:
    result = cli("db", "backup", "--force", str(database(cli)))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        f"regauth: {database(cli)} is the database itself: choose another file\n",
    )


@pytest.fixture
def backup(cli: Cli, alice: str, tmp_path: Path) -> Path:
    path = tmp_path / "backup.db"
    cli.ok("db", "backup", str(path))
    return path


def test_restore_refuses_an_existing_database_without_force(cli: Cli, backup: Path) -> None:
    cli.ok("user", "add", "carol")  # after the backup: a restore would lose her
    result = cli("db", "restore", str(backup))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        f"regauth: a database exists at {database(cli)}: stop the service, then pass --force "
        "to replace it\n",
    )
    assert "carol" in cli.ok("user", "list").out


def test_restore_refuses_a_database_in_use(cli: Cli, backup: Path, runtime: Runtime) -> None:
    # `runtime` holds the database open, as a running `regauth serve` does.
    result = cli("db", "restore", "--force", str(backup))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        f"regauth: the database at {database(cli)} is in use: stop the service first\n",
    )


def test_restore_with_force_replaces_the_database_and_its_stale_wal(cli: Cli, backup: Path) -> None:
    cli.ok("user", "add", "carol")
    before = database(cli).stat()
    # What a crashed server leaves beside the database; replayed onto the restored file, it
    # would corrupt it.
    for suffix in ("-wal", "-shm"):
        Path(f"{database(cli)}{suffix}").write_bytes(b"\x37" * 4096)

    cli.ok("db", "restore", "--force", str(backup))

    assert not Path(f"{database(cli)}-wal").exists()
    assert not Path(f"{database(cli)}-shm").exists()
    after = database(cli).stat()
    assert (stat.S_IMODE(after.st_mode), after.st_uid) == (
        stat.S_IMODE(before.st_mode),
        before.st_uid,
    )
    names = [u["name"] for u in cli.ok("user", "list", "--json").json()]
    assert sorted(names) == ["alice", "bob"]


def test_restore_removes_a_crashed_databases_wal_that_would_be_replayed_onto_it(
    cli: Cli, backup: Path
) -> None:
    # A crash leaves committed pages in the -wal; here, ones where alice's token is deleted.
    crashed = sqlite3.connect(database(cli), isolation_level=None)
    crashed.execute("PRAGMA wal_autocheckpoint = 0")
    crashed.execute("DELETE FROM tokens")
    stale_wal = Path(f"{database(cli)}-wal").read_bytes()
    crashed.close()
    database(cli).unlink()  # the damaged database is thrown away; its -wal is not
    Path(f"{database(cli)}-wal").write_bytes(stale_wal)

    cli.ok("db", "restore", str(backup))  # nothing to replace: no --force needed

    assert not Path(f"{database(cli)}-wal").exists()
    assert len(cli.ok("token", "list", "--json").json()) == 1


def test_restore_checks_the_backup_first(cli: Cli, backup: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(backup.read_bytes())
    data[4096 * 2 : 4096 * 3] = b"\xff" * 4096
    corrupt.write_bytes(bytes(data))
    cli.ok("user", "add", "carol")

    result = cli("db", "restore", "--force", str(corrupt))

    assert result.code == EXIT_ERROR
    assert result.err.startswith(f"regauth: {corrupt} fails PRAGMA integrity_check: ")
    assert result.err.endswith("; nothing was restored\n")
    assert "carol" in cli.ok("user", "list").out


def test_restore_with_force_replaces_a_file_that_is_not_a_database(cli: Cli, backup: Path) -> None:
    database(cli).write_bytes(b"\x00" * 4096)  # what a bad disk or a wrong `cp` leaves
    cli.ok("db", "restore", "--force", str(backup))
    assert len(cli.ok("token", "list", "--json").json()) == 1


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        ("directory", "[storage] path {database} is a directory"),
        ("itself", "{database} is the database itself: nothing to restore"),
    ],
)
def test_restore_refuses_a_target_it_cannot_replace(
    cli: Cli, backup: Path, arrange: str, message: str
) -> None:
    if arrange == "directory":
        cli.env["REGAUTH_STORAGE_PATH"] = str(backup.parent)
        restored = backup
    else:
        restored = database(cli)
    result = cli("db", "restore", "--force", str(restored))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        "regauth: " + message.format(database=cli.env["REGAUTH_STORAGE_PATH"]) + "\n",
    )


def test_restore_of_a_missing_backup_names_it(bare_cli: Cli, tmp_path: Path) -> None:
    cli = bare_cli  # restore is how a database may come to be there
    result = cli("db", "restore", str(tmp_path / "nope.db"))
    assert (result.code, result.err) == (
        EXIT_ERROR,
        f"regauth: no backup at {tmp_path / 'nope.db'}\n",
    )
    assert not database(cli).exists()


def test_the_help_says_how_to_restore(cli: Cli) -> None:
    text = cli("db", "backup", "--help").out
    assert "stop the service" in text
    assert "-wal" in text and "-shm" in text
    assert "[keys] dir" in text
