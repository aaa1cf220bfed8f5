"""The self-service API (Docker Hub's /v2 shapes): sessions and the token lifecycle, rules and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from regauth.domain.models import AccessLevel, AuditQuery
from regauth.domain.timefmt import rfc3339
from regauth.http.appkeys import RUNTIME
from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_admin_key,
    add_token,
    add_user,
    basic,
    docker_login,
    reconfigured,
    sign_in,
)
from tests.support.clock import FakeClock


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "bob")


async def create(client: Client, auth: dict[str, str], **body: Any) -> tuple[int, dict[str, Any]]:
    payload = {"token_label": "ci", "scopes": ["repo:read"], **body}
    response = await client.post("/v2/access-tokens", json=payload, headers=auth)
    return response.status, await response.json()


async def token_status(client: Client, user: str, secret: str) -> tuple[int, str]:
    response = await client.get("/token?service=registry", headers=basic(user, secret))
    return response.status, (await response.json()).get("details", "")


async def test_create_returns_the_secret_once_and_it_works_at_token(client: Client) -> None:
    auth = await sign_in(client, "alice")
    status, body = await create(
        client, auth, token_label="laptop", scopes=["repo:write"], expires_at="2027-03-01T00:00:00Z"
    )
    assert status == 201
    assert body["token"].startswith("rgp_")
    assert body["scopes"] == ["repo:write"]
    assert body["expires_at"] == "2027-03-01T00:00:00Z"
    assert body["generated_by"] == "manual"
    assert body["creator_ip"] == "127.0.0.1"
    assert (await token_status(client, "alice", body["token"]))[0] == 200
    listed = await (await client.get("/v2/access-tokens", headers=auth)).json()
    assert listed["count"] == 1 and listed["active_count"] == 1
    assert listed["results"][0]["token"] == ""  # never again
    one = await (await client.get(f"/v2/access-tokens/{body['uuid']}", headers=auth)).json()
    assert one["token"] == "" and one["token_label"] == "laptop"


async def test_deactivate_reactivate_rename_delete(client: Client) -> None:
    auth = await sign_in(client, "alice")
    _, body = await create(client, auth)
    url, secret = f"/v2/access-tokens/{body['uuid']}", body["token"]

    response = await client.patch(url, json={"is_active": False}, headers=auth)
    assert response.status == 200 and (await response.json())["is_active"] is False
    # no cache may keep it alive
    assert await token_status(client, "alice", secret) == (401, "personal access token is inactive")
    listed = await (await client.get("/v2/access-tokens", headers=auth)).json()
    assert listed["active_count"] == 0 and listed["results"][0]["state"] == "inactive"

    await client.patch(url, json={"is_active": True}, headers=auth)
    assert (await token_status(client, "alice", secret))[0] == 200

    response = await client.patch(url, json={"token_label": "renamed"}, headers=auth)
    assert (await response.json())["token_label"] == "renamed"

    assert (await client.delete(url, headers=auth)).status == 204
    assert await token_status(client, "alice", secret) == (401, "incorrect username or password")
    assert (await client.get(url, headers=auth)).status == 404


async def test_expiration_cannot_be_edited(client: Client) -> None:
    auth = await sign_in(client, "alice")
    _, body = await create(client, auth, expires_at="2027-03-01")
    response = await client.patch(
        f"/v2/access-tokens/{body['uuid']}", json={"expires_at": "2099-01-01"}, headers=auth
    )
    assert response.status == 400  # nothing it may change was sent
    one = await (await client.get(f"/v2/access-tokens/{body['uuid']}", headers=auth)).json()
    assert one["expires_at"] == "2027-03-01T00:00:00Z"


async def test_expired_token_shows_as_expired_and_stops_working(
    client: Client, clock: FakeClock
) -> None:
    auth = await sign_in(client, "alice")
    _, body = await create(client, auth, expires_at="2027-01-16T08:00:00Z")  # a day ahead
    clock.advance(86401)
    auth = await sign_in(client, "alice")  # the old session expired too
    one = await (await client.get(f"/v2/access-tokens/{body['uuid']}", headers=auth)).json()
    assert one["state"] == "expired"
    assert await token_status(client, "alice", body["token"]) == (
        401,
        "personal access token has expired",
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"token_label": ""}, "description must be 1-100 characters"),
        ({"token_label": "x" * 101}, "description must be 1-100 characters"),
        # a terminal's control sequence (retitle, then red): `regauth token list` printed it
        ({"token_label": "ci\x1b]2;owned\x07\x1b[31m"}, "must not contain control characters"),
        ({"token_label": "ci\u009b31m"}, "must not contain control characters"),  # C1 CSI
        ({"token_label": "laptop\u202epot"}, "or bidirectional overrides"),
        ({"token_label": "a\x00b"}, "must not contain control characters"),
        ({"scopes": ["repo:root"]}, "unknown scope"),
        ({"scopes": []}, "scopes must name one access level"),
        ({"scopes": "repo:read"}, "field 'scopes' must be an array"),
        ({"expires_at": "not a date"}, "expiration must be"),
        ({"expires_at": "2001-01-01"}, "expiration must be in the future"),
        ({"token_label": None}, "field 'token_label' is required"),
    ],
)
async def test_create_refuses_bad_input_with_a_clear_error(
    client: Client, payload: dict[str, Any], message: str
) -> None:
    auth = await sign_in(client, "alice")
    status, body = await create(client, auth, **payload)
    assert status == 400
    assert message in body["detail"]
    listed = await (await client.get("/v2/access-tokens", headers=auth)).json()
    assert listed["count"] == 0  # nothing half-written


async def test_a_description_is_any_text_but_what_a_terminal_acts_on(client: Client) -> None:
    auth = await sign_in(client, "alice")
    # Accents, other scripts and emoji with their joiners are text.
    label = "Zoë's 笔记本 \U0001f469\u200d\U0001f4bb"
    status, body = await create(client, auth, token_label=label)
    assert status == 201 and body["token_label"] == label
    url = f"/v2/access-tokens/{body['uuid']}"
    response = await client.patch(url, json={"token_label": "new\x1b[2J"}, headers=auth)
    assert response.status == 400
    assert "must not contain control characters" in (await response.json())["detail"]
    assert (await (await client.get(url, headers=auth)).json())["token_label"] == label


async def test_malformed_json_is_a_400(client: Client) -> None:
    auth = await sign_in(client, "alice")
    for raw in ("{", "[1]", "null"):
        response = await client.post(
            "/v2/access-tokens",
            data=raw,
            headers={**auth, "Content-Type": "application/json"},
        )
        assert response.status == 400


async def test_a_pat_session_reads_but_cannot_change_anything(
    client: Client, runtime: Runtime
) -> None:
    pat = add_token(runtime, "alice", AccessLevel.DELETE)
    auth = await sign_in(client, "alice", pat)
    listed = await client.get("/v2/access-tokens", headers=auth)
    assert listed.status == 200
    uuid = (await listed.json())["results"][0]["uuid"]
    status, body = await create(client, auth)
    assert status == 403
    assert "personal access token cannot create access tokens" in body["detail"]
    for response in (
        await client.patch(f"/v2/access-tokens/{uuid}", json={"is_active": False}, headers=auth),
        await client.delete(f"/v2/access-tokens/{uuid}", headers=auth),
        await client.get("/admin/v1/users", headers=auth),
    ):
        assert response.status == 403
        assert "personal access token" in (await response.json())["detail"]


async def test_a_pat_session_dies_with_its_pat(client: Client, runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    pat_auth = await sign_in(client, "alice", pat)
    auth = await sign_in(client, "alice")
    uuid = (await (await client.get("/v2/access-tokens", headers=auth)).json())["results"][0][
        "uuid"
    ]
    await client.patch(f"/v2/access-tokens/{uuid}", json={"is_active": False}, headers=auth)
    response = await client.get("/v2/access-tokens", headers=pat_auth)
    assert response.status == 401


SIGN_IN_CHANGED = (
    "the account's password or two-factor setting changed, or it was disabled, since this "
    "session began: sign in again"
)


async def session_answer(client: Client, auth: dict[str, str]) -> tuple[int, str]:
    response = await client.get("/v2/access-tokens", headers=auth)
    return response.status, (await response.json()).get("detail", "")


@pytest.mark.parametrize("change", ["password", "disable"])
async def test_a_password_reset_or_a_disabled_account_ends_its_api_sessions(
    client: Client, runtime: Runtime, change: str
) -> None:
    password_session = await sign_in(client, "alice")
    pat_session = await sign_in(client, "alice", add_token(runtime, "alice"))
    others = await sign_in(client, "bob")
    admin = add_admin_key(runtime)
    if change == "password":
        body = {"password": "alice-new-password"}
    else:  # disabled, and enabled again: the sessions from before stay ended
        response = await client.patch(
            "/admin/v1/users/alice", json={"disabled": True}, headers=admin
        )
        assert response.status == 200
        body = {"disabled": False}
    assert (await client.patch("/admin/v1/users/alice", json=body, headers=admin)).status == 200

    assert await session_answer(client, password_session) == (401, SIGN_IN_CHANGED)
    assert await session_answer(client, pat_session) == (401, SIGN_IN_CHANGED)
    refused = await create(client, password_session, token_label="persist")
    assert refused[0] == 401
    assert (await session_answer(client, others))[0] == 200  # another account's carry on
    password = "alice-new-password" if change == "password" else None
    assert (await session_answer(client, await sign_in(client, "alice", password)))[0] == 200


async def test_another_users_token_is_not_found(client: Client) -> None:
    alice = await sign_in(client, "alice")
    bob = await sign_in(client, "bob")
    _, body = await create(client, alice)
    url = f"/v2/access-tokens/{body['uuid']}"
    assert (await client.get(url, headers=bob)).status == 404
    assert (await client.patch(url, json={"is_active": False}, headers=bob)).status == 404
    assert (await client.delete(url, headers=bob)).status == 404
    assert (await token_status(client, "alice", body["token"]))[0] == 200


async def test_pagination(client: Client) -> None:
    auth = await sign_in(client, "alice")
    for i in range(3):
        await create(client, auth, token_label=f"t{i}")
    page1 = await (await client.get("/v2/access-tokens?page_size=2", headers=auth)).json()
    assert page1["count"] == 3 and len(page1["results"]) == 2
    assert page1["previous"] is None and page1["next"].endswith("page_size=2&page=2")
    page2 = await (await client.get("/v2/access-tokens?page_size=2&page=2", headers=auth)).json()
    assert len(page2["results"]) == 1 and page2["next"] is None
    assert (await client.get("/v2/access-tokens?page=0", headers=auth)).status == 400


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YWxpY2U6eA==", "Bearer rgp_" + "A" * 48],
)
async def test_api_requires_a_valid_session(client: Client, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/v2/access-tokens", headers=headers)
    assert response.status == 401
    assert (await response.json())["detail"]


async def test_login_failures_are_401_with_detail_and_audited(
    client: Client, runtime: Runtime
) -> None:
    response = await client.post("/v2/users/login", json={"username": "alice", "password": "nope"})
    assert response.status == 401
    assert (await response.json())["detail"] == "incorrect username or password"
    response = await client.post("/v2/auth/token", json={"identifier": "alice", "secret": "nope"})
    assert response.status == 401
    client.app[RUNTIME].usage.flush()
    runtime.audit.flush()
    failures = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert len(failures) == 1 and failures[0].count == 2  # one row, counted
    assert failures[0].target == "alice"


@pytest.mark.parametrize("username", ["alice", ""])
async def test_a_session_token_opens_no_api_session(client: Client, username: str) -> None:
    """docker's identity token (a refresh token, rgs_) signs in at /token only."""
    session_token = (await docker_login(client, "alice"))["refresh_token"]
    response = await client.post(
        "/v2/users/login", json={"username": username, "password": session_token}
    )
    assert (response.status, (await response.json())["detail"]) == (
        401,
        "a session token signs in only at /token: sign in with the password or a personal "
        "access token",
    )
    assert "token" not in await response.json()


