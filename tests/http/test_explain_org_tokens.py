"""`POST /admin/v1/explain` for an organization token: what /token would grant it, and why not
the rest, from the same principal /token builds."""

from __future__ import annotations

import jwt

from regauth.domain.models import CLI_ACTOR
from regauth.runtime import Runtime
from tests.support.builders import Client, add_admin_key, add_org, add_user, basic
from tests.support.secrets import remember


async def test_an_organization_token_is_explained_as_token_grants_it(
    client: Client, runtime: Runtime
) -> None:
    add_user(runtime, "alice", None)
    admin_key = add_admin_key(runtime)
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
    secret = remember(str(created.token))
    scope = "repository:acme/app:pull,push"
    response = await client.post(
        "/admin/v1/explain", json={"token": created.record.id, "scope": scope}, headers=admin_key
    )
    assert response.status == 200
    body = await response.json()
    assert body["subject"] == f"organization token {created.record.id} of acme"
    assert body["credential_refused"] is None
    assert [(g["name"], g["actions"]) for g in body["granted"]] == [("acme/app", ["pull"])]
    assert [(d["name"], d["action"]) for d in body["denied"]] == [("acme/app", "push")]

    # The same grant /token makes for this token.
    token = await client.get(f"/token?scope={scope}", headers=basic("acme", secret))
    assert token.status == 200
    claims = jwt.decode((await token.json())["token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]

    runtime.org_tokens.update(
        org,
        created.record,
        CLI_ACTOR,
        label=None,
        active=False,
        resources=None,
        public_read=None,
    )
    by_uuid = await client.post(
        "/admin/v1/explain",
        json={"token": created.record.uuid, "scope": scope},
        headers=admin_key,
    )
    assert (await by_uuid.json())["credential_refused"] == "organization access token is inactive"
