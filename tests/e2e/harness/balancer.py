"""A real load balancer (Debian `haproxy`, 2.6) in front of regauth replicas on loopback:
round-robin, health checks on /healthz, and a request that a dying replica never answered sent
again to another one."""

from __future__ import annotations

import csv
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.e2e.harness.processes import (
    HarnessError,
    Service,
    child_env,
    free_port,
    run,
)

HAPROXY_BINARY = "haproxy"  # /usr/sbin on Debian
BACKEND = "replicas"

# What makes `kill -9` of a replica invisible to clients. HAProxy's default is to retry only a
# connection that failed, on the same server, after a 1 s pause.
RETRIES = """\
    # Up to 3 more attempts, each on another replica than the one before.
    retries 3
    option redispatch 1
    # Everything that means "this replica could not answer": refused, closed before a byte of
    # the response (a replica killed under the request), a cut or garbled response, no
    # response in time, a gateway or unavailable status. Not 500: that is a bug in regauth,
    # and a retry would hide it.
    retry-on conn-failure empty-response junk-response response-timeout 502 503 504"""
# Sent again only where that is safe: GET and HEAD (METH_GET matches both). A request of
# another method is retried only when its connection failed, before anything was sent.
IDEMPOTENT_ONLY = "    http-request disable-l7-retry if !METH_GET"


def haproxy_binary() -> str | None:
    return shutil.which(HAPROXY_BINARY, path=child_env()["PATH"])


def haproxy_config(
    *,
    port: int,
    backends: Sequence[str],
    stats_socket: Path,
    retry: bool = True,
    check_interval_ms: int = 250,
) -> str:
    """The whole configuration; `backends` are `127.0.0.1:<port>` addresses, named replica0…"""
    servers = [f"    server {name} {address}" for name, address in _named(backends).items()]
    return "\n".join(
        [
            "global",
            "    log stdout format raw local0 info",  # to the Service's log file
            f"    stats socket {stats_socket} mode 600 level admin",
            # A worker replaced by a reload ends its last connections this long after.
            "    hard-stop-after 10s",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            # On a reload the old worker answers one more request on each kept-alive client
            # connection, with "Connection: close", instead of closing it while idle: a client
            # may be sending on it at that very moment, and few clients resend a lost request.
            "    option idle-close-on-response",
            "    timeout connect 1s",  # loopback: a connection that takes longer never comes
            "    timeout client 30s",
            "    timeout server 30s",
            "    timeout http-request 10s",
            "    timeout check 1s",
            "",
            "frontend regauth",
            f"    bind 127.0.0.1:{port}",
            # The balancer is the edge, so what a client wrote in X-Forwarded-For is replaced,
            # not extended: `option forwardfor` would add a second header line after the
            # client's, and regauth reads the first (it trusts the header from its
            # [server] trusted_proxies only).
            "    http-request set-header X-Forwarded-For %[src]",
            f"    default_backend {BACKEND}",
            "",
            f"backend {BACKEND}",
            "    balance roundrobin",
            "    option httpchk",
            "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1",
            "    http-check expect status 200",
            # Out after two failed checks in a row, back after two good ones.
            f"    default-server check inter {check_interval_ms}ms fall 2 rise 2",
            *([RETRIES, IDEMPOTENT_ONLY] if retry else []),
            *servers,
            "",
        ]
    )


