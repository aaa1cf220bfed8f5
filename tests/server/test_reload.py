"""`regauth serve` and its signals: SIGHUP reads the config file again in every worker (what
cannot change live is logged as needing a restart, a bad file is refused), it never stops the
service; SIGTERM ends it with `stopping` and `stopped`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness.processes import free_port

WAIT_SECONDS = 30


def _config(port: int, *, ttl: int, listen_port: int | None = None, extra: str = "") -> str:
    return (
        f'[server]\nlisten = "127.0.0.1:{listen_port or port}"\n'
        f"[token]\nttl_seconds = {ttl}\n"
        '[storage]\npath = "data/regauth.db"\n'
        '[keys]\ndir = "data/keys"\n' + extra
    )


class Server:
    def __init__(self, tmp_path: Path, workers: int) -> None:
        self.port = free_port()
        self.file = tmp_path / "regauth.toml"
        self.file.write_text(_config(self.port, ttl=300))
        self.log = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGAUTH_")}
        env["REGAUTH_SERVER_WORKERS"] = str(workers)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "regauth", "serve", "--config", str(self.file)],
                env=env,
                cwd="/",  # the data's paths are relative to the config file, not to here
                stderr=log,
                start_new_session=True,
            )

    def token_ttls(self, connections: int) -> set[int]:
        """`expires_in` of anonymous tokens, each asked on a new connection (dealt to every
        worker in turn)."""
        ttls = set()
        for _ in range(connections):
            url = f"http://127.0.0.1:{self.port}/token?service=registry"
            with urllib.request.urlopen(url, timeout=5) as response:
                ttls.add(json.loads(response.read())["expires_in"])
        return ttls

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("not healthy in time")

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == name or record.get("message") == name:
                found.append(record)
        return found

    def wait_for(self, name: str, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            found = self.events(name)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} {name} not logged in time:\n{self.log.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT_SECONDS)


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reloads_the_config_in_every_worker_and_never_stops_the_service(
    tmp_path: Path, workers: int
) -> None:
    server = Server(tmp_path, workers)
    # Each process that reads the file logs its outcome: the supervisor (if any) and each worker.
    readers = workers + (1 if workers > 1 else 0)
    try:
        server.wait_healthy()
        assert server.token_ttls(4) == {300}

        # A live key (the tokens' lifetime) and one that needs a restart (the address).
        server.file.write_text(_config(server.port, ttl=600, listen_port=free_port()))
        server.process.send_signal(signal.SIGHUP)
        reloaded = server.wait_for("config_reloaded", readers)
        assert all(r["changed"] == ["token.ttl_seconds"] for r in reloaded)
        restart = server.wait_for("config_restart_needed", readers)
        assert all(r["keys"] == ["server.listen"] for r in restart)
        assert server.token_ttls(4) == {600}  # every worker, on the address it had

        # A file that does not load is refused; what is in force stays.
        server.file.write_text("[token]\nttl_seconds = 5\n")
        server.process.send_signal(signal.SIGHUP)
        refused = server.wait_for("config_reload_refused", readers)
        assert "token.ttl_seconds" in refused[0]["error"]
        assert server.token_ttls(4) == {600}
        assert server.process.poll() is None
    finally:
        code = server.stop()
    assert code == 0
    assert server.events("stopping") and server.events("stopped")
    assert "Traceback" not in server.log.read_text()


def test_a_worker_restarted_after_a_reload_starts_with_the_reloaded_config(
    tmp_path: Path,
) -> None:
    server = Server(tmp_path, 2)
    try:
        server.wait_healthy()
        server.file.write_text(_config(server.port, ttl=900))
        server.process.send_signal(signal.SIGHUP)
        server.wait_for("config_reloaded", 3)
        workers = subprocess.run(
            ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True
        ).stdout.split()
        os.kill(int(workers[0]), signal.SIGKILL)
        server.wait_for("worker_exited", 1)
        deadline = time.monotonic() + WAIT_SECONDS
        while (
            time.monotonic() < deadline
            and len(
                subprocess.run(
                    ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True
                ).stdout.split()
            )
            < 2
        ):
            time.sleep(0.1)
        time.sleep(0.5)  # the replacement's runtime opened
        assert server.token_ttls(6) == {900}
    finally:
        assert server.stop() == 0
