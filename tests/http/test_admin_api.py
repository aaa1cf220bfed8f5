"""The admin API: who may call it, users, tokens across users, repositories, audit, explain."""

from __future__ import annotations

import pytest

from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.http.appkeys import RUNTIME
from regauth.runtime import Runtime
from tests.support.builders import Client, add_admin_key, add_token, add_user, basic, sign_in
from tests.support.clock import FakeClock


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "root", admin=True)
    add_user(runtime, "alice")


@pytest.fixture
def admin_key(runtime: Runtime) -> dict[str, str]:
    return add_admin_key(runtime)


async def test_admin_key_and_admin_login_are_accepted(
    client: Client, admin_key: dict[str, str], runtime: Runtime
) -> None:
    for auth in (admin_key, await sign_in(client, "root")):
        response = await client.get("/admin/v1/users", headers=auth)
        assert response.status == 200
        assert {u["name"] for u in (await response.json())["users"]} == {"root", "alice"}
    runtime.usage.flush()  # last use is written with the usage batch
    key = runtime.admin_keys.list()[0]
    assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"


async def test_non_admins_pats_and_revoked_keys_are_refused(
    client: Client, runtime: Runtime, admin_key: dict[str, str]
) -> None:
    user = await sign_in(client, "alice")
    response = await client.get("/admin/v1/users", headers=user)
    assert response.status == 403
    assert (await response.json())["detail"] == "administrator rights are required"
    # an admin's own PAT is still a PAT
    root_pat = add_token(runtime, "root", AccessLevel.DELETE)
    pat_session = await sign_in(client, "root", root_pat)
    assert (await client.get("/admin/v1/users", headers=pat_session)).status == 403
    raw_pat = {"Authorization": f"Bearer {root_pat}"}
    assert (await client.get("/admin/v1/users", headers=raw_pat)).status == 401
    runtime.admin_keys.revoke(runtime.admin_keys.list()[0].id, CLI_ACTOR)
    response = await client.get("/admin/v1/users", headers=admin_key)
    assert response.status == 401
    assert (await response.json())["detail"] == "admin API key is revoked"


async def test_user_management(client: Client, admin_key: dict[str, str]) -> None:
    response = await client.post(
        "/admin/v1/users", json={"name": "carol", "password": "carol-password"}, headers=admin_key
    )
    assert response.status == 201
    assert (await response.json())["has_password"] is True
    bad = await client.post("/admin/v1/users", json={"name": "Carol!"}, headers=admin_key)
    assert bad.status == 400
    dup = await client.post("/admin/v1/users", json={"name": "carol"}, headers=admin_key)
    assert dup.status == 409

    r = await client.patch("/admin/v1/users/carol", json={"disabled": True}, headers=admin_key)
    assert (await r.json())["disabled"] is True
    denied = await client.get("/token", headers=basic("carol", "carol-password"))
    assert (await denied.json())["details"] == "account is disabled"
    await client.patch("/admin/v1/users/carol", json={"disabled": False}, headers=admin_key)
    await client.patch(
        "/admin/v1/users/carol", json={"password": "new-password", "admin": True}, headers=admin_key
    )
    assert (await client.get("/token", headers=basic("carol", "carol-password"))).status == 401
    assert (await client.get("/token", headers=basic("carol", "new-password"))).status == 200
    shown = await (await client.get("/admin/v1/users/carol", headers=admin_key)).json()
    assert shown["admin"] is True
    assert (await client.get("/admin/v1/users/nobody", headers=admin_key)).status == 404


async def test_a_disabled_users_tokens_stop_at_once(
    client: Client, runtime: Runtime, admin_key: dict[str, str]
) -> None:
    pat = add_token(runtime, "alice")
    assert (await client.get("/token", headers=basic("alice", pat))).status == 200
    await client.patch("/admin/v1/users/alice", json={"disabled": True}, headers=admin_key)
    assert (await client.get("/token", headers=basic("alice", pat))).status == 401


