"""Replicas of one deployment: several `regauth serve` processes on ONE PostgreSQL database and
ONE [keys] dir, each with a data folder of its own (`[storage] path`: the host's own files, such
as the sign-in throttle's table), behind a real HAProxy whose address is the token realm of a
real registry. And what the replica tests read off them: a kept-alive /token probe aimed at one
replica, the events a replica logged, and how a replica that must not start exits."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness.balancer import Balancer
from tests.e2e.harness.processes import (
    COMMAND_TIMEOUT_SECONDS,
    CommandResult,
    HarnessError,
    child_env,
    free_port,
)
from tests.e2e.harness.regauth import SERVICE, Account, Flavour, RegauthServer
from tests.e2e.harness.registry import Registry


@dataclass(frozen=True)
class SharedStorage:
    """What every replica's config points at: the database (its URL without the password,
    which is in `password_file`, as a mounted secret would be) and the one [keys] dir."""

    url: str
    password_file: Path
    keys_dir: Path

    def config(self) -> dict[str, str | int | bool]:
        return {"url": self.url, "password_file": str(self.password_file)}


def shared_storage(root: Path, database_url: str) -> SharedStorage:
    """`database_url` as the PostgreSQL fixture gives it (postgresql://user:password@host/db)."""
    parts = urllib.parse.urlsplit(database_url)
    if parts.password is None or parts.hostname is None:
        raise HarnessError("the database URL has no password or host")
    root.mkdir(parents=True, exist_ok=True)
    password_file = root / "pg-password"
    password_file.write_text(urllib.parse.unquote(parts.password) + "\n")
    password_file.chmod(0o600)
    netloc = f"{parts.username}@{parts.hostname}:{parts.port}"
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return SharedStorage(url=url, password_file=password_file, keys_dir=root / "shared-keys")


class Deployment:
    """`replicas` regauth processes (one worker each) on `storage`, HAProxy in front of them and
    a registry whose realm is the balancer. The balancer's port is drawn first: the replicas'
    public_url (and so the realm `regauth registry-config` prints) is the balancer's address."""

    def __init__(
        self,
        root: Path,
        storage: SharedStorage,
        *,
        replicas: int = 2,
        limits: dict[str, int] | None = None,
    ):
        self.root = root
        self.storage = storage
        self.limits = dict(limits or {})
        self.balancer_port = free_port()
        self.public_url = f"http://127.0.0.1:{self.balancer_port}"
        self.replicas = [self.replica(f"replica-{chr(ord('a') + i)}") for i in range(replicas)]
        self.balancer = Balancer([address(r) for r in self.replicas], port=self.balancer_port)
        self.registry: Registry | None = None

    def replica(self, name: str, *, keys_dir: Path | None = None) -> RegauthServer:
        """A replica's config (not started): the shared database and, unless `keys_dir` says
        otherwise, the shared [keys] dir."""
        return RegauthServer(
            self.root / name,
            Flavour(name),
            limits=self.limits,
            trusted_proxies=["127.0.0.1"],
            public_url=self.public_url,
            keys_dir=keys_dir or self.storage.keys_dir,
            storage=self.storage.config(),
        )

    def start(self) -> None:
        """The replicas at once (they race to migrate the schema and to record the HMAC
        fingerprint, as replicas of a new deployment do), then the balancer and the registry."""
        with ThreadPoolExecutor() as pool:
            list(pool.map(RegauthServer.start, self.replicas))
        self.balancer.start()
        first = self.replicas[0]
        self.registry = Registry(
            self.root / "registry", name="replicas", auth_stanza=first.registry_auth_stanza()
        )
        self.registry.start()

    def stop(self) -> None:
        if self.registry is not None:
            self.registry.stop()
        self.balancer.stop()
        for replica in self.replicas:
            replica.stop()

    @property
    def running_registry(self) -> Registry:
        if self.registry is None:
            raise HarnessError("the deployment is not started")
        return self.registry


def address(server: RegauthServer) -> str:
    return f"127.0.0.1:{server.port}"


def basic(account: Account) -> str:
    return "Basic " + base64.b64encode(f"{account.name}:{account.pat}".encode()).decode()


def token_path(account: Account) -> str:
    """GET /token as a client asks for a pull of the account's own repository."""
    query = urllib.parse.urlencode(
        {"service": SERVICE, "scope": f"repository:{account.repository()}:pull"}
    )
    return f"/token?{query}"


@dataclass(frozen=True)
class ProbeAnswer:
    at: float  # time.monotonic() once the answer was read
    status: int
    headers: dict[str, str]  # names in lower case
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class TokenProbe:
    """GET /token with one account's PAT (Basic) on one kept-alive connection to one port, so
    that polling every 10 ms measures regauth and not connection set-up. Close it (or use it
    in a `with`); `token_answer` is one request on a connection of its own."""

    def __init__(self, port: int, account: Account, *, timeout: float = 15.0):
        self._port = port
        self._timeout = timeout
        self._path = token_path(account)
        self._headers = {"Authorization": basic(account)}
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> TokenProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self) -> ProbeAnswer:
        """One answer; a connection that failed is opened again once (a replica restarted)."""
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    "127.0.0.1", self._port, timeout=self._timeout
                )
            try:
                self._conn.request("GET", self._path, headers=self._headers)
                response = self._conn.getresponse()
                body = response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
                continue
            headers = {name.lower(): value for name, value in response.getheaders()}
            return ProbeAnswer(time.monotonic(), response.status, headers, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def until(self, status: int, *, timeout: float, every: float = 0.01) -> ProbeAnswer:
        """Polls every `every` seconds until an answer with `status`; HarnessError after
        `timeout`, naming the statuses seen."""
        deadline = time.monotonic() + timeout
        seen: list[int] = []
        while True:
            answer = self.get()
            if answer.status == status:
                return answer
            seen.append(answer.status)
            if time.monotonic() > deadline:
                raise HarnessError(f"no {status} in {timeout}s: saw {sorted(set(seen))}")
            time.sleep(every)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def token_answer(port: int, account: Account) -> ProbeAnswer:
    with TokenProbe(port, account) as probe:
        return probe.get()


def token_answer_when(
    port: int, account: Account, status: int, *, timeout: float, every: float = 0.01
) -> ProbeAnswer:
    with TokenProbe(port, account) as probe:
        return probe.until(status, timeout=timeout, every=every)


def logged_events(server: RegauthServer) -> list[dict[str, Any]]:
    """Every JSON line the replica logged (its structured events and access lines)."""
    try:
        text = server.log_path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return events


def event_names(server: RegauthServer) -> list[str]:
    return [str(e["event"]) for e in logged_events(server) if "event" in e]


def serve_until_exit(server: RegauthServer, *, timeout: float = 30.0) -> CommandResult:
    """`regauth serve` on the server's config, for one that must refuse to start: its exit code
    and its stdout and stderr apart. One still running after `timeout` (it started after all) is
    stopped, its whole process group, and that is a HarnessError."""
    args: Sequence[str] = [
        sys.executable, "-m", "regauth", "--config", str(server.config_path), "serve",
    ]  # fmt: skip
    process = subprocess.Popen(
        list(args),
        env=child_env(drop_prefix="REGAUTH_"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise HarnessError(
            f"regauth serve was still running after {timeout}s (it should have refused):\n"
            f"{stderr[-3000:]}"
        ) from None
    finally:
        # Workers it may have forked before exiting hold the group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return CommandResult(tuple(args), process.returncode, stdout, stderr)


@dataclass(frozen=True)
class ClientRun:
    started: float  # time.monotonic() when the command was started
    result: CommandResult


class ClientLoop:
    """One real client command (a skopeo pull, say) run again and again in a thread while a test
    breaks what is behind the balancer; every run is recorded."""

    def __init__(self, command: Callable[[], CommandResult]):
        self._command = command
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._runs: list[ClientRun] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ClientLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=COMMAND_TIMEOUT_SECONDS + 5)

    @property
    def runs(self) -> list[ClientRun]:
        with self._lock:
            return list(self._runs)

    def wait_for(self, more: int, timeout: float = 30.0) -> None:
        target = len(self.runs) + more
        deadline = time.monotonic() + timeout
        while len(self.runs) < target:
            if time.monotonic() > deadline:
                raise HarnessError(f"client loop: {len(self.runs)} of {target} in {timeout}s")
            time.sleep(0.02)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            result = self._command()
            with self._lock:
                self._runs.append(ClientRun(started, result))
