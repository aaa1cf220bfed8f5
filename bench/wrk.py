"""Running wrk and reading its text report (requests, req/s, latency percentiles, errors)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)", re.M)


class WrkError(RuntimeError):
    """wrk did not run or printed something we cannot read: the benchmark itself broke."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int
    output: str

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx


# How wrk is scheduled. "batch" (SCHED_BATCH, via chrt) keeps the fair CPU share but never
# preempts a running server when a response wakes it; "normal" is what a shell would do.
# On two cores wrk shares a core with a worker, and with "normal" it preempted the worker at
# nearly every response (~800 preemptions per 1,000 requests), costing the servers CPU that a
# load generator on its own cores would not. See bench/README.md "How it is measured".
WRK_POLICIES = ("batch", "normal")


def wrk_path() -> str | None:
    return shutil.which("wrk")


def policy_prefix(policy: str) -> list[str]:
    """The command prefix that runs wrk under the given scheduling policy."""
    if policy == "normal":
        return []
    if policy != "batch":
        raise WrkError(f"unknown wrk policy {policy!r} (one of {', '.join(WRK_POLICIES)})")
    chrt = shutil.which("chrt")
    if chrt is None:
        raise WrkError("chrt not found (util-linux); use --wrk-policy normal")
    return [chrt, "--batch", "0"]


def wait_for_wrk(timeout_s: float, poll_s: float = 10.0) -> str:
    """The lead may still be installing wrk; poll a bounded number of times."""
    deadline = time.monotonic() + timeout_s
    while (path := wrk_path()) is None:
        if time.monotonic() >= deadline:
            raise WrkError("wrk not found on PATH (apt-get install wrk)")
        print(f"waiting for wrk to be installed ({deadline - time.monotonic():.0f} s left)")
        time.sleep(poll_s)
    return path


def run_wrk(
    url: str,
    *,
    script: Path,
    script_args: list[str],
    duration_s: float,
    connections: int,
    policy: str = "batch",
    threads: int = 1,
) -> WrkResult:
    command = wrk_command(
        url,
        script=script,
        script_args=script_args,
        duration_s=duration_s,
        connections=connections,
        policy=policy,
        threads=threads,
    )
    # wrk stops itself after -d; the timeout only guards against a hung load generator.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 30, check=False
    )
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout}")
    return parse_wrk_output(done.stdout)


def run_wrk_together(commands: Sequence[list[str]], duration_s: float) -> list[WrkResult]:
    """Several wrk processes (from wrk_command) started together, each to its own server; one
    result each, in order. Their reports are small and printed at exit: no pipe fills up."""
    processes = [
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=duration_s + 30)
            if process.returncode != 0:
                raise WrkError(f"wrk exited {process.returncode}: {stderr.strip() or stdout}")
            outputs.append(stdout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [parse_wrk_output(output) for output in outputs]


def wrk_command(
    url: str,
    *,
    script: Path,
    script_args: list[str],
    duration_s: float,
    connections: int,
    policy: str = "batch",
    threads: int = 1,
) -> list[str]:
    return [
        *policy_prefix(policy),
        wrk_path() or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]


def parse_wrk_output(text: str) -> WrkResult:
    requests = _REQUESTS.search(text)
    rps = _RPS.search(text)
    percentiles = {m[1]: float(m[2]) * _UNIT_MS[m[3]] for m in _PERCENTILE.finditer(text)}
    if requests is None or rps is None or "50" not in percentiles or "99" not in percentiles:
        raise WrkError(f"cannot read wrk output:\n{text}")
    socket = _SOCKET_ERRORS.search(text)  # printed only when there were some
    non_2xx = _NON_2XX.search(text)  # likewise
    return WrkResult(
        requests=int(requests[1]),
        duration_s=float(requests[2]) * _UNIT_MS[requests[3]] / 1000.0,
        rps=float(rps[1]),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        output=text,
    )
