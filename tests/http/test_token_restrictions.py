"""Fine-grained and network-bound credentials through the real app: made with the account API,
what `/token` grants them and from where, explained by the admin API; refusals counted by the
sign-in throttle and kept in the audit trail.

The app trusts its loopback peer as a proxy, so each request says with X-Forwarded-For which
address the client is at (as an operator's proxy would).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, AccessLevel, AuditQuery
from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_org,
    add_user,
    basic,
    bearer,
    make_config,
    reconfigured,
    sign_in,
)
from tests.support.secrets import remember

INSIDE, OUTSIDE = "10.1.2.3", "192.0.2.7"


@pytest.fixture
def config(tmp_path: Path, contract_database: str | None) -> Config:
    config = make_config(
        tmp_path,
        server={"trusted_proxies": ("127.0.0.1/32", "::1/128")},
        limits={"failures_per_user_ip": 2},
    )
    if contract_database is not None:
        config = reconfigured(config, storage={"url": contract_database})
    return config


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "root", admin=True)


def at(ip: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Forwarded-For": ip}


async def create_pat(client: Client, **fields: Any) -> dict[str, Any]:
    session = await sign_in(client, "alice")
    body = {"token_label": "ci", "scopes": ["repo:write"], **fields}
    response = await client.post("/v2/access-tokens", json=body, headers=session)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    remember(created["token"])
    return created


async def registry_token(
    client: Client, username: str, secret: str, scope: str, ip: str = INSIDE
) -> tuple[int, dict[str, Any]]:
    response = await client.get(
        f"/token?service=registry&scope={scope}", headers=at(ip, basic(username, secret))
    )
    return response.status, await response.json()


def access(body: dict[str, Any]) -> list[dict[str, Any]]:
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    return list(claims["access"])


# -- fine-grained personal access tokens --------------------------------------------------------


async def test_a_fine_grained_pat_reaches_only_the_repositories_it_lists(
    client: Client, runtime: Runtime
) -> None:
    org = add_org(runtime, "acme", "alice")
    assert org.name == "acme"
    created = await create_pat(client, repositories=["alice/app", "acme/ci/*"])
    assert created["repositories"] == ["alice/app", "acme/ci/*"]
    assert created["allow_from"] is None
    pat = created["token"]

    status, body = await registry_token(client, "alice", pat, "repository:alice/app:push,pull")
    assert status == 200
    assert access(body) == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}
    ]
    status, body = await registry_token(client, "alice", pat, "repository:acme/ci/build:push")
    assert access(body) == [{"type": "repository", "name": "acme/ci/build", "actions": ["push"]}]
    # Another repository of the owner's own, and of the organization: nothing for it.
    for other in ("alice/other", "acme/web"):
        status, body = await registry_token(client, "alice", pat, f"repository:{other}:pull")
        assert (status, access(body)) == (200, []), other

    # The account API shows the list; the admin API too.
    session = await sign_in(client, "alice")
    shown = await (await client.get(f"/v2/access-tokens/{created['uuid']}", headers=session)).json()
    assert shown["repositories"] == ["alice/app", "acme/ci/*"]
    root = await sign_in(client, "root")
    admin_view = await (await client.get(f"/admin/v1/tokens/{created['id']}", headers=root)).json()
    assert admin_view["repositories"] == ["alice/app", "acme/ci/*"]


async def test_explain_names_the_repository_a_fine_grained_token_does_not_list(
    client: Client,
) -> None:
    created = await create_pat(client, repositories=["alice/app"])
    root = await sign_in(client, "root")
    response = await client.post(
        "/admin/v1/explain",
        json={"token": created["id"], "scope": "repository:alice/other:pull"},
        headers=root,
    )
    body = await response.json()
    assert body["denied"] == [
        {
            "type": "repository",
            "name": "alice/other",
            "action": "pull",
            "reason": "token does not list 'alice/other'",
        }
    ]
    assert body["allowed_from"] is None


@pytest.mark.parametrize(
    ("repositories", "message"),
    [
        ([], "the token lists no repository: give at least one, or no list at all"),
        (["app"], "'app' is neither a repository (namespace/name) nor a pattern"),
        ([f"alice/r{i}" for i in range(51)], "a token lists at most 50 repositories"),
    ],
)
async def test_a_bad_repository_list_is_a_400_that_says_why(
    client: Client, runtime: Runtime, repositories: list[str], message: str
) -> None:
    session = await sign_in(client, "alice")
    body = {"token_label": "ci", "scopes": ["repo:read"], "repositories": repositories}
    response = await client.post("/v2/access-tokens", json=body, headers=session)
    assert response.status == 400
    assert message in (await response.json())["detail"]
    assert runtime.tokens.list_for(runtime.users.get("alice")) == []


# -- network-bound tokens -----------------------------------------------------------------------


async def test_a_network_bound_pat_is_refused_from_elsewhere_with_the_address(
    client: Client, runtime: Runtime
) -> None:
    created = await create_pat(client, allow_from=["10.0.0.0/8", "2001:db8::/32"])
    assert created["allow_from"] == ["10.0.0.0/8", "2001:db8::/32"]
    pat, scope = created["token"], "repository:alice/app:pull"

    assert (await registry_token(client, "alice", pat, scope, INSIDE))[0] == 200
    # Verified once (and so remembered): still refused from another address, on every request.
    status, body = await registry_token(client, "alice", pat, scope, OUTSIDE)
    assert status == 401
    assert body["details"] == f"token not allowed from {OUTSIDE}"
    assert (await registry_token(client, "alice", pat, scope, "2001:db8::5"))[0] == 200
    assert (await registry_token(client, "alice", pat, scope, "::ffff:10.9.9.9"))[0] == 200

    runtime.audit.flush()
    [failure] = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert (failure.actor, failure.ip) == ("alice", OUTSIDE)
    assert failure.details == {"reason": f"token not allowed from {OUTSIDE}"}
    assert runtime.metrics.signin_failures["network"] == 1


async def test_refusals_from_elsewhere_are_counted_by_the_sign_in_throttle(
    client: Client, runtime: Runtime
) -> None:
    pat = (await create_pat(client, allow_from=["10.0.0.0/8"]))["token"]
    scope = "repository:alice/app:pull"
    statuses = [(await registry_token(client, "alice", pat, scope, OUTSIDE))[0] for _ in range(4)]
    # failures_per_user_ip = 2: two free failures, then a lock-out for that address and name.
    assert statuses == [401, 401, 429, 429]
    # Another address of the token's own network is not held back by the lock-out.
    assert (await registry_token(client, "alice", pat, scope, INSIDE))[0] == 200


async def test_a_pat_session_keeps_to_the_networks_of_its_token(client: Client) -> None:
    pat = (await create_pat(client, allow_from=["10.0.0.0/8"]))["token"]
    login = await client.post(
        "/v2/users/login", json={"username": "alice", "password": pat}, headers=at(OUTSIDE, {})
    )
    assert login.status == 401
    assert (await login.json())["detail"] == f"token not allowed from {OUTSIDE}"

    login = await client.post(
        "/v2/users/login", json={"username": "alice", "password": pat}, headers=at(INSIDE, {})
    )
    session = bearer(remember((await login.json())["token"]))
    assert (await client.get("/v2/access-tokens", headers=at(INSIDE, session))).status == 200
    # The session JWT taken elsewhere is the token taken elsewhere.
    elsewhere = await client.get("/v2/access-tokens", headers=at(OUTSIDE, session))
    assert elsewhere.status == 401
    assert (await elsewhere.json())["detail"] == f"token not allowed from {OUTSIDE}"


async def test_a_network_bound_organization_token_is_refused_from_elsewhere(
    client: Client, runtime: Runtime
) -> None:
    add_org(runtime, "acme", "alice")
    session = await sign_in(client, "alice")
    body = {
        "label": "ci",
        "resources": [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-pull"]}],
        "allow_from": ["10.0.0.0/8"],
    }
    response = await client.post("/v2/orgs/acme/access-tokens", json=body, headers=session)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["allow_from"] == ["10.0.0.0/8"]
    secret = remember(created["token"])

    scope = "repository:acme/app:pull"
    status, granted = await registry_token(client, "acme", secret, scope, INSIDE)
    assert access(granted) == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]
    status, refused = await registry_token(client, "acme", secret, scope, OUTSIDE)
    assert (status, refused["details"]) == (401, f"token not allowed from {OUTSIDE}")

    listed = await client.get("/v2/orgs/acme/access-tokens", headers=session)
    assert [t["allow_from"] for t in (await listed.json())["results"]] == [["10.0.0.0/8"]]


async def test_a_network_bound_admin_key_is_refused_from_elsewhere_counted_and_audited(
    client: Client, runtime: Runtime
) -> None:
    created = runtime.admin_keys.create("deploy", CLI_ACTOR, allow_from=["10.0.0.0/8"])
    key = bearer(remember(str(created.secret)))

    assert (await client.get("/admin/v1/users", headers=at(INSIDE, key))).status == 200
    refused = await client.get("/admin/v1/users", headers=at(OUTSIDE, key))
    assert refused.status == 401
    assert (await refused.json())["detail"] == f"token not allowed from {OUTSIDE}"

    runtime.audit.flush()
    [failure] = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert failure.ip == OUTSIDE
    assert failure.details == {
        "reason": f"admin API key {created.key.id}: token not allowed from {OUTSIDE}"
    }
    # Counted by the throttle under the key's name: two free failures, then a lock-out.
    statuses = [(await client.get("/admin/v1/users", headers=at(OUTSIDE, key))).status]
    statuses += [(await client.get("/admin/v1/users", headers=at(OUTSIDE, key))).status]
    assert statuses == [401, 429]
    assert (await client.get("/admin/v1/users", headers=at(INSIDE, key))).status == 200


@pytest.mark.parametrize(
    ("allow_from", "message"),
    [
        (["10.0.0.1/8"], "'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"),
        (["intranet"], "'intranet' is not a network: give a CIDR such as 10.0.0.0/8"),
        ([], "allow-from lists no network"),
    ],
)
async def test_a_bad_network_is_a_400_that_says_why(
    client: Client, allow_from: list[str], message: str
) -> None:
    session = await sign_in(client, "alice")
    body = {"token_label": "ci", "scopes": ["repo:read"], "allow_from": allow_from}
    response = await client.post("/v2/access-tokens", json=body, headers=session)
    assert response.status == 400
    assert message in (await response.json())["detail"]


async def test_a_token_without_lists_is_used_from_anywhere(
    client: Client, runtime: Runtime
) -> None:
    created = await create_pat(client)
    assert (created["repositories"], created["allow_from"]) == (None, None)
    for ip in (INSIDE, OUTSIDE, "::1"):
        status, body = await registry_token(
            client, "alice", created["token"], "repository:alice/app:pull", ip
        )
        assert status == 200, ip
        assert access(body) == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]
    assert runtime.tokens.get(created["id"]).access is AccessLevel.WRITE


async def test_a_network_bound_scim_key_is_refused_from_elsewhere(
    client: Client, runtime: Runtime
) -> None:
    created = runtime.admin_keys.create(
        "okta", CLI_ACTOR, purpose="scim", allow_from=["10.0.0.0/8"]
    )
    key = bearer(remember(str(created.secret)))
    assert (await client.get("/scim/v2/Users", headers=at(INSIDE, key))).status == 200
    refused = await client.get("/scim/v2/Users", headers=at(OUTSIDE, key))
    assert refused.status == 401
    assert f"token not allowed from {OUTSIDE}" in await refused.text()
    runtime.audit.flush()
    [failure] = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert failure.details == {
        "reason": f"SCIM key {created.key.id}: token not allowed from {OUTSIDE}"
    }