class Balancer:
    """HAProxy in master-worker mode on a free loopback port, its config and sockets in a temp
    dir. `retry=False` leaves HAProxy's defaults: the control that shows what RETRIES buys."""

    def __init__(
        self,
        backends: Sequence[str],
        *,
        retry: bool = True,
        check_interval_ms: int = 250,
        port: int | None = None,
    ):
        """`port`: one chosen before the backends were configured (their public URL is the
        balancer's); a free one by default."""
        # Unix socket paths are limited to ~107 bytes, so not under pytest's deep tmp dirs.
        self.root = Path(tempfile.mkdtemp(prefix="regauth-haproxy.", dir="/tmp"))
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.config_path = self.root / "haproxy.cfg"
        self.stats_socket = self.root / "stats.sock"
        self._retry = retry
        self._check_interval_ms = check_interval_ms
        self.backends: dict[str, str] = {}
        self._write_config(backends)
        self._binary = haproxy_binary() or HAPROXY_BINARY
        self._service: Service | None = None

    def start(self) -> None:
        """Returns once every backend has passed a health check (or failed its first)."""
        self._validate()
        self._service = Service(
            f"haproxy[{self.port}]",
            [self._binary, "-W", "-db", "-f", str(self.config_path)],
            log_path=self.root / "haproxy.log",
            env=child_env(),
        )
        self._service.wait_until(self._checked_once, "a health check of every backend")

    def stop(self) -> None:
        if self._service is not None:
            self._service.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def reload(self, backends: Sequence[str] | None = None) -> None:
        """A new worker with the config (and `backends`, when given); the old one finishes the
        requests it has. Listening sockets pass from one to the other: no connection is refused."""
        service = self._running()
        if backends is not None:
            self._write_config(backends)
        self._validate()
        old_worker = self._worker_pid()
        service.process.send_signal(signal.SIGUSR2)
        service.wait_until(
            lambda: self._worker_pid() not in (None, old_worker) and self._checked_once(),
            "a new worker after SIGUSR2",
        )

    def server_stats(self) -> dict[str, dict[str, str]]:
        """`show stat` per server of the backend, plus "BACKEND" for the sums: "status" (UP,
        DOWN, "UP 1/2"…), "wretr" (retries), "wredis" (redispatches), "lbtot" (times chosen)…"""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(text.splitlines())
        return {row["svname"]: row for row in rows if row["pxname"] == BACKEND}

    def server_states(self) -> dict[str, str]:
        """{"replica0": "UP", "replica1": "DOWN"}; BACKEND left out."""
        return {
            name: row["status"]
            for name, row in self.server_stats().items()
            if name in self.backends
        }

    def wait_for_states(self, expected: Mapping[str, str], timeout: float = 10.0) -> float:
        """Seconds until the servers named in `expected` show those states."""
        started = time.monotonic()
        while True:
            states = self.server_states()
            if all(states.get(name) == state for name, state in expected.items()):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise HarnessError(f"balancer: servers {states}, not {dict(expected)}")
            time.sleep(0.02)

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API (the stats socket), its whole answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def log_text(self) -> str:
        return self._running().log_text()

    def _write_config(self, backends: Sequence[str]) -> None:
        self.backends = _named(backends)
        self.config_path.write_text(
            haproxy_config(
                port=self.port,
                backends=backends,
                stats_socket=self.stats_socket,
                retry=self._retry,
                check_interval_ms=self._check_interval_ms,
            )
        )

    def _validate(self) -> None:
        checked = run([self._binary, "-c", "-f", str(self.config_path)], env=child_env())
        if not checked.ok:
            raise HarnessError(f"haproxy rejects its config:\n{checked}")

    def _running(self) -> Service:
        if self._service is None:
            raise HarnessError("the balancer is not started")
        return self._service

    def _worker_pid(self) -> str | None:
        try:
            info = self.command("show info")
        except OSError:
            return None  # between two workers
        return next(
            (
                line.split(":", 1)[1].strip()
                for line in info.splitlines()
                if line.startswith("Pid:")
            ),
            None,
        )

    def _checked_once(self) -> bool:
        try:
            stats = self.server_stats()
        except OSError:
            return False  # the worker has not opened its socket yet
        # "INI" until the first check of a server has finished.
        return all(
            name in stats and not stats[name]["check_status"].startswith(("INI", "*INI"))
            for name in self.backends
        )


def _named(backends: Sequence[str]) -> dict[str, str]:
    return {f"replica{i}": address for i, address in enumerate(backends)}
