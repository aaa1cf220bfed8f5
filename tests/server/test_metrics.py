"""/metrics of `regauth serve` with two workers: one view whichever worker answers, a killed
worker's counts neither lost nor counted twice, and `[metrics] listen` on a port of its own."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness.processes import free_port

GRANTED = ("regauth_token_requests_total", (("grant", "get"), ("outcome", "granted")))
UNAUTHORIZED = ("regauth_token_requests_total", (("grant", "get"), ("outcome", "unauthorized")))


def test_every_worker_answers_with_the_counts_of_all_and_a_killed_ones_stay(
    tmp_path: Path,
) -> None:
    server, port, auth = _serve(tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_two_workers(base)
        for _ in range(20):  # a new connection each: dealt to both workers in turn
            assert _get(f"{base}/token?scope=repository:alice/a:pull", auth)[0] == 200
        for _ in range(4):
            assert _get(f"{base}/token", {"Authorization": _basic("alice", "wrong")})[0] == 401
        # Published once a second: then every scrape, by either worker, shows all of them.
        scrapes = _settled(base, {GRANTED: 20, UNAUTHORIZED: 4})
        assert len({prefix for prefix, _ in scrapes}) == 2  # both workers answered
        assert all(samples[GRANTED] == 20 for _, samples in scrapes)

        victim = _workers(server)[0]
        os.kill(victim, signal.SIGKILL)
        while victim in _workers(server):
            time.sleep(0.05)
        _wait_for_two_workers(base)  # its replacement answers
        # Its counts are still in the sums, once: its files stay; the new worker has its own.
        for _, samples in _settled(base, {GRANTED: 20, UNAUTHORIZED: 4}):
            assert samples[GRANTED] == 20 and samples[UNAUTHORIZED] == 4
        for _ in range(6):
            assert _get(f"{base}/token?scope=repository:alice/a:pull", auth)[0] == 200
        _settled(base, {GRANTED: 26, UNAUTHORIZED: 4})
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def test_metrics_listen_serves_them_on_their_own_port_and_not_on_the_main_one(
    tmp_path: Path,
) -> None:
    metrics_port = free_port()
    server, port, auth = _serve(tmp_path, REGAUTH_METRICS_LISTEN=f"127.0.0.1:{metrics_port}")
    base, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    try:
        _wait_for_two_workers(base)
        assert _get(f"{base}/token?scope=repository:alice/a:pull", auth)[0] == 200
        assert _get(f"{base}/metrics")[0] == 404
        assert _get(f"{metrics}/token")[0] == 404  # the API is not on the metrics port
        deadline = time.monotonic() + 10
        while _samples(_get(f"{metrics}/metrics")[1]).get(GRANTED) != 1:
            assert time.monotonic() < deadline, "the metrics port never showed the request"
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _settled(
    base: str, expected: dict[tuple[str, tuple[tuple[str, str], ...]], float]
) -> list[tuple[str, Samples]]:
    """Scrapes on new connections (so both workers answer) until four in a row show
    `expected`: (the answering worker's request-id prefix, its samples) of those four."""
    deadline = time.monotonic() + 15
    settled: list[tuple[str, Samples]] = []
    while len(settled) < 4:
        assert time.monotonic() < deadline, f"never settled on {expected}: {settled}"
        status, body, headers = _get(f"{base}/metrics")
        assert status == 200
        samples = _samples(body)
        if all(samples.get(key) == value for key, value in expected.items()):
            settled.append((headers["X-Request-Id"][:8], samples))
        else:
            # Never above what was sent: a count that went past it was counted twice.
            assert all(samples.get(key, 0) <= value for key, value in expected.items())
            settled.clear()
            time.sleep(0.2)
    return settled


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _serve(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "REGAUTH_STORAGE_PATH": str(tmp_path / "db.sqlite"),
        "REGAUTH_KEYS_DIR": str(tmp_path / "keys"),
        "REGAUTH_SERVER_LISTEN": f"127.0.0.1:{port}",
        "REGAUTH_SERVER_WORKERS": "2",
        **settings,
    }
    _regauth(env, "init")  # no other command makes the data
    _regauth(env, "user", "add", "alice")
    pat = _regauth(
        env, "token", "create", "--user", "alice", "--description", "x", "--access", "read"
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "regauth", "serve"],
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return server, port, {"Authorization": _basic("alice", pat)}


def _regauth(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "regauth", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode(), dict(exc.headers)


def _wait_for_two_workers(base: str) -> None:
    """Until two request-id prefixes answered /healthz: both workers take connections."""
    prefixes: set[str] = set()
    deadline = time.monotonic() + 30
    while len(prefixes) < 2:
        assert time.monotonic() < deadline, f"one worker answering: {prefixes}"
        try:
            status, _, headers = _get(f"{base}/healthz")
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            prefixes.add(headers["X-Request-Id"][:8])


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]
