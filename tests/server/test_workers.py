"""`regauth serve` as a process: a supervisor deals connections to its workers, restarts a
worker that dies, and they all stop together."""

from __future__ import annotations

import base64
import gc
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from regauth.server import worker as server
from tests.e2e.harness.processes import free_port


def get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object], dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read()), dict(exc.headers)


def test_two_workers_serve_and_stop_on_sigterm(tmp_path: Path) -> None:
    server, port, (_, pat) = _serve(
        tmp_path,
        ["user", "add", "alice"],
        ["token", "create", "--user", "alice", "--description", "x", "--access", "read"],
    )
    try:
        _wait_healthy(port)
        auth = {"Authorization": "Basic " + base64.b64encode(f"alice:{pat}".encode()).decode()}
        ids = set()
        request_ids = set()
        for _ in range(40):  # a new connection each: dealt to both workers in turn
            status, body, headers = get(
                f"http://127.0.0.1:{port}/token?scope=repository:alice/a:pull", auth
            )
            assert status == 200 and body["token"]
            request_ids.add(headers["X-Request-Id"])
        # Each worker draws its own prefix after the fork: no id is handed out twice
        # (_wait_healthy saw two prefixes already: two workers answered).
        assert len(request_ids) == 40
        assert len({rid[:8] for rid in request_ids}) <= 2
        workers = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(workers) == 2
        ids.update(workers)
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=20)
    assert code == 0
    for pid in ids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )


def test_a_worker_freezes_its_start_up_objects_and_collects_young_ones_less_often() -> None:
    before = gc.get_threshold()
    try:
        server._tune_gc()
        assert gc.get_freeze_count() > 1000  # modules, the app: out of every collection
        assert gc.get_threshold() == server._GC_THRESHOLDS
        assert gc.get_threshold()[0] > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_failed_sign_ins_are_counted_once_across_workers(tmp_path: Path) -> None:
    server, port, _ = _serve(
        tmp_path,
        ["user", "add", "alice"],
        REGAUTH_LIMITS_FAILURES_PER_USER_IP="3",
        REGAUTH_LIMITS_LOCKOUT_MAX_SECONDS="60",
    )
    try:
        _wait_healthy(port)
        wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong-password").decode()}
        url = f"http://127.0.0.1:{port}/token?scope=repository:alice/a:pull"
        # A new connection per request: dealt to both workers in turn.
        assert [get(url, wrong)[0] for _ in range(3)] == [401, 401, 401]
        # With a count per worker, the worker that saw fewer than 3 would still answer 401.
        statuses = [get(url, wrong)[0] for _ in range(12)]
        assert statuses == [429] * 12
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def _serve(
    tmp_path: Path, *setup: list[str], **settings: str
) -> tuple[subprocess.Popen[bytes], int, list[str]]:
    """`regauth serve` with two workers on a free port, after the CLI commands in `setup`
    (their outputs returned) have made its data."""
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
    outputs = [_regauth(env, *args) for args in setup]
    server = subprocess.Popen(
        [sys.executable, "-m", "regauth", "serve"],
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return server, port, outputs


def _regauth(env: dict[str, str], *args: str) -> str:
    """A CLI command's standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "regauth", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def _prefix_per_connection(connections: list[http.client.HTTPConnection]) -> list[str]:
    """The request-id prefix, i.e. the worker, that answers on each kept-alive connection."""
    prefixes = []
    for connection in connections:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        prefixes.append(response.headers["X-Request-Id"][:8])
    return prefixes


def test_kept_alive_connections_are_dealt_evenly_to_the_workers(tmp_path: Path) -> None:
    # The kernel's SO_REUSEPORT hash split a load test's 32 connections 20/12 as often as
    # 16/16; dealt in turn, each worker gets half, whatever the client's ports.
    server, port, _ = _serve(tmp_path)
    connections = []
    try:
        _wait_healthy(port)
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(32)]
        for connection in connections:
            connection.connect()
        prefixes = _prefix_per_connection(connections)
        assert sorted(Counter(prefixes).values()) == [16, 16]
        # A connection stays with its worker for its next requests.
        assert _prefix_per_connection(connections) == prefixes
    finally:
        for connection in connections:
            connection.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def test_a_worker_that_dies_is_replaced_and_the_other_takes_over_meanwhile(tmp_path: Path) -> None:
    server, port, _ = _serve(tmp_path)
    try:
        _wait_healthy(port)
        victim, survivor = _workers(server)
        os.kill(victim, signal.SIGKILL)
        # Until the supervisor has reaped it: a killed worker's main thread shows as a zombie
        # while its other threads (the store's) still hold its descriptors, so a connection
        # dealt to it in that instant is lost with it (what it held when it died is lost, as
        # in any crash); reaped, its channel is gone and it is dealt nothing more.
        while victim in _workers(server):
            time.sleep(0.01)
        # Meanwhile every new connection goes to the worker that is left.
        for _ in range(10):
            assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        _wait_healthy(port)  # a second worker answers again: the replacement
        workers = _workers(server)
        assert len(workers) == 2 and survivor in workers and victim not in workers
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    server, port, _ = _serve(tmp_path)
    _wait_healthy(port)
    workers = _workers(server)
    server.kill()  # SIGKILL: no chance to stop them; they see their channel close
    server.wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status.lower()


def _wait_healthy(port: int) -> None:
    """Until both workers answer: each draws its own request-id prefix, so two prefixes seen
    on new connections mean both take the connections dealt to them."""
    prefixes: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _, headers = get(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            prefixes.add(headers["X-Request-Id"][:8])
            if len(prefixes) == 2:
                return
    raise AssertionError(
        f"one request-id prefix in 30 s ({prefixes}): a worker is not answering, "
        "or the two share a prefix"
    )
