"""What `regauth serve` tells the operator at start: where it listens and what it uses, the next
step on a new deployment; and, when it cannot start, why in one line with exit code 2 (no
traceback for a port in use, a file that is not a database, or a key path it cannot read)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness.processes import free_port

STARTS_WITHIN_SECONDS = 30


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("REGAUTH_")},
        "REGAUTH_STORAGE_PATH": str(tmp_path / "data" / "regauth.db"),
        "REGAUTH_KEYS_DIR": str(tmp_path / "data" / "keys"),
        # Never reached: each of these stops before it listens (a port nobody holds, anyway).
        "REGAUTH_SERVER_LISTEN": f"127.0.0.1:{free_port()}",
    }


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def serve(env: dict[str, str], **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regauth", "serve"],
        env={**env, **overrides},
        capture_output=True,
        text=True,
        timeout=STARTS_WITHIN_SECONDS,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("regauth:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use(env: dict[str, str], held_port: int, workers: str) -> None:
    result = serve(
        env, REGAUTH_SERVER_LISTEN=f"127.0.0.1:{held_port}", REGAUTH_SERVER_WORKERS=workers
    )
    line = one_line_error(result)
    assert f"cannot listen on 127.0.0.1:{held_port}: Address already in use" in line
    assert "REGAUTH_SERVER_LISTEN" in line


def test_a_file_that_is_not_a_database(env: dict[str, str]) -> None:
    database = Path(env["REGAUTH_STORAGE_PATH"])
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a database, but a file someone put here" * 100)
    line = one_line_error(serve(env))
    assert f"cannot use {database} as regauth's database (file is not a database)" in line
    assert "regauth db restore" in line


def test_a_key_path_that_cannot_be_read(env: dict[str, str]) -> None:
    key = Path(env["REGAUTH_KEYS_DIR"]) / "signing-key.pem"
    key.mkdir(parents=True)  # a directory where the key should be (root reads any file)
    line = one_line_error(serve(env))
    assert f"keys.dir: cannot use {key}: Is a directory" in line


def test_the_start_line_names_the_database_and_keys_and_a_new_deployment_the_next_step(
    env: dict[str, str],
) -> None:
    events: dict[str, dict[str, object]] = {}
    with subprocess.Popen(
        [sys.executable, "-m", "regauth", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stderr is not None
        # Stopped after the limit whatever it said, so that a line it never writes fails
        # the test rather than hanging it.
        deadline = threading.Timer(STARTS_WITHIN_SECONDS, server.terminate)
        deadline.start()
        try:
            for line in server.stderr:
                if line.startswith("{"):
                    entry = json.loads(line)
                    events[entry["event"]] = entry
                if "no_users_yet" in events and "starting" in events:
                    break
        finally:
            deadline.cancel()
            server.terminate()
            server.wait(timeout=STARTS_WITHIN_SECONDS)
    started = events["starting"]
    assert started["database"] == f"SQLite {env['REGAUTH_STORAGE_PATH']}"
    assert started["keys_dir"] == env["REGAUTH_KEYS_DIR"]
    assert started["listen"] == env["REGAUTH_SERVER_LISTEN"]
    assert "regauth user add NAME --admin" in str(events["no_users_yet"]["next_step"])
