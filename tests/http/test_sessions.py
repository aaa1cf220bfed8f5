"""Auto-generated session tokens: docker's refresh-token flow, the cap of five, and every way they die."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse

from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.runtime import Runtime
from tests.support.builders import Client, add_token, add_user, basic, docker_login
from tests.support.clock import FakeClock


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


async def refresh(
    client: Client, refresh_token: str, scope: str = "repository:alice/app:pull,push"
) -> ClientResponse:
    return await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "docker",
            "service": "registry",
            "scope": scope,
        },
    )


async def test_password_login_with_offline_access_returns_a_session_token(
    client: Client, runtime: Runtime
) -> None:
    body = await docker_login(client, "alice")
    assert body["refresh_token"].startswith("rgs_")
    response = await refresh(client, body["refresh_token"])
    assert response.status == 200
    granted = await response.json()
    assert granted["scope"] == "repository:alice/app:pull,push"
    assert "refresh_token" not in granted
    # containerd's GET fallback: Basic with an empty username and the identity token
    response = await client.get(
        "/token?service=registry&scope=repository:alice/app:pull",
        headers=basic("", body["refresh_token"]),
    )
    assert response.status == 200
    [record] = runtime.tokens.list_for(runtime.users.get("alice"))
    assert record.generated_by == "auto" and record.access is AccessLevel.DELETE
    assert record.expires_at == int(runtime.clock()) + 30 * 86400


async def test_refresh_with_offline_access_returns_the_same_token(client: Client) -> None:
    body = await docker_login(client, "alice")
    response = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "service": "registry",
            "client_id": "containerd-client",
            "access_type": "offline",
        },
    )
    assert (await response.json())["refresh_token"] == body["refresh_token"]


async def test_a_client_id_a_terminal_would_act_on_is_kept_escaped(
    client: Client, runtime: Runtime
) -> None:
    """The session token's description names the client_id, which any client chooses."""
    response = await client.get(
        "/token?client_id=ci%1b%5d2;owned%07&offline_token=true&service=registry",
        headers=basic("alice", "alice-password"),
    )
    assert response.status == 200
    [record] = runtime.tokens.list_for(runtime.users.get("alice"))
    assert record.description == "auto-generated: ci\\x1b]2;owned\\x07 sign-in"


async def test_pat_login_never_mints_a_refresh_token(client: Client, runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    body = await docker_login(client, "alice", pat)
    assert "refresh_token" not in body
    assert len(runtime.tokens.list_for(runtime.users.get("alice"))) == 1


async def test_without_offline_access_no_token_is_made(client: Client, runtime: Runtime) -> None:
    response = await client.get("/token?service=registry", headers=basic("alice", "alice-password"))
    assert "refresh_token" not in await response.json()
    assert runtime.tokens.list_for(runtime.users.get("alice")) == []


async def test_a_sixth_sign_in_evicts_the_oldest(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    tokens = []
    for _ in range(6):
        tokens.append((await docker_login(client, "alice"))["refresh_token"])
        clock.advance(1)
    assert (await refresh(client, tokens[0])).status == 401
    for token in tokens[1:]:
        assert (await refresh(client, token)).status == 200
    auto = [
        r for r in runtime.tokens.list_for(runtime.users.get("alice")) if r.generated_by == "auto"
    ]
    assert len(auto) == 5


async def test_a_session_token_is_not_a_personal_access_token(client: Client) -> None:
    body = await docker_login(client, "alice")
    # as a Basic password with the right username it is fine (docker sends "alice:" + nothing)
    response = await client.get(
        "/token?service=registry", headers=basic("bob", body["refresh_token"])
    )
    assert response.status == 401


@pytest.mark.parametrize(
    "death", ["delete", "deactivate", "expire", "disable_user", "password_change"]
)
async def test_every_way_a_session_token_dies_is_a_401_at_once(
    client: Client, runtime: Runtime, clock: FakeClock, death: str
) -> None:
    token = (await docker_login(client, "alice"))["refresh_token"]
    assert (await refresh(client, token)).status == 200
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    if death == "delete":
        runtime.tokens.delete(record, CLI_ACTOR)
    elif death == "deactivate":
        runtime.tokens.set_active(record, CLI_ACTOR, False)
    elif death == "expire":
        clock.advance(30 * 86400 + 1)
    elif death == "disable_user":
        runtime.users.set_disabled("alice", CLI_ACTOR, True)
    else:
        runtime.users.reset_password("alice", CLI_ACTOR, "another-password")
    response = await refresh(client, token)
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_grant"


async def test_password_change_keeps_personal_tokens(client: Client, runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    await docker_login(client, "alice")
    runtime.users.reset_password("alice", CLI_ACTOR, "another-password")
    kinds = [r.generated_by for r in runtime.tokens.list_for(runtime.users.get("alice"))]
    assert kinds == ["manual"]
    assert (await client.get("/token", headers=basic("alice", pat))).status == 200


async def test_an_ended_session_says_to_sign_in_again(client: Client, clock: FakeClock) -> None:
    first = (await docker_login(client, "alice"))["refresh_token"]
    for _ in range(5):
        clock.advance(1)
        await docker_login(client, "alice")
    body = await (await refresh(client, first)).json()
    assert body["details"] == "this sign-in session has ended: run docker login again"
