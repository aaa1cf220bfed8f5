"""A secret revoked as leaked (POST /v2/credentials/revoke) never works again: its token is not
activated until it is regenerated (without a grace period), personal or organization; a
regenerated token's old secret, reported in its grace period, stops at once."""

from __future__ import annotations

from typing import Any

import pytest

from regauth.domain.models import CLI_ACTOR
from regauth.domain.tokens import parse_token
from regauth.errors import Conflict
from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_admin_key,
    add_org,
    add_token,
    add_user,
    basic,
    sign_in,
)
from tests.support.secrets import remember

LEAKED = "the token's secret was revoked as leaked: regenerate it, then activate it"
NO_GRACE = "the token's secret was revoked as leaked: it gets no grace period"
PULL = "/token?service=registry&scope=repository:acme/app:pull"


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")


async def report(client: Client, secret: str) -> None:
    response = await client.post("/v2/credentials/revoke", json={"credentials": [secret]})
    assert response.status == 202


async def status_of(client: Client, path: str, user: str, secret: str) -> int:
    return (await client.get(path, headers=basic(user, secret))).status


async def call(
    client: Client, method: str, path: str, auth: dict[str, str], **body: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.request(method, path, json=body, headers=auth)
    found: dict[str, Any] = await response.json()
    if found.get("token"):
        remember(found["token"])
    return response.status, found


async def test_a_leaked_personal_token_is_activated_only_once_regenerated(
    client: Client, runtime: Runtime
) -> None:
    leaked = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(leaked).public_id).uuid
    url = f"/v2/access-tokens/{uuid}"
    await report(client, leaked)
    auth = await sign_in(client, "alice")

    status, body = await call(client, "PATCH", url, auth, is_active=True)
    assert (status, body["detail"]) == (409, LEAKED)
    assert await status_of(client, "/token", "alice", leaked) == 401
    # Nor by an admin (the admin API, the admin page and the CLI call the same service).
    record = runtime.tokens.get(parse_token(leaked).public_id)
    with pytest.raises(Conflict, match="revoked as leaked"):
        runtime.tokens.set_active(record, CLI_ACTOR, True)
    # A grace period would keep the leaked secret working beside the new one.
    status, body = await call(client, "POST", f"{url}/regenerate", auth, grace_period="1h")
    assert (status, body["detail"]) == (409, NO_GRACE)

    status, body = await call(client, "POST", f"{url}/regenerate", auth)
    assert status == 200, body
    new = body["token"]
    status, body = await call(client, "PATCH", url, auth, is_active=True)
    assert (status, body["is_active"]) == (200, True)
    assert await status_of(client, "/token", "alice", new) == 200
    assert await status_of(client, "/token", "alice", leaked) == 401


async def test_a_leaked_organization_token_is_activated_only_once_regenerated(
    client: Client, runtime: Runtime
) -> None:
    org = add_org(runtime, "acme", "alice")
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({"pull"})},
        public_read=False,
        expires_at=None,
    )
    leaked = remember(str(created.token))
    url = f"/v2/orgs/acme/access-tokens/{created.record.uuid}"
    await report(client, leaked)
    auth = await sign_in(client, "alice")

    status, body = await call(client, "PATCH", url, auth, is_active=True)
    assert (status, body["detail"]) == (409, LEAKED)
    assert await status_of(client, PULL, "acme", leaked) == 401

    status, body = await call(client, "POST", f"{url}/regenerate", auth)
    assert status == 200, body
    new = body["token"]
    status, body = await call(client, "PATCH", url, auth, is_active=True)
    assert (status, body["is_active"]) == (200, True)
    assert await status_of(client, PULL, "acme", new) == 200
    assert await status_of(client, PULL, "acme", leaked) == 401


async def test_a_token_deactivated_by_its_owner_is_activated_as_before(
    client: Client, runtime: Runtime
) -> None:
    secret = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(secret).public_id).uuid
    auth = await sign_in(client, "alice")
    url = f"/v2/access-tokens/{uuid}"
    assert (await call(client, "PATCH", url, auth, is_active=False))[0] == 200
    assert (await call(client, "PATCH", url, auth, is_active=True))[0] == 200
    assert await status_of(client, "/token", "alice", secret) == 200


async def test_a_secret_reported_while_its_token_is_inactive_is_revoked_too(
    client: Client, runtime: Runtime
) -> None:
    leaked = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(leaked).public_id).uuid
    auth = await sign_in(client, "alice")
    url = f"/v2/access-tokens/{uuid}"
    assert (await call(client, "PATCH", url, auth, is_active=False))[0] == 200
    await report(client, leaked)
    status, body = await call(client, "PATCH", url, auth, is_active=True)
    assert (status, body["detail"]) == (409, LEAKED)
    assert await status_of(client, "/token", "alice", leaked) == 401


async def test_a_regenerated_tokens_old_secret_reported_leaked_stops_at_once(
    client: Client, runtime: Runtime
) -> None:
    # Within its grace period the old secret still works: reported, it stops now, and the
    # token keeps working with the new one, which nobody has seen.
    old = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(old).public_id).uuid
    auth = await sign_in(client, "alice")
    url = f"/v2/access-tokens/{uuid}"
    status, body = await call(client, "POST", f"{url}/regenerate", auth, grace_period="1h")
    assert status == 200
    new = body["token"]
    assert await status_of(client, "/token", "alice", old) == 200

    await report(client, old)
    assert await status_of(client, "/token", "alice", old) == 401
    assert await status_of(client, "/token", "alice", new) == 200
    events = (await (await client.get("/v2/account/audit", headers=auth)).json())["events"]
    assert [e["details"] for e in events if e["action"] == "token.revoked_leaked"] == [
        {"owner": "alice", "secret": "previous"}
    ]


async def test_a_regenerated_organization_tokens_old_secret_reported_leaked_stops_at_once(
    client: Client, runtime: Runtime
) -> None:
    org = add_org(runtime, "acme", "alice")
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({"pull"})},
        public_read=False,
        expires_at=None,
    )
    old = remember(str(created.token))
    url = f"/v2/orgs/acme/access-tokens/{created.record.uuid}"
    auth = await sign_in(client, "alice")
    status, body = await call(client, "POST", f"{url}/regenerate", auth, grace_period="1h")
    assert status == 200
    new = body["token"]
    assert await status_of(client, PULL, "acme", old) == 200

    await report(client, old)
    assert await status_of(client, PULL, "acme", old) == 401
    assert await status_of(client, PULL, "acme", new) == 200


@pytest.mark.parametrize("admin", [False, True])
async def test_a_refused_activation_leaves_the_rename_sent_with_it_undone(
    client: Client, runtime: Runtime, admin: bool
) -> None:
    """One PATCH, one transaction: a rename and an activation that is refused change nothing."""
    leaked = add_token(runtime, "alice", description="ci")
    record = runtime.tokens.get(parse_token(leaked).public_id)
    await report(client, leaked)
    if admin:
        url, auth = f"/admin/v1/tokens/{record.id}", add_admin_key(runtime)
        body: dict[str, Any] = {"description": "renamed", "active": True}
    else:
        url, auth = f"/v2/access-tokens/{record.uuid}", await sign_in(client, "alice")
        body = {"token_label": "renamed", "is_active": True}

    status, answer = await call(client, "PATCH", url, auth, **body)

    assert (status, answer["detail"]) == (409, LEAKED)
    assert runtime.tokens.get(record.id).description == "ci"
