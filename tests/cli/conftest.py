"""The CLI run in-process, as an operator would run it, on a real temp data folder and a pinned clock."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from regauth.cli import EXIT_OK, main
from regauth.config import Config, load_config
from tests.support.clock import FakeClock


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def fields(self) -> dict[str, str]:
        """A `show` command's field-per-line output."""
        pairs = (line.split(maxsplit=1) for line in self.out.splitlines() if line.strip())
        return {key: value for key, value in pairs}


class Cli:
    def __init__(self, env: dict[str, str], clock: FakeClock) -> None:
        self.env = env
        self.clock = clock

    def __call__(self, *argv: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        old = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
        try:
            code = main(list(argv), self.env, clock=self.clock)
        finally:
            sys.stdin, sys.stdout, sys.stderr = old
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *argv: str, stdin: str = "") -> Result:
        result = self(*argv, stdin=stdin)
        assert result.code == EXIT_OK, result.err
        return result

    def create_token(self, user: str, access: str = "write", description: str = "laptop") -> str:
        """A new token's public id."""
        argv = ["token", "create", "--user", user, "--description", description]
        return str(self.ok(*argv, "--access", access, "--json").json()["id"])

    def audit(self, action: str) -> list[dict[str, Any]]:
        return list(self.ok("audit", "list", "--action", action, "--json").json())


@pytest.fixture
def env(tmp_path: Path, contract_database: str | None) -> dict[str, str]:
    env = {
        "REGAUTH_STORAGE_PATH": str(tmp_path / "regauth.db"),
        "REGAUTH_KEYS_DIR": str(tmp_path / "keys"),
        "REGAUTH_SERVER_PUBLIC_URL": "http://localhost:5999",
        "REGAUTH_TOKEN_SERVICE": "my-registry",
    }
    if contract_database is not None:  # TEST_STORAGE_BACKEND=postgresql
        env["REGAUTH_STORAGE_URL"] = contract_database
    return env


@pytest.fixture
def config(env: dict[str, str]) -> Config:
    """What the CLI loads from `env`: so `runtime` (tests/conftest.py) opens the same data the
    CLI works on, for arranging what only the servers write (last use, failed sign-ins)."""
    return load_config(None, env)


@pytest.fixture
def bare_cli(env: dict[str, str], clock: FakeClock) -> Cli:
    """On a data folder with nothing in it yet."""
    return Cli(env, clock)


@pytest.fixture
def cli(bare_cli: Cli) -> Cli:
    """On a data folder `regauth init` made: no other command creates one."""
    bare_cli.ok("init")
    return bare_cli
