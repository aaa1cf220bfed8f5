"""How many connections a worker holds: max_connections, within its open-files limit."""

from __future__ import annotations

import pytest

from regauth.config import ServerConfig
from regauth.http.connections import ConnectionLimits, connection_cap


@pytest.mark.parametrize(
    ("configured", "open_files", "cap"),
    [
        (1000, 1_048_576, 1000),  # a container's limit: the setting holds
        (1000, 1024, 864),  # a common default soft limit: 160 kept for the rest
        (1000, 256, 96),
        (50, 256, 50),
        (1000, 100, 1),  # never 0 or less: a worker that takes nothing is no worker
    ],
)
def test_the_cap_leaves_descriptors_for_the_rest_of_the_worker(
    configured: int, open_files: int, cap: int
) -> None:
    assert connection_cap(configured, open_files) == cap


def test_the_limits_come_from_the_server_section() -> None:
    server = ServerConfig(
        header_timeout_seconds=2, body_timeout_seconds=3, keepalive_timeout_seconds=4
    )
    assert ConnectionLimits.for_worker(server, open_files=20_000) == ConnectionLimits(
        header_timeout=2, body_timeout=3, keepalive_timeout=4, max_connections=1000
    )
