"""The admin write loop of bench/replicas.py: creates and deletes personal access tokens through
the Hub-shaped API of one regauth, as fast as one client can, until SIGTERM.

Usage: admin_loop.py URL USER PASSWORD_FILE [--clients N]

Signs in with the password (`POST /v2/users/login`: a password session may manage tokens), then
each client, on its own kept-alive connection, runs `POST /v2/access-tokens` and
`DELETE /v2/access-tokens/{uuid}` back to back, one request at a time. Every creation and
deletion is a write transaction that tells every replica's caches to forget what they verified,
so /token on the same replica pays database look-ups again while this runs.

Prints `ready` once signed in and a first create + delete has worked (the bench waits for it),
then, after SIGTERM, one JSON line: for each request, its end on `time.monotonic()` (the
system-wide CLOCK_MONOTONIC, the bench's clock too), its latency in seconds, its status and its
kind, so that the bench counts what fell inside its measured window.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from types import FrameType
from typing import Any

TIMEOUT_S = 10.0
CREATED, DELETED = 201, 204
# Ops kept: (end on the monotonic clock, latency s, HTTP status or 0 for a broken connection, kind)
Op = tuple[float, float, int, str]


class Client:
    def __init__(self, host: str, port: int, session: str) -> None:
        self._host, self._port = host, port
        self._conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        self._headers = {"Authorization": f"Bearer {session}"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._conn.request(method, path, body=data, headers=headers)
            response = self._conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            # A fresh connection for the next request; this one counts as an error.
            self._conn.close()
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT_S)
            return 0, str(exc).encode()

    def cycle(self, label: str, ops: list[Op], errors: list[str]) -> None:
        """One creation and the deletion of what it created."""
        started = time.monotonic()
        status, body = self.call(
            "POST", "/v2/access-tokens", {"token_label": label, "scopes": ["repo:read"]}
        )
        created = time.monotonic()
        ops.append((created, created - started, status, "create"))
        if status != CREATED:
            errors.append(f"create: {status} {body[:200]!r}")
            return
        uuid = json.loads(body)["uuid"]
        status, body = self.call("DELETE", f"/v2/access-tokens/{uuid}")
        deleted = time.monotonic()
        ops.append((deleted, deleted - created, status, "delete"))
        if status != DELETED:
            errors.append(f"delete: {status} {body[:200]!r}")


def sign_in(host: str, port: int, user: str, password: str) -> str:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        body = json.dumps({"username": user, "password": password}).encode()
        conn.request(
            "POST", "/v2/users/login", body=body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise SystemExit(f"sign-in as {user} answered {response.status}: {payload[:200]!r}")
    return str(json.loads(payload)["token"])


def run(url: str, user: str, password: str, clients: int) -> int:
    parts = urllib.parse.urlsplit(url)
    if parts.hostname != "127.0.0.1" or parts.port is None:
        raise SystemExit(f"the admin loop only talks to http://127.0.0.1:PORT, not {url}")
    session = sign_in(parts.hostname, parts.port, user, password)
    stop = threading.Event()
    _stop_on(stop)
    ops: list[list[Op]] = [[] for _ in range(clients)]
    errors: list[str] = []
    # The first cycle before `ready`: a loop that cannot create or delete must stop the bench.
    first = Client(parts.hostname, parts.port, session)
    first.cycle("bench admin loop 0-0", ops[0], errors)
    if errors:
        print(json.dumps({"ops": ops[0], "errors": errors}), flush=True)
        return 1
    print("ready", flush=True)

    def loop(index: int, client: Client) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            client.cycle(f"bench admin loop {index}-{n}", ops[index], errors)

    threads = [
        threading.Thread(
            target=loop,
            args=(i, first if i == 0 else Client(parts.hostname, parts.port, session)),
            daemon=True,
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(TIMEOUT_S + 1)
    print(json.dumps({"ops": [op for o in ops for op in o], "errors": errors[:20]}), flush=True)
    return 0


def _stop_on(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("user")
    parser.add_argument("password_file", type=Path)
    parser.add_argument("--clients", type=int, default=1, help="loops, each on its connection")
    args = parser.parse_args(argv)
    password = args.password_file.read_text(encoding="utf-8").strip()
    return run(args.url, args.user, password, max(1, args.clients))


if __name__ == "__main__":
    sys.exit(main())
