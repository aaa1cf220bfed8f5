"""regauth under test: a config in a temp data dir, users and PATs made with its own CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from servers import BenchError

CLI_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Credential:
    user: str
    pat: str

    @property
    def authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.user}:{self.pat}".encode()).decode("ascii")


def clean_env() -> dict[str, str]:
    """The caller's REGAUTH_* variables would override our config (or be rejected as unknown)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGAUTH_")}


def serve_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "regauth", "--config", str(config), "serve"]


def write_config(
    data_dir: Path,
    *,
    name: str,
    port: int,
    workers: int,
    metrics: bool = True,
    database: str = "regauth.db",
) -> Path:
    """One config per server; all share the keys in data_dir, and the database unless
    `database` names another file there. `metrics`: [metrics] enabled (on main listener's
    /metrics, published once a second)."""
    path = data_dir / f"{name}.toml"
    path.write_text(
        "\n".join(
            [
                "[server]",
                f'listen = "127.0.0.1:{port}"',
                f'public_url = "http://127.0.0.1:{port}"',
                f"workers = {workers}",
                "[token]",
                'issuer = "regauth"',
                'service = ["registry"]',
                "ttl_seconds = 300",
                "[storage]",
                f'path = "{data_dir / database}"',
                "[keys]",
                f'dir = "{data_dir / "keys"}"',
                'algorithm = "ES256"',
                "[metrics]",
                f"enabled = {'true' if metrics else 'false'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    _cli(path, "init")  # the database and keys, which the other commands refuse to make
    return path


def _cli(config: Path, *args: str, stdin: str | None = None) -> str:
    command = [sys.executable, "-m", "regauth", "--config", str(config), *args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=clean_env(),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def create_credentials(config: Path, *, users: int, tokens_per_user: int) -> list[Credential]:
    """users x tokens_per_user PATs with `delete` access, each user owning `<user>/*`."""
    credentials = []
    for u in range(users):
        credentials += create_user_credentials(config, f"bench{u}", tokens_per_user)
    return credentials


def create_user(config: Path, user: str) -> None:
    _cli(config, "user", "add", user)


def create_user_credentials(config: Path, user: str, tokens_per_user: int) -> list[Credential]:
    """One user of create_credentials and its PATs (callers may make several users at once)."""
    create_user(config, user)
    credentials = []
    for t in range(tokens_per_user):
        out = _cli(
            config,
            *("token", "create", "--user", user, "--description", f"bench {t}"),
            *("--access", "delete", "--expires", "none", "--json"),
        )
        credentials.append(Credential(user, str(json.loads(out)["token"])))
    return credentials


def create_password_user(config: Path, user: str, password: str) -> None:
    """A user who signs in with a password (the Hub-shaped API needs a password session to
    create and delete tokens); the password goes through stdin, never the command line."""
    _cli(config, "user", "add", user, "--password-stdin", stdin=password + "\n")


def write_credentials(path: Path, credentials: list[Credential]) -> Path:
    """The file token.lua reads: `<user>\\t<Authorization value>` per line."""
    path.write_text("".join(f"{c.user}\t{c.authorization}\n" for c in credentials))
    return path
