"""Organizations through the real app: members, teams, permissions, organization access tokens."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from regauth.domain.models import CLI_ACTOR, AccessLevel, Visibility
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


@pytest.fixture(autouse=True)
def acme(runtime: Runtime) -> None:
    """olivia owns acme; dave and mallory are not in it yet; root is an admin."""
    for name in ("olivia", "mallory", "dave"):
        add_user(runtime, name)
    add_user(runtime, "root", admin=True)
    add_org(runtime, "acme", "olivia")


async def granted(
    client: Client, runtime: Runtime, user: str, secret: str, scope: str
) -> list[str]:
    response = await client.get(
        f"/token?service=registry&scope={scope}", headers=basic(user, secret)
    )
    assert response.status == 200, await response.text()
    claims = jwt.decode((await response.json())["token"], options={"verify_signature": False})
    return [a for entry in claims["access"] for a in entry["actions"]]


async def setup_team(
    client: Client, owner: dict[str, str], member: str, pattern: str, permission: str
) -> None:
    assert (
        await client.put(f"/v2/orgs/acme/members/{member}", json={"role": "member"}, headers=owner)
    ).status == 200
    await client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner)
    r = await client.post(
        "/v2/orgs/acme/groups/devs/members", json={"member": member}, headers=owner
    )
    assert r.status == 200, await r.text()
    r = await client.put(
        "/v2/orgs/acme/groups/devs/permissions",
        json={"pattern": pattern, "permission": permission},
        headers=owner,
    )
    assert r.status == 200, await r.text()


async def test_team_permissions_reach_members_pats_within_their_level(
    client: Client, runtime: Runtime
) -> None:
    owner = await sign_in(client, "olivia")
    await setup_team(client, owner, "dave", "ci/*", "write")
    write_pat = add_token(runtime, "dave", AccessLevel.WRITE)
    read_pat = add_token(runtime, "dave", AccessLevel.READ)
    assert await granted(client, runtime, "dave", write_pat, "repository:acme/ci/build:*") == [
        "pull",
        "push",
    ]
    assert await granted(client, runtime, "dave", read_pat, "repository:acme/ci/build:*") == [
        "pull"
    ]
    assert await granted(client, runtime, "dave", write_pat, "repository:acme/secret:pull") == []
    olivia_pat = add_token(runtime, "olivia", AccessLevel.DELETE)
    assert await granted(client, runtime, "olivia", olivia_pat, "repository:acme/secret:*") == [
        "delete",
        "pull",
        "push",
    ]
    assert (
        await granted(
            client, runtime, "mallory", "mallory-password", "repository:acme/ci/build:pull"
        )
        == []
    )


async def test_removing_a_member_ends_access_at_once(client: Client, runtime: Runtime) -> None:
    owner = await sign_in(client, "olivia")
    await setup_team(client, owner, "dave", "app", "write")
    pat = add_token(runtime, "dave", AccessLevel.WRITE)
    assert await granted(client, runtime, "dave", pat, "repository:acme/app:pull,push") == [
        "pull",
        "push",
    ]
    assert (
        await client.delete("/v2/orgs/acme/groups/devs/members/dave", headers=owner)
    ).status == 204
    assert await granted(client, runtime, "dave", pat, "repository:acme/app:pull,push") == []
    await client.post("/v2/orgs/acme/groups/devs/members", json={"member": "dave"}, headers=owner)
    assert (await client.delete("/v2/orgs/acme/members/dave", headers=owner)).status == 204
    assert await granted(client, runtime, "dave", pat, "repository:acme/app:pull") == []
    team = await (await client.get("/v2/orgs/acme/groups/devs", headers=owner)).json()
    assert team["members"] == []  # leaving the organization leaves its teams


async def test_org_tokens_reach_listed_repositories_and_outlive_their_creator(
    client: Client, runtime: Runtime
) -> None:
    owner = await sign_in(client, "olivia")
    await client.put("/v2/orgs/acme/members/dave", json={"role": "owner"}, headers=owner)
    dave = await sign_in(client, "dave")
    response = await client.post(
        "/v2/orgs/acme/access-tokens",
        json={
            "label": "ci",
            "resources": [
                {
                    "type": "TYPE_REPO",
                    "path": "acme/app",
                    "scopes": ["scope-image-pull", "scope-image-push"],
                },
                {"type": "TYPE_REPO", "path": "acme/docs", "scopes": ["scope-image-pull"]},
                {"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["scope-image-pull"]},
            ],
        },
        headers=dave,
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    secret = body["token"]
    assert secret.startswith("rgo_") and body["created_by"] == "dave"
    assert {r["path"] for r in body["resources"]} == {"acme/app", "acme/docs", "*/*/public"}
    runtime.repositories.set_visibility("olivia/public-thing", Visibility.PUBLIC, CLI_ACTOR)

    assert await granted(client, runtime, "acme", secret, "repository:acme/app:pull,push") == [
        "pull",
        "push",
    ]
    assert await granted(client, runtime, "acme", secret, "repository:acme/docs:pull,push") == [
        "pull"
    ]
    assert await granted(client, runtime, "acme", secret, "repository:acme/other:pull") == []
    assert await granted(
        client, runtime, "acme", secret, "repository:olivia/public-thing:pull"
    ) == ["pull"]
    assert (
        await client.get("/token", headers=basic("dave", secret))
    ).status == 401  # the org's name
    # the person who made it leaves; the token keeps working
    await client.delete("/v2/orgs/acme/members/dave", headers=owner)
    assert await granted(client, runtime, "acme", secret, "repository:acme/app:push") == ["push"]
    # deactivated through the API: refused at once
    url = f"/v2/orgs/acme/access-tokens/{body['id']}"
    patched = await client.patch(url, json={"is_active": False}, headers=owner)
    assert (await patched.json())["is_active"] is False
    refused = await client.get("/token", headers=basic("acme", secret))
    assert (await refused.json())["details"] == "organization access token is inactive"
    assert (await client.delete(url, headers=owner)).status == 204
    assert (await client.get("/token", headers=basic("acme", secret))).status == 401


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            [{"type": "TYPE_REPO", "path": "other/app", "scopes": ["scope-image-pull"]}],
            "is not a repository of 'acme'",
        ),
        (
            [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-delete"]}],
            "scope-image-pull and/or scope-image-push",
        ),
        ([{"type": "TYPE_ORG", "path": "acme", "scopes": ["scope-image-pull"]}], "type TYPE_REPO"),
        (
            [
                {"type": "TYPE_REPO", "path": f"acme/r{i}", "scopes": ["scope-image-pull"]}
                for i in range(51)
            ],
            "at most 50",
        ),
        (
            [{"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["scope-image-push"]}],
            "can only be pulled",
        ),
    ],
)
async def test_bad_org_token_requests_are_400(
    client: Client, resources: list[Any], message: str
) -> None:
    owner = await sign_in(client, "olivia")
    response = await client.post(
        "/v2/orgs/acme/access-tokens", json={"label": "x", "resources": resources}, headers=owner
    )
    assert response.status == 400
    assert message in (await response.json())["detail"]


async def test_only_owners_with_a_password_session_manage(client: Client, runtime: Runtime) -> None:
    owner = await sign_in(client, "olivia")
    await client.put("/v2/orgs/acme/members/dave", json={"role": "member"}, headers=owner)
    dave = await sign_in(client, "dave")
    mallory = await sign_in(client, "mallory")
    assert (await client.get("/v2/orgs/acme/members", headers=dave)).status == 200  # members read
    assert (
        await client.get("/v2/orgs/acme/members", headers=mallory)
    ).status == 404  # outsiders see nothing
    r = await client.post("/v2/orgs/acme/access-tokens", json={"label": "x"}, headers=dave)
    assert r.status == 403 and "only owners" in (await r.json())["detail"]
    owner_pat_session = await sign_in(client, "olivia", add_token(runtime, "olivia"))
    r = await client.post("/v2/orgs/acme/groups", json={"name": "x"}, headers=owner_pat_session)
    assert r.status == 403 and "personal access token" in (await r.json())["detail"]
    root = await sign_in(client, "root")  # an admin acts as an owner
    assert (
        await client.post("/v2/orgs/acme/groups", json={"name": "ops"}, headers=root)
    ).status == 201


async def test_the_last_owner_cannot_leave(client: Client) -> None:
    owner = await sign_in(client, "olivia")
    response = await client.delete("/v2/orgs/acme/members/olivia", headers=owner)
    assert response.status == 409
    assert (await response.json())["detail"] == "an organization keeps at least one owner"


async def test_admins_create_organizations_through_the_admin_api(
    client: Client, runtime: Runtime
) -> None:
    admin_key = add_admin_key(runtime)
    response = await client.post(
        "/admin/v1/orgs", json={"name": "globex", "owner": "dave"}, headers=admin_key
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["name"] == "globex"
    listed = await (await client.get("/admin/v1/orgs", headers=admin_key)).json()
    assert [o["name"] for o in listed["orgs"]] == ["acme", "globex"]
    dave = await sign_in(client, "dave")
    members = await (await client.get("/v2/orgs/globex/members", headers=dave)).json()
    assert [(m["username"], m["role"]) for m in members["results"]] == [("dave", "Owner")]
    olivia = await sign_in(client, "olivia")  # owning an organization makes no admin
    refused = await client.post(
        "/admin/v1/orgs", json={"name": "initech", "owner": "olivia"}, headers=olivia
    )
    assert refused.status == 403


async def test_members_and_groups_in_hub_shapes(client: Client) -> None:
    owner = await sign_in(client, "olivia")
    await setup_team(client, owner, "dave", "app", "read")
    members = await (await client.get("/v2/orgs/acme/members", headers=owner)).json()
    assert {(m["username"], m["role"]) for m in members["results"]} == {
        ("olivia", "Owner"),
        ("dave", "Member"),
    }
    assert [m["groups"] for m in members["results"] if m["username"] == "dave"] == [["devs"]]
    groups = await (await client.get("/v2/orgs/acme/groups", headers=owner)).json()
    assert groups["results"][0]["member_count"] == 1
    assert groups["results"][0]["permissions"] == [{"pattern": "app", "permission": "read"}]
    group_members = await (
        await client.get("/v2/orgs/acme/groups/devs/members", headers=owner)
    ).json()
    assert group_members["results"] == [{"id": "dave", "username": "dave", "type": "User"}]
    bad = await client.put(
        "/v2/orgs/acme/groups/devs/permissions",
        json={"pattern": "../x", "permission": "read"},
        headers=owner,
    )
    assert bad.status == 400


async def test_owners_set_visibility_of_their_namespace(client: Client) -> None:
    owner = await sign_in(client, "olivia")
    r = await client.patch(
        "/v2/namespaces/acme/repositories/site", json={"is_private": False}, headers=owner
    )
    assert (await r.json())["visibility"] == "public"
    r = await client.patch(
        "/v2/namespaces/olivia/repositories/blog", json={"is_private": False}, headers=owner
    )
    assert r.status == 200
    mallory = await sign_in(client, "mallory")
    r = await client.patch(
        "/v2/namespaces/olivia/repositories/blog", json={"is_private": True}, headers=mallory
    )
    assert r.status == 403
    r = await client.patch(
        "/v2/namespaces/acme/repositories/site", json={"is_private": True}, headers=mallory
    )
    assert r.status == 404


async def test_team_patterns_are_relative_to_the_organization(client: Client) -> None:
    owner = await sign_in(client, "olivia")
    await client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner)
    response = await client.put(
        "/v2/orgs/acme/groups/devs/permissions",
        json={"pattern": "acme/app", "permission": "read"},
        headers=owner,
    )
    assert response.status == 400
    assert "use 'app'" in (await response.json())["detail"]


async def test_a_group_description_a_terminal_would_act_on_is_refused(client: Client) -> None:
    """`regauth team list` prints descriptions in an administrator's terminal."""
    owner = await sign_in(client, "olivia")
    bad = {"name": "devs", "description": "Developers\x1b]2;owned\x07"}
    response = await client.post("/v2/orgs/acme/groups", json=bad, headers=owner)
    assert response.status == 400
    assert "must not contain control characters" in (await response.json())["detail"]
    good = {"name": "devs", "description": "Développeurs \U0001f468\u200d\U0001f4bb"}
    assert (await client.post("/v2/orgs/acme/groups", json=good, headers=owner)).status == 201
    response = await client.patch(
        "/v2/orgs/acme/groups/devs", json={"description": "\u202estaets"}, headers=owner
    )
    assert response.status == 400
    groups = await (await client.get("/v2/orgs/acme/groups", headers=owner)).json()
    assert [g["description"] for g in groups["results"]] == [good["description"]]