async def test_auth_token_route_gives_an_access_token(client: Client) -> None:
    response = await client.post(
        "/v2/auth/token", json={"identifier": "alice", "secret": "alice-password"}
    )
    assert response.status == 200
    token = (await response.json())["access_token"]
    listed = await client.get("/v2/access-tokens", headers={"Authorization": f"JWT {token}"})
    assert listed.status == 200


async def test_changes_are_audited_with_who_and_where(client: Client, runtime: Runtime) -> None:
    auth = await sign_in(client, "alice")
    _, body = await create(client, auth)
    await client.patch(f"/v2/access-tokens/{body['uuid']}", json={"is_active": False}, headers=auth)
    await client.delete(f"/v2/access-tokens/{body['uuid']}", headers=auth)
    events = runtime.audit.list(AuditQuery(actor="alice"))
    assert [e.action for e in events] == ["token.delete", "token.deactivate", "token.create"]
    assert all(e.ip == "127.0.0.1" and e.target == body["id"] for e in events)


async def test_a_token_created_without_expiry_gets_the_default_expiry(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    auth = await sign_in(client, "alice")
    # As a reload (SIGHUP) sets it: the running app follows.
    runtime.settings.current = reconfigured(runtime.config, limits={"default_expiry": "30d"})
    status, body = await create(client, auth)
    assert status == 201
    assert body["expires_at"] == rfc3339(int(clock.now) + 30 * 86400)
    _, never = await create(client, auth, token_label="forever", expires_at="none")
    assert never["expires_at"] is None
