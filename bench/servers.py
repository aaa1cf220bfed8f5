"""Servers under test: each in its own session, polled until healthy, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from procstat import process_tree

STOP_TIMEOUT_S = 10.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Requests to 127.0.0.1 must never go through an http_proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(RuntimeError):
    """The benchmark itself broke (a server died, a check failed): results would be meaningless."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    processes: int = 1  # expected size of the process tree once ready (supervisor + workers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"{self.name} exited with status {code}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def take_log(self) -> tuple[int, int]:
        """(bytes written, error lines) since the last call; then empties the log file.

        The server writes with O_APPEND, so truncating under it is safe and keeps disk use bounded.
        """
        data = self.log_path.read_bytes()
        os.truncate(self.log_path, 0)
        errors = data.count(b'"level":"error"') + data.count(b"Traceback")
        return len(data), errors

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            if _healthy(self.url) and len(self.pids()) >= self.processes:
                return
            time.sleep(0.1)
        raise BenchError(f"{self.name} not ready after {timeout_s:g} s:\n{self.log_tail()}")

    def stop(self) -> None:
        # Its own session: the group holds the server and the workers it forked, nothing else.
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT_S)
        # A group that still has members after its leader is gone cannot have been reused.
        if _group_alive(self.process.pid):
            _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _healthy(url: str) -> bool:
    try:
        with OPENER.open(f"{url}/healthz", timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class ServerPool:
    """Context manager that owns every server it starts and stops them all on the way out."""

    servers: list[Server] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        log_path: Path,
        port: int,
        env: Mapping[str, str] | None = None,
        processes: int = 1,
    ) -> Server:
        # Output to a file opened for appending: a pipe nobody reads would fill and block it.
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        server = Server(name, port, process, log_path, processes)
        self.servers.append(server)
        return server

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A second Ctrl-C must not leave half of the servers running.
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
        try:
            for server in reversed(self.servers):
                server.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
