"""The client's address behind a trusted proxy: every X-Forwarded-For line counts, in order."""

from __future__ import annotations

from pathlib import Path

import pytest
from multidict import CIMultiDict

from regauth.config import Config
from regauth.domain.models import AuditQuery
from regauth.runtime import Runtime
from tests.support.builders import Client, add_user, basic, make_config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, server={"trusted_proxies": ("127.0.0.1/32",)})


@pytest.mark.parametrize(
    ("lines", "address"),
    [
        (["203.0.113.5"], "203.0.113.5"),
        # A proxy that adds its own line (HAProxy's `option forwardfor`, nginx's
        # `$http_x_forwarded_for` kept by some setups) after the one the client sent: the
        # client's own line is to the left and is never believed.
        (["198.51.100.7", "203.0.113.5"], "203.0.113.5"),
        (["198.51.100.7, 192.0.2.1", "203.0.113.5"], "203.0.113.5"),
        (["203.0.113.5", "127.0.0.1"], "203.0.113.5"),  # a trusted hop on the right is skipped
    ],
)
async def test_the_client_is_the_rightmost_untrusted_hop_of_all_lines(
    runtime: Runtime, client: Client, lines: list[str], address: str
) -> None:
    add_user(runtime, "alice")
    headers = CIMultiDict([*basic("alice", "wrong").items()])
    for line in lines:
        headers.add("X-Forwarded-For", line)
    assert (await client.get("/token", headers=headers)).status == 401
    runtime.audit.flush()
    [failure] = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert failure.ip == address
