"""The app the malformed-input tests send raw bytes to: accounts, credentials, no lock-outs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regauth.config import Config
from regauth.domain.models import AccessLevel
from regauth.domain.tokens import parse_token
from regauth.runtime import Runtime
from tests.support import raw_http
from tests.support.builders import (
    Client,
    add_admin_key,
    add_org,
    add_token,
    add_user,
    basic,
    make_config,
    sign_in,
)

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
        server = self.client.server
        assert server.port is not None  # the client's server is started
        return await raw_http.send(server.host, server.port, data)


async def input_app(runtime: Runtime, client: Client) -> InputApp:
    """alice (a PAT, a password session, the organization acme, three tokens), root (admin),
    served by `client` (the `client` fixture: the real app over `runtime`)."""
    add_user(runtime, "alice")
    add_user(runtime, "root", None, admin=True)  # no password: each hash is ~25 ms of argon2
    add_user(runtime, "carol", None)  # for admin changes that would lock alice out
    pat = add_token(runtime, "alice", AccessLevel.DELETE)
    spare = add_token(runtime, "alice", AccessLevel.READ)  # for changes that would end `pat`
    add_token(runtime, "alice", AccessLevel.READ)
    add_org(runtime, "acme", "alice")
    auth = {
        "pat": basic("alice", pat)["Authorization"].encode(),
        "session": (await sign_in(client, "alice"))["Authorization"].encode(),
        "admin_key": add_admin_key(runtime, "tests")["Authorization"].encode(),
    }
    record = runtime.tokens.get(parse_token(pat).public_id)
    other = runtime.tokens.get(parse_token(spare).public_id)
    values = {"uuid": record.uuid, "id": record.id, "spare_uuid": other.uuid, "spare_id": other.id}
    return InputApp(client, runtime, auth, values)
