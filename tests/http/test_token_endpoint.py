"""GET and POST /token through the real app: response shapes, credentials, scopes, errors."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import jwt
import pytest

from regauth import logs
from regauth.domain.models import CLI_ACTOR, AccessLevel, Visibility
from regauth.http.appkeys import RUNTIME
from regauth.runtime import Runtime
from regauth.services.audit import UNVERIFIED
from tests.support.builders import Client, add_token, add_user, basic
from tests.support.clock import FakeClock


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "bob")
    add_user(runtime, "root", admin=True)
    runtime.repositories.set_visibility("bob/public", Visibility.PUBLIC, CLI_ACTOR)


def claims(runtime: Runtime, token: str, audience: str = "registry") -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(
        token,
        key=runtime.keyring.active.private_key.public_key(),
        algorithms=[runtime.keyring.active.algorithm],
        audience=audience,
        issuer="regauth",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return decoded


async def get_token(
    client: Client, query: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/token?{query}", headers=headers or {})
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def test_a_public_read_token_pulls_its_owners_public_repositories_only(
    client: Client, runtime: Runtime
) -> None:
    runtime.repositories.set_visibility("alice/pub", Visibility.PUBLIC, CLI_ACTOR)
    pat = add_token(runtime, "alice", AccessLevel.PUBLIC_READ)
    scope = "scope=repository:alice/pub:pull,push&scope=repository:alice/private:pull"
    status, body = await get_token(client, f"service=registry&{scope}", basic("alice", pat))
    assert status == 200
    assert claims(runtime, body["token"])["access"] == [
        {"type": "repository", "name": "alice/pub", "actions": ["pull"]}
    ]


async def test_pat_gets_a_token_in_the_documented_shape(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    pat = add_token(runtime, "alice", AccessLevel.WRITE)
    status, body = await get_token(
        client,
        "service=registry&scope=repository:alice/app:push,pull&account=alice&client_id=docker",
        basic("alice", pat),
    )
    assert status == 200
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300 and isinstance(body["expires_in"], int)
    assert body["issued_at"] == "2027-01-15T08:00:00Z"
    assert "refresh_token" not in body
    c = claims(runtime, body["token"])
    assert c["sub"] == "alice"
    assert c["aud"] == "registry"  # a string, never a list
    assert c["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}]
    assert c["iat"] == c["nbf"] == int(clock.now)
    assert c["exp"] == c["iat"] + 300
    header = jwt.get_unverified_header(body["token"])
    assert header["kid"] == runtime.keyring.active.kid
    assert "x5c" in header


async def test_read_pat_gets_only_pull_when_asking_push(client: Client, runtime: Runtime) -> None:
    pat = add_token(runtime, "alice", AccessLevel.READ)
    status, body = await get_token(
        client, "scope=repository:alice/app:pull,push", basic("alice", pat)
    )
    assert status == 200
    assert claims(runtime, body["token"])["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["pull"]}
    ]


async def test_repeated_and_space_separated_scopes_merge_per_repository(
    client: Client, runtime: Runtime
) -> None:
    pat = add_token(runtime, "alice")
    status, body = await get_token(
        client,
        "scope=repository:alice/a:pull&scope=repository:alice/a:push"
        "&scope=repository:alice/b:pull%20repository(plugin):alice/c:pull&scope=registry:catalog:*",
        basic("alice", pat),
    )
    assert status == 200
    access = sorted(claims(runtime, body["token"])["access"], key=lambda a: a["name"])
    assert access == [
        {"type": "repository", "name": "alice/a", "actions": ["pull", "push"]},
        {"type": "repository", "name": "alice/b", "actions": ["pull"]},
        {"type": "repository", "name": "alice/c", "actions": ["pull"]},
    ]


async def test_admin_gets_the_catalog(client: Client, runtime: Runtime) -> None:
    status, body = await get_token(
        client, "scope=registry:catalog:*", basic("root", "root-password")
    )
    assert status == 200
    assert claims(runtime, body["token"])["access"] == [
        {"type": "registry", "name": "catalog", "actions": ["*"]}
    ]


async def test_password_is_accepted_like_docker_hub(client: Client, runtime: Runtime) -> None:
    status, body = await get_token(
        client, "scope=repository:alice/app:*", basic("alice", "alice-password")
    )
    assert status == 200
    assert claims(runtime, body["token"])["access"][0]["actions"] == ["delete", "pull", "push"]


@pytest.mark.parametrize(
    ("username", "secret", "details"),
    [
        ("alice", "wrong-password", "incorrect username or password"),
        ("nobody", "whatever-password", "incorrect username or password"),
        ("alice", "rgp_" + "A" * 48, "malformed personal access token"),
        ("acme", "rgo_" + "A" * 48, "malformed organization access token"),
        ("alice", "rgs_" + "A" * 48, "malformed session token"),
        ("alice", "", "incorrect username or password"),
        ("", "alice-password", "incorrect username or password"),
    ],
)
async def test_wrong_credentials_are_401_never_an_anonymous_token(
    client: Client, username: str, secret: str, details: str
) -> None:
    # No scope: this is `docker login`; an anonymous token here would make login "succeed".
    response = await client.get("/token?service=registry", headers=basic(username, secret))
    assert response.status == 401
    body = await response.json()
    assert body["details"] == details
    assert body["errors"] == [{"code": "UNAUTHORIZED", "message": details}]
    assert "token" not in body
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


async def test_pat_of_another_user_is_refused(client: Client, runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    status, body = await get_token(client, "", basic("bob", pat))
    assert status == 401
    assert body["details"] == "incorrect username or password"


async def test_expired_pat_is_refused_with_its_reason(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    pat = add_token(runtime, "alice", expires_at=int(clock.now) + 60)
    assert (await get_token(client, "", basic("alice", pat)))[0] == 200
    clock.advance(61)
    status, body = await get_token(client, "", basic("alice", pat))
    assert status == 401
    assert body["details"] == "personal access token has expired"


async def test_anonymous_pulls_public_but_not_private(client: Client, runtime: Runtime) -> None:
    status, body = await get_token(
        client, "scope=repository:bob/public:pull&scope=repository:bob/secret:pull"
    )
    assert status == 200
    c = claims(runtime, body["token"])
    assert c["sub"] == ""
    assert c["access"] == [{"type": "repository", "name": "bob/public", "actions": ["pull"]}]


async def test_account_must_match_the_basic_user(client: Client, runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    status, body = await get_token(client, "account=bob", basic("alice", pat))
    assert status == 400
    assert body["details"] == "account does not match the authenticated user"


async def test_service_defaults_and_unknown_service_is_refused(
    client: Client, runtime: Runtime
) -> None:
    status, body = await get_token(client, "")
    assert status == 200
    assert claims(runtime, body["token"])["aud"] == "registry"
    status, body = await get_token(client, "service=elsewhere")
    assert status == 400
    assert body["details"] == "unknown service"


async def test_post_password_grant_returns_access_token_and_scope(
    client: Client, runtime: Runtime
) -> None:
    pat = add_token(runtime, "alice", AccessLevel.READ)
    response = await client.post(
        "/token",
        data="grant_type=password&username=alice&password="
        + pat
        + "&service=registry&client_id=containerd-client&scope=repository%3Aalice%2Fapp%3Apull%2Cpush",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert response.status == 200
    body = await response.json()
    assert body["scope"] == "repository:alice/app:pull"
    assert body["access_token"] == body["token"]
    assert claims(runtime, body["access_token"])["access"][0]["actions"] == ["pull"]


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "refresh_token", "refresh_token": "x", "service": "registry"},
            401,
            "invalid_grant",
        ),
        (
            {"grant_type": "authorization_code", "service": "registry"},
            400,
            "unsupported_grant_type",
        ),
        ({"service": "registry"}, 400, "unsupported_grant_type"),
        (
            {"grant_type": "password", "username": "alice", "password": "nope-nope"},
            401,
            "invalid_grant",
        ),
    ],
)
async def test_post_errors_are_clean_oauth_errors(
    client: Client, form: dict[str, str], status: int, error: str
) -> None:
    response = await client.post("/token", data=form)
    assert response.status == status
    body = await response.json()
    assert body["error"] == error
    assert body["details"]


async def test_post_requires_a_form(client: Client) -> None:
    response = await client.post("/token", json={"grant_type": "password"})
    assert response.status == 400
    assert (await response.json())[
        "details"
    ] == "expected an application/x-www-form-urlencoded form"


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Basic %%%", "Basic " + base64.b64encode(b"no-colon").decode()],
)
async def test_malformed_authorization_is_a_400_with_json(client: Client, header: str) -> None:
    status, body = await get_token(client, "", {"Authorization": header})
    assert status == 400
    assert body["errors"][0]["code"] == "BAD_REQUEST"


async def test_oversized_body_is_413_json(client: Client) -> None:
    response = await client.post(
        "/token",
        data="grant_type=password&x=" + "a" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 413
    assert (await response.json())["errors"][0]["code"] == "SIZE_INVALID"


async def test_unknown_route_and_method_are_json(client: Client) -> None:
    response = await client.get("/nope")
    assert response.status == 404
    assert (await response.json())["errors"][0]["code"] == "NOT_FOUND"
    response = await client.put("/token")
    assert response.status == 405
    assert set(response.headers["Allow"].split(",")) >= {"GET", "POST"}


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_use_is_recorded_in_a_batch(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    pat = add_token(runtime, "alice")
    token_id = pat[4:14]
    await get_token(
        client,
        "",
        {**basic("alice", pat), "User-Agent": "docker/28.2.2", "X-Forwarded-For": "9.9.9.9"},
    )
    assert runtime.tokens.get(token_id).last_used_at is None  # not written per request
    assert client.app[RUNTIME].usage.flush() == 1
    record = runtime.tokens.get(token_id)
    assert record.last_used_at == int(clock.now)
    assert record.last_used_ip == "127.0.0.1"  # X-Forwarded-For from an untrusted peer is ignored
    assert record.last_used_user_agent == "docker/28.2.2"


async def test_request_ids_and_no_caching(client: Client) -> None:
    response = await client.get("/token?service=registry")
    assert response.headers["Cache-Control"] == "no-store"
    generated = response.headers["X-Request-Id"]
    assert generated and generated != (await client.get("/healthz")).headers["X-Request-Id"]
    echoed = await client.get("/healthz", headers={"X-Request-Id": "trace-42"})
    assert echoed.headers["X-Request-Id"] == "trace-42"
    hostile = await client.get("/healthz", headers={"X-Request-Id": "x" * 500})
    assert hostile.headers["X-Request-Id"] != "x" * 500


async def test_a_failed_sign_in_is_a_log_line_with_who_why_where_and_the_request(
    client: Client,
) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logs.JsonFormatter())
    audit = logging.getLogger("regauth.audit")
    audit.addHandler(handler)
    try:
        response = await client.get(
            "/token?service=registry", headers=basic("alice", "not-alices-password")
        )
        ghost = await client.get("/token?service=registry", headers=basic("ghost", "hunter2!"))
    finally:
        audit.removeHandler(handler)
    assert (response.status, ghost.status) == (401, 401)
    failed = [
        e for e in map(json.loads, lines.getvalue().splitlines()) if e["event"] == "sign_in_failed"
    ]
    # "ghost" names no account: it could be a password typed into the name field.
    assert [(e["user"], e["reason"], e["ip"]) for e in failed] == [
        ("alice", "incorrect username or password", "127.0.0.1"),
        (UNVERIFIED, "incorrect username or password", "127.0.0.1"),
    ]
    assert [e["request_id"] for e in failed] == [
        response.headers["X-Request-Id"],
        ghost.headers["X-Request-Id"],
    ]
    assert "not-alices-password" not in lines.getvalue() and "hunter2" not in lines.getvalue()
