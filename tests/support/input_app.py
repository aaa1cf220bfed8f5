"""The app the malformed-input tests send raw bytes to: accounts, credentials, no lock-outs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.domain.tokens import parse_token
from regauth.http.app import create_app
from regauth.runtime import Runtime
from tests.support import raw_http
from tests.support.builders import add_token, add_user, make_config

Client = TestClient[web.Request, web.Application]
LOGIN = b'{"username": "alice", "password": "alice-password"}'


def input_config(tmp_path: Path) -> Config:
    # The test client stands for a proxy (X-Forwarded-For is read); no lock-outs get in the way.
    return make_config(
        tmp_path,
        server={"access_log": False, "trusted_proxies": ("127.0.0.1/32",)},
        limits={"failures_per_user_ip": 10**6, "failures_per_ip": 10**6},
    )


@dataclass(frozen=True)
class InputApp:
    client: Client
    runtime: Runtime
    auth: dict[str, bytes]  # name -> Authorization value
    values: dict[str, str]  # fills {names} in request targets

    async def send(self, data: bytes) -> raw_http.RawResponse:
        return await raw_http.send(self.client.server.host, self.client.server.port, data)


async def input_app(runtime: Runtime, aiohttp_client: Any) -> InputApp:
    """alice (a PAT, a password session, the organization acme, three tokens), root (admin)."""
    add_user(runtime, "alice", "alice-password")
    add_user(runtime, "root", None, admin=True)  # no password: each hash is ~25 ms of argon2
    add_user(runtime, "carol", None)  # for admin changes that would lock alice out
    pat = add_token(runtime, "alice", AccessLevel.DELETE)
    spare = add_token(runtime, "alice", AccessLevel.READ)  # for changes that would end `pat`
    add_token(runtime, "alice", AccessLevel.READ)
    runtime.organizations.create("acme", runtime.users.get("alice"), CLI_ACTOR)
    client = await aiohttp_client(create_app(runtime))
    login = await client.post(
        "/v2/users/login", data=LOGIN, headers={"Content-Type": "application/json"}
    )
    session = (await login.json())["token"]
    auth = {
        "pat": b"Basic " + base64.b64encode(f"alice:{pat}".encode()),
        "session": f"Bearer {session}".encode(),
        "admin_key": f"Bearer {runtime.admin_keys.create('tests', CLI_ACTOR).secret}".encode(),
    }
    record = runtime.tokens.get(parse_token(pat).public_id)
    other = runtime.tokens.get(parse_token(spare).public_id)
    values = {"uuid": record.uuid, "id": record.id, "spare_uuid": other.uuid, "spare_id": other.id}
    return InputApp(client, runtime, auth, values)
