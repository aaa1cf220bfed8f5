"""Background services in their own process groups, and one-shot commands with captured output."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT_SECONDS = 120.0
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 20.0
LOG_TAIL_CHARS = 6000

# Every service started and not yet stopped, so a failing test can show their logs.
RUNNING: list[Service] = []


class HarnessError(RuntimeError):
    """A service could not be started or a command could not be run at all."""


def free_port() -> int:
    """A port nothing listens on right now (the service binds it a moment later).

    From below the kernel's ephemeral range, which bind(0) and outgoing connections never
    use: a server stopped and started again on its port (PostgreSQL, a registry, a replica)
    must find it free, while the other lane of scripts/test opens connections all the time."""
    low = 32768
    with contextlib.suppress(OSError, ValueError, IndexError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    top = min(low, 30000)
    for _ in range(200):
        port = 10000 + secrets.randbelow(top - 10000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise HarnessError("no free loopback port below the ephemeral range")


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(url: str, headers: Mapping[str, str] | None = None, timeout: float = 10) -> HttpAnswer:
    """A GET whose answer is returned whatever its status (URLError when nothing answers)."""
    return http_request("GET", url, headers=headers, timeout=timeout)


def http_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    timeout: float = 10,
) -> HttpAnswer:
    """Any method, with an optional JSON body; the answer is returned whatever its status."""
    if not url.startswith("http://127.0.0.1:"):
        raise HarnessError(f"the harness only talks to loopback services, not {url}")
    all_headers = dict(headers or {})
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(  # noqa: S310 - loopback only, checked above
        url, data=data, headers=all_headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return _answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return _answer(error.code, error.headers, error.read())


def _answer(status: int, headers: Message, body: bytes) -> HttpAnswer:
    lowered = {name.lower(): value for name, value in headers.items()}
    return HttpAnswer(status, lowered, body.decode("utf-8", "replace"))


def http_status(url: str) -> int | None:
    """The status of a GET, or None when nothing answers (yet)."""
    try:
        return http_get(url, timeout=2).status
    except (OSError, urllib.error.URLError):
        return None


def child_env(extra: Mapping[str, str] | None = None, *, drop_prefix: str = "") -> dict[str, str]:
    # dockerd finds containerd and runc on PATH, and those live in sbin on Debian.
    env = {k: v for k, v in os.environ.items() if not (drop_prefix and k.startswith(drop_prefix))}
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/sbin"])
    env.update(extra or {})
    return env


def flags(options: Mapping[str, str]) -> list[str]:
    """`{"--root": "/x"}` -> `["--root", "/x"]`: option tables read better than flat argv."""
    return [part for option in options.items() for part in option]


@dataclass(frozen=True, repr=False)
class CommandResult:
    """What a client printed and how it exited; `str()` is the full story for a human."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        # pytest cuts a non-string assert message (`assert r.ok, r`) to 240 characters of its
        # repr, so what went wrong comes first.
        return (
            f"<exit {self.returncode}: stderr={self.stderr!r} stdout={self.stdout!r} "
            f"$ {shlex.join(self.args)}>"
        )

    def __str__(self) -> str:
        return (
            f"$ {shlex.join(self.args)}\n-> exit {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = COMMAND_TIMEOUT_SECONDS,
    cwd: Path | None = None,
) -> CommandResult:
    try:
        completed = subprocess.run(
            list(args),
            env=dict(env),
            input=stdin,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"timed out after {timeout}s: {shlex.join(args)}") from exc
    return CommandResult(tuple(args), completed.returncode, completed.stdout, completed.stderr)


class Service:
    """A long-running program in its own process group, logging to a file."""

    def __init__(self, name: str, args: Sequence[str], *, log_path: Path, env: Mapping[str, str]):
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            list(args),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        RUNNING.append(self)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self, start: int = 0) -> str:
        with self.log_path.open("rb") as log:
            log.seek(start)
            return log.read().decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def wait_until(
        self, ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_SECONDS
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive():
                self.stop()
                raise HarnessError(
                    f"{self.name} exited with {self.process.returncode} before {what}:\n"
                    f"{self.log_text()[-LOG_TAIL_CHARS:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise HarnessError(
                    f"{self.name}: no {what} after {timeout}s:\n{self.log_text()[-LOG_TAIL_CHARS:]}"
                )
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal the whole group, wait, and kill it if it does not go; safe to call twice."""
        if self._log.closed:
            return
        if self in RUNNING:
            RUNNING.remove(self)
        self._signal_group(sig)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        # Children that outlived the leader still hold the group id.
        self._signal_group(signal.SIGKILL)
        self._log.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)
