"""regauth under test: the server as a subprocess, and its admin CLI on the same config."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import signal
import sys
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.e2e.harness.account_api import AccountApi
from tests.e2e.harness.processes import (
    CommandResult,
    HarnessError,
    Service,
    child_env,
    flags,
    free_port,
    http_get,
    http_status,
    run,
)

Access = Literal["public-read", "read", "write", "delete"]
ISSUER = "regauth-e2e"
SERVICE = "e2e-registry"


@dataclass(frozen=True)
class Account:
    """A user and one personal access token of theirs; the user owns `<name>/*`."""

    name: str
    pat: str
    access: Access

    def repository(self, leaf: str = "app") -> str:
        return f"{self.name}/{leaf}"


@dataclass(frozen=True)
class PasswordUser:
    """A user who signs in with a password (docker login, the account API)."""

    name: str
    password: str


@dataclass(frozen=True)
class Flavour:
    """How a regauth instance signs: the registry must accept both."""

    name: str
    algorithm: Literal["ES256", "RS256"] = "ES256"
    x5c: bool = True


# regauth writes access lines in batches (every storage.usage_flush_seconds, 1 s).
ACCESS_LOG_DELAY = 1.5


class RegauthCli:
    """`regauth --config <file> ...`, run the way an operator would."""

    def __init__(self, config_path: Path):
        self.config_path = config_path
        self._names = itertools.count(1)

    def run(self, *args: str, stdin: str | None = None) -> CommandResult:
        return run(
            [sys.executable, "-m", "regauth", "--config", str(self.config_path), *args],
            # Unknown REGAUTH_* variables are a config error, and ours must not leak in.
            env=child_env(drop_prefix="REGAUTH_"),
            stdin=stdin,
        )

    def check(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        if not result.ok:
            raise HarnessError(f"regauth CLI failed:\n{result}")
        return result.stdout

    def add_user(
        self, prefix: str = "user", *, admin: bool = False, password: str | None = None
    ) -> str:
        name = f"{prefix}{next(self._names)}"
        options = [*(["--admin"] if admin else []), *(["--password-stdin"] if password else [])]
        self.check("user", "add", name, *options, stdin=password)
        return name

    def new_password_user(self, prefix: str = "user") -> PasswordUser:
        password = secrets.token_urlsafe(12)
        return PasswordUser(self.add_user(prefix, password=password), password)

    def create_pat(self, user: str, access: Access) -> str:
        options = {"--user": user, "--description": f"e2e {access}", "--access": access}
        created = json.loads(
            self.check("token", "create", *flags(options), "--expires", "30d", "--json")
        )
        return str(created["token"])

    def new_account(
        self, access: Access = "delete", *, prefix: str = "user", admin: bool = False
    ) -> Account:
        name = self.add_user(prefix, admin=admin)
        return Account(name=name, pat=self.create_pat(name, access), access=access)

    def set_visibility(self, repository: str, visibility: Literal["public", "private"]) -> None:
        self.check("repo", "set-visibility", repository, visibility)


class RegauthServer:
    """`regauth serve` with one worker, on a free loopback port, with its data in `root`.

    `limits` go to the config's `[limits]` table as they are; `trusted_proxies` (a balancer in
    front) to `[server]`.

    `workers`: [server] workers (1: no supervisor); `ttl_seconds`: [token] ttl_seconds.

    For replicas of one deployment (tests/e2e/harness/replicas.py): `public_url` (the balancer's
    address, which the registry's realm is built from; default this process's own), `keys_dir`
    (one [keys] dir for all of them; default `root/keys`) and `storage` (more `[storage]` keys,
    e.g. a PostgreSQL `url` and `password_file`; `path` stays in `root`, the host's own files).

    `public_host` names this process's own port by another host name in the realm (crane's
    tests use `localhost`: crane from v0.21.4 refuses a realm on a loopback IP address).
    """

    def __init__(
        self,
        root: Path,
        flavour: Flavour,
        *,
        limits: dict[str, int] | None = None,
        trusted_proxies: Sequence[str] = (),
        public_url: str | None = None,
        public_host: str | None = None,
        keys_dir: Path | None = None,
        storage: Mapping[str, str | int | bool] | None = None,
        workers: int = 1,
        ttl_seconds: int | None = None,
    ):
        self.flavour = flavour
        self._workers = workers
        self._ttl_seconds = ttl_seconds
        self._limits = dict(limits or {})
        self._trusted_proxies = list(trusted_proxies)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if public_host is not None:
            public_url = f"http://{public_host}:{self.port}"
        self.public_url = public_url or self.url
        self._storage = dict(storage or {})
        root.mkdir(parents=True, exist_ok=True)
        self.keys_dir = keys_dir or root / "keys"
        self.config_path = root / "regauth.toml"
        self.config_path.write_text(self._config_toml(root))
        self.cli = RegauthCli(self.config_path)
        # The database and keys, as an operator makes them: the CLI commands a test runs
        # before start() (and the registry's stanza) refuse to make them. Not for a replica on
        # PostgreSQL: replicas start together to race for the schema and the HMAC fingerprint
        # (harness/replicas.py), and one with the wrong keys must fail at start, not here.
        if "url" not in self._storage:
            self.cli.check("init")
        self.api = AccountApi(self.url)
        self._service: Service | None = None

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    @property
    def log_path(self) -> Path:
        return self.config_path.with_name("regauth.log")

    def start(self) -> None:
        self._service = Service(
            f"regauth[{self.flavour.name}]",
            [sys.executable, "-m", "regauth", "--config", str(self.config_path), "serve"],
            log_path=self.log_path,
            env=child_env(drop_prefix="REGAUTH_"),
        )
        self._service.wait_until(
            lambda: http_status(f"{self.url}/healthz") == 200, "200 on /healthz"
        )

    def stop(self) -> None:
        if self._service is not None:
            self._service.stop()

    def kill(self) -> None:
        """`kill -9`, as when its machine dies: no request it holds is answered."""
        if self._service is not None:
            self._service.stop(signal.SIGKILL)

    def log_size(self) -> int:
        """Where the log ends now, once the access lines of earlier requests are written."""
        time.sleep(ACCESS_LOG_DELAY)
        return self._running().log_size()

    def log_since(self, mark: int) -> str:
        """What regauth logged after `mark`, once the lines of earlier requests are written."""
        time.sleep(ACCESS_LOG_DELAY)
        return self._running().log_text(mark)

    def requests_since(self, mark: int) -> list[tuple[str, str, int]]:
        """(method, path, status) of each request the access log recorded after `mark`."""
        text = self.log_since(mark)
        lines = (json.loads(line) for line in text.splitlines() if line.startswith("{"))
        return [
            (line["method"], line["path"], line["status"])
            for line in lines
            if line.get("logger") == "regauth.http" and line.get("event") == "request"
        ]

    def _running(self) -> Service:
        if self._service is None:
            raise HarnessError("regauth is not started")
        return self._service

    def fetch_token(self, *scopes: str, account: Account | None = None) -> str:
        """A registry token from GET /token, as a client asks for one (anonymous without `account`)."""
        query = urllib.parse.urlencode([("service", SERVICE), *(("scope", s) for s in scopes)])
        headers = {}
        if account is not None:
            basic = base64.b64encode(f"{account.name}:{account.pat}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        answer = http_get(f"{self.realm}?{query}", headers)
        if answer.status != 200:
            raise HarnessError(f"GET /token answered {answer.status}: {answer.body}")
        return str(answer.json()["token"])

    def registry_auth_stanza(self) -> str:
        """What `regauth registry-config` tells an operator to paste into the registry config."""
        return self.cli.check("registry-config", "--registry-version", "2")

    def _config_toml(self, root: Path) -> str:
        return "\n".join(
            [
                "[server]",
                f'listen = "127.0.0.1:{self.port}"',
                # docker needs the realm reachable from the daemon; loopback is.
                f'public_url = "{self.public_url}"',
                f"workers = {self._workers}",
                f"trusted_proxies = {json.dumps(self._trusted_proxies)}",
                "[token]",
                f'issuer = "{ISSUER}"',
                f'service = ["{SERVICE}"]',
                *([f"ttl_seconds = {self._ttl_seconds}"] if self._ttl_seconds else []),
                "[storage]",
                f'path = "{root / "regauth.db"}"',
                *(f"{name} = {json.dumps(value)}" for name, value in self._storage.items()),
                "[keys]",
                f'dir = "{self.keys_dir}"',
                f'algorithm = "{self.flavour.algorithm}"',
                f"x5c = {'true' if self.flavour.x5c else 'false'}",
                "[limits]",
                *(f"{name} = {value}" for name, value in self._limits.items()),
                "",
            ]
        )