async def test_token_listing_filters_and_changes(
    client: Client, runtime: Runtime, admin_key: dict[str, str], clock: FakeClock
) -> None:
    old = add_token(runtime, "alice", description="old", expires_at=int(clock.now) + 10)
    live = add_token(runtime, "root", description="live")
    await client.get("/token", headers=basic("root", live))
    clock.advance(20)

    async def ids(query: str) -> set[str]:
        response = await client.get(f"/admin/v1/tokens?{query}", headers=admin_key)
        assert response.status == 200, await response.text()
        return {t["id"] for t in (await response.json())["tokens"]}

    client.app[RUNTIME].usage.flush()
    assert await ids("") == {old[4:14], live[4:14]}
    assert await ids("user=alice") == {old[4:14]}
    assert await ids("state=expired") == {old[4:14]}
    assert await ids("state=active") == {live[4:14]}
    assert await ids("kind=manual") == {old[4:14], live[4:14]}
    assert await ids(f"last_used_after={int(clock.now) - 60}") == {live[4:14]}
    assert await ids(f"last_used_before={int(clock.now) - 60}") == {old[4:14]}  # never used
    assert (await client.get("/admin/v1/tokens?state=weird", headers=admin_key)).status == 400

    url = f"/admin/v1/tokens/{live[4:14]}"
    shown = await (await client.get(url, headers=admin_key)).json()
    assert shown["last_used_ip"] == "127.0.0.1" and shown["user"] == "root"
    r = await client.patch(url, json={"active": False}, headers=admin_key)
    assert (await r.json())["state"] == "inactive"
    assert (await client.get("/token", headers=basic("root", live))).status == 401
    assert (await client.delete(url, headers=admin_key)).status == 204
    assert (await client.get(url, headers=admin_key)).status == 404


async def test_repositories_audit_and_explain(
    client: Client, runtime: Runtime, admin_key: dict[str, str]
) -> None:
    r = await client.patch(
        "/admin/v1/repositories/alice/site", json={"visibility": "public"}, headers=admin_key
    )
    assert r.status == 200 and (await r.json())["visibility"] == "public"
    listed = await (await client.get("/admin/v1/repositories", headers=admin_key)).json()
    assert listed["repositories"][0]["name"] == "alice/site"

    pat = add_token(runtime, "alice", AccessLevel.READ)
    r = await client.post(
        "/admin/v1/explain",
        json={"token": pat[4:14], "scope": "repository:alice/app:pull,push,delete"},
        headers=admin_key,
    )
    body = await r.json()
    assert body["granted"] == [
        {
            "type": "repository",
            "name": "alice/app",
            "actions": ["pull"],
            "reasons": ["pull: owner of namespace 'alice'"],
        }
    ]
    assert {d["action"]: d["reason"] for d in body["denied"]} == {
        "delete": "token access level 'read' excludes it",
        "push": "token access level 'read' excludes it",
    }
    r = await client.post(
        "/admin/v1/explain",
        json={"user": "root", "scope": "repository:alice/x:push"},
        headers=admin_key,
    )
    assert (await r.json())["denied"][0]["reason"].startswith("not the owner of namespace 'alice'")
    bad = await client.post("/admin/v1/explain", json={"scope": "x"}, headers=admin_key)
    assert bad.status == 400

    events = await (
        await client.get("/admin/v1/audit?action=repository.visibility", headers=admin_key)
    ).json()
    assert len(events["events"]) == 1
    assert events["events"][0]["actor_kind"] == "admin_key"
    assert events["events"][0]["target"] == "alice/site"


async def test_explain_tells_when_the_credential_itself_is_refused(
    client: Client, runtime: Runtime, admin_key: dict[str, str]
) -> None:
    pat = add_token(runtime, "alice")
    runtime.tokens.set_active(runtime.tokens.get(pat[4:14]), CLI_ACTOR, False)
    r = await client.post(
        "/admin/v1/explain",
        json={"token": pat[4:14], "scope": "repository:alice/app:pull"},
        headers=admin_key,
    )
    body = await r.json()
    assert body["credential_refused"] == "personal access token is inactive"
    assert body["granted"] == []
    assert body["denied"][0]["reason"] == "personal access token is inactive"


async def test_an_admin_key_has_no_account_of_its_own(
    client: Client, admin_key: dict[str, str]
) -> None:
    response = await client.post(
        "/v2/access-tokens", json={"token_label": "x", "scopes": ["repo:read"]}, headers=admin_key
    )
    assert response.status == 403
    assert (await response.json())["detail"] == "an admin API key has no account of its own"
