"""The data-folder trap: a command run where the configured database or keys are not (another
directory, with the relative defaults) refuses to run instead of making new, empty ones; only
`serve` and `init` create them. `-v` says which data a command uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from regauth.cli import EXIT_USAGE
from regauth.config import load_config
from regauth.store.describe import describe_storage
from tests.cli.conftest import Cli
from tests.support.clock import FakeClock

ELSEWHERE = "(use --config or REGAUTH_CONFIG)"


@pytest.fixture
def fresh(tmp_path: Path, clock: FakeClock) -> Iterator[Cli]:
    """The CLI in an empty directory with the built-in (relative) defaults."""
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield Cli({}, clock)
    finally:
        os.chdir(before)


@pytest.mark.parametrize(
    "argv",
    [
        ["user", "list"],
        ["keys", "export", "--format", "pem"],
        ["registry-config"],
        ["token", "list", "--user", "alice"],
        ["audit", "list"],
        ["db", "backup", "copy.db"],
    ],
)
def test_a_command_elsewhere_refuses_and_creates_nothing(
    fresh: Cli, tmp_path: Path, argv: list[str]
) -> None:
    result = fresh(*argv)
    assert result.code == EXIT_USAGE
    assert result.err == (
        f"regauth: no regauth database at {tmp_path / 'data' / 'regauth.db'} {ELSEWHERE}\n"
    )
    assert result.out == ""
    assert list(tmp_path.iterdir()) == []


def test_init_creates_the_data_and_then_commands_work(fresh: Cli, tmp_path: Path) -> None:
    made = fresh.ok("init")
    assert f"created database SQLite {tmp_path / 'data' / 'regauth.db'}" in made.out
    assert (tmp_path / "data" / "keys" / "signing-key.pem").is_file()
    assert fresh.ok("user", "list").code == 0
    again = fresh.ok("init")  # nothing to do: it says so, and changes nothing
    assert again.out.startswith("database SQLite")


def test_missing_keys_refuse_as_a_missing_database_does(fresh: Cli, tmp_path: Path) -> None:
    fresh.ok("init")
    keys = tmp_path / "data" / "keys"
    (keys / "token-hmac.key").unlink()
    result = fresh("user", "list")
    assert result.code == EXIT_USAGE
    assert result.err == (
        f"regauth: no regauth token-hash secret at {keys / 'token-hmac.key'} {ELSEWHERE}\n"
    )
    assert not (keys / "token-hmac.key").exists()  # not made anew
    for name in os.listdir(keys):
        (keys / name).unlink()
    keys.rmdir()
    result = fresh("registry-config")
    assert result.err == f"regauth: no regauth keys folder at {keys} {ELSEWHERE}\n"
    assert not keys.exists()


def test_a_config_file_names_the_data_relative_to_itself(
    fresh: Cli, tmp_path: Path, clock: FakeClock
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "regauth.toml").write_text('[storage]\npath = "db/regauth.db"\n[keys]\ndir = "keys"\n')
    at_etc = Cli({"REGAUTH_CONFIG": str(etc / "regauth.toml")}, clock)
    at_etc.ok("init")
    assert (etc / "db" / "regauth.db").is_file() and (etc / "keys").is_dir()
    # From anywhere else (here: tmp_path), the same file finds the same data.
    listed = at_etc.ok("user", "list", "-v")
    assert listed.err == (
        f"regauth: database SQLite {etc / 'db' / 'regauth.db'}, keys {etc / 'keys'} "
        f"(config {etc / 'regauth.toml'})\n"
    )
    assert not (tmp_path / "data").exists()


def test_verbose_goes_before_or_after_the_command(cli: Cli, tmp_path: Path) -> None:
    database = describe_storage(load_config(None, cli.env).storage)  # SQLite or PostgreSQL
    for argv in (["-v", "user", "list"], ["user", "list", "--verbose"]):
        result = cli.ok(*argv)
        assert result.err.startswith(f"regauth: database {database}, keys {tmp_path / 'keys'}")
    assert cli.ok("user", "list").err == ""
