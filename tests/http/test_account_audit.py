"""GET /v2/account/audit: an account's own events, never another's, whatever its name."""

from __future__ import annotations

from typing import Any

import pytest

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR
from regauth.http.appkeys import RUNTIME
from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_admin_key,
    add_org,
    add_token,
    add_user,
    basic,
    reconfigured,
    sign_in,
)
from tests.support.clock import FakeClock

DAY = 86400


@pytest.fixture
def config(config: Config) -> Config:
    return reconfigured(config, limits={"deactivate_unused_after": "90d"})


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")


async def feed(client: Client, user: str) -> list[dict[str, Any]]:
    auth = await sign_in(client, user)
    response = await client.get("/v2/account/audit", headers=auth)
    assert response.status == 200
    events: list[dict[str, Any]] = (await response.json())["events"]
    return events


def seen(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["action"], e["target"]) for e in events}


# The internal actors' names (CLI_ACTOR, REVOCATION_ACTOR, POLICY_ACTOR) are account names too:
# SSO provisioning makes `cli` from cli@corp.example.
@pytest.mark.parametrize("name", ["cli", "revocation-api", "staleness-policy"])
async def test_an_account_named_like_an_internal_actor_sees_only_its_own_events(
    client: Client, runtime: Runtime, clock: FakeClock, name: str
) -> None:
    add_user(runtime, name)
    add_user(runtime, "bob")  # by the CLI, as every account here
    add_token(runtime, "bob")  # by the CLI too, and never used:
    clock.advance(91 * DAY)
    assert len(runtime.staleness.sweep().deactivated) == 1  # by the staleness policy
    leaked = add_token(runtime, "bob")
    add_admin_key(runtime)
    revoked = await client.post("/v2/credentials/revoke", json={"credentials": [leaked]})
    assert revoked.status == 202
    own = add_token(runtime, name)

    events = await feed(client, name)
    assert seen(events) == {("user.create", name), ("token.create", own[4:14])}
    assert all(e["target"] != "bob" and e["details"].get("owner") in (None, name) for e in events)
    # What was about bob is still in bob's feed.
    assert {"user.create", "token.create", "token.deactivated_stale", "token.revoked_leaked"} <= {
        e["action"] for e in await feed(client, "bob")
    }


async def test_an_account_sees_nothing_of_an_earlier_holder_of_its_name(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    # An organization called acme, deleted; someone's failed sign-ins as acme; then, an hour
    # later, an account gets the name.
    runtime.organizations.delete(add_org(runtime, "acme", "alice"), CLI_ACTOR)
    assert (await client.get("/token", headers=basic("acme", "guess"))).status == 401
    client.app[RUNTIME].usage.flush()
    runtime.audit.flush()
    clock.advance(3600)
    add_user(runtime, "acme")
    assert seen(await feed(client, "acme")) == {("user.create", "acme")}

    # Its own failed sign-ins are its events.
    assert (await client.get("/token", headers=basic("acme", "guess"))).status == 401
    client.app[RUNTIME].usage.flush()
    runtime.audit.flush()
    assert ("auth.failed", "acme") in seen(await feed(client, "acme"))
