"""The leaked-credential revocation endpoint against two real workers: its per-address
allowance is given once for the machine, not once per worker."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path

from tests.server.test_workers import _serve, _wait_healthy


def _revoke(port: int) -> tuple[int, str]:
    """One report on a new connection (dealt to the workers in turn): status, worker prefix."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/credentials/revoke",
        data=json.dumps({"credentials": []}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            response.read()
            return response.status, response.headers["X-Request-Id"][:8]
    except urllib.error.HTTPError as exc:
        with exc:
            exc.read()
            return exc.code, exc.headers["X-Request-Id"][:8]


def test_the_revocation_allowance_is_counted_once_across_workers(tmp_path: Path) -> None:
    server, port, _ = _serve(tmp_path, REGAUTH_LIMITS_REVOCATIONS_PER_MINUTE="3")
    try:
        _wait_healthy(port)
        answers = [_revoke(port) for _ in range(10)]
        assert len({prefix for _, prefix in answers}) == 2  # both workers answered
        # With a count per worker, each would answer 202 three times: six in all.
        assert [status for status, _ in answers] == [202] * 3 + [429] * 7
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
