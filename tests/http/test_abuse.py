"""Fair use: sign-in throttling (clock injected), token creation limits, leaked-token revocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import ClientResponse

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, AccessLevel, AuditQuery
from regauth.errors import Conflict
from regauth.http.appkeys import RUNTIME
from regauth.runtime import Runtime
from tests.support.builders import Client, add_token, add_user, basic, make_config, sign_in
from tests.support.clock import FakeClock


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Trust the test client as a proxy so X-Forwarded-For can stand for other addresses.
    return make_config(
        tmp_path,
        server={"access_log": False, "trusted_proxies": ("127.0.0.1/32",)},
        limits={"token_creations_per_hour": 3, "max_active_tokens": 4, "revocations_per_minute": 3},
    )


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "bob")


def from_ip(ip: str, user: str, secret: str) -> dict[str, str]:
    return {**basic(user, secret), "X-Forwarded-For": ip}


async def test_brute_force_ends_in_429_and_others_are_unaffected(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    pat = add_token(runtime, "bob")
    statuses: dict[int, int] = {}
    for i in range(2000):
        response = await client.get(
            "/token?service=registry", headers=from_ip("203.0.113.9", "alice", f"guess-{i}")
        )
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if i % 100 == 0:  # bob, from elsewhere, signs in all along
            ok = await client.get("/token", headers=from_ip("198.51.100.7", "bob", pat))
            assert ok.status == 200
    # five real guesses, then only 429s: the attacker burned no more argon2 checks
    assert statuses[401] == 5 and statuses[429] == 1995
    locked = await client.get("/token", headers=from_ip("203.0.113.9", "alice", "alice-password"))
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert (await locked.json())["details"] == "too many failed sign-ins: try again later"
    # alice herself, from her own address, is not locked out by the attacker
    mine = await client.get("/token", headers=from_ip("192.0.2.1", "alice", "alice-password"))
    assert mine.status == 200
    client.app[RUNTIME].usage.flush()
    runtime.audit.flush()
    failures = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert sum(e.count for e in failures) == 2001
    assert len(failures) <= 3  # counted, not one row per guess


async def test_the_delay_grows_and_a_success_resets_it(client: Client, clock: FakeClock) -> None:
    async def attempt(secret: str) -> ClientResponse:
        return await client.get("/token", headers=from_ip("203.0.113.5", "alice", secret))

    for _ in range(5):  # the fifth failure locks the pair for 1 s
        assert (await attempt("wrong")).status == 401
    waits = []
    for _ in range(4):
        locked = await attempt("wrong")
        assert locked.status == 429
        wait = int(locked.headers["Retry-After"])
        waits.append(wait)
        clock.advance(wait)
        assert (await attempt("wrong")).status == 401  # allowed again, and fails again
    assert waits == [1, 2, 4, 8]
    clock.advance(16)
    assert (await attempt("alice-password")).status == 200
    assert (await attempt("wrong")).status == 401  # the count started over


async def test_a_credential_less_probe_never_counts(client: Client) -> None:
    for _ in range(100):  # docker's first, anonymous request
        assert (
            await client.get("/token?service=registry", headers={"X-Forwarded-For": "203.0.113.1"})
        ).status == 200
    assert (
        await client.get("/token", headers=from_ip("203.0.113.1", "alice", "alice-password"))
    ).status == 200


async def test_password_spraying_from_one_address_is_throttled_per_ip(
    client: Client, runtime: Runtime
) -> None:
    for i in range(60):
        runtime.users.create(f"user{i}", None, CLI_ACTOR)
    statuses = [
        (
            await client.get("/token", headers=from_ip("203.0.113.77", f"user{i}", "Winter2026!"))
        ).status
        for i in range(60)
    ]
    assert statuses[:50] == [401] * 50
    assert 429 in statuses[50:]


async def test_token_creation_is_limited_per_hour_and_visible(
    client: Client, clock: FakeClock
) -> None:
    auth = await sign_in(client, "alice")
    for i in range(3):
        response = await client.post(
            "/v2/access-tokens",
            json={"token_label": f"t{i}", "scopes": ["repo:read"]},
            headers=auth,
        )
        assert response.status == 201
        uuid = (await response.json())["uuid"]
    # deleting does not give a creation back
    await client.delete(f"/v2/access-tokens/{uuid}", headers=auth)
    refused = await client.post(
        "/v2/access-tokens", json={"token_label": "t4", "scopes": ["repo:read"]}, headers=auth
    )
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    limits = (await (await client.get("/v2/access-tokens", headers=auth)).json())["limits"]
    assert limits["token_creations_per_hour"] == 3 and limits["token_creations_remaining"] == 0
    clock.advance(3601)
    auth = await sign_in(client, "alice")
    again = await client.post(
        "/v2/access-tokens", json={"token_label": "t5", "scopes": ["repo:read"]}, headers=auth
    )
    assert again.status == 201


async def test_active_tokens_are_capped(client: Client, runtime: Runtime, clock: FakeClock) -> None:
    for _ in range(4):
        add_token(runtime, "alice", AccessLevel.READ)
        clock.advance(1800)  # stay under the hourly creation limit
    with pytest.raises(Conflict, match="active token limit reached"):
        runtime.tokens.create(
            runtime.users.get("alice"),
            CLI_ACTOR,
            description="x",
            access=AccessLevel.READ,
            expires_at=None,
        )


async def test_reactivating_past_the_active_token_cap_is_refused(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    # deactivate one, create another, reactivate the first: a fifth active token
    for _ in range(4):
        add_token(runtime, "alice", AccessLevel.READ)
        clock.advance(1800)  # stay under the hourly creation limit
    auth = await sign_in(client, "alice")
    first = (await (await client.get("/v2/access-tokens", headers=auth)).json())["results"][0]
    url = f"/v2/access-tokens/{first['uuid']}"
    assert (await client.patch(url, json={"is_active": False}, headers=auth)).status == 200
    add_token(runtime, "alice", AccessLevel.READ)

    refused = await client.patch(url, json={"is_active": True}, headers=auth)
    assert refused.status == 409
    assert "active token limit reached (4)" in (await refused.json())["detail"]
    assert runtime.tokens.limits_for(runtime.users.get("alice"))["active_tokens"] == 4
    # Activating an active token changes nothing, and is no more refused than renaming.
    active = (await (await client.get("/v2/access-tokens", headers=auth)).json())["results"]
    other = next(t for t in active if t["is_active"])
    again = await client.patch(
        f"/v2/access-tokens/{other['uuid']}", json={"is_active": True}, headers=auth
    )
    assert again.status == 200


async def test_revocation_deactivates_valid_tokens_and_reveals_nothing(
    client: Client, runtime: Runtime
) -> None:
    leaked = add_token(runtime, "alice")
    other = add_token(runtime, "bob")
    bogus = "rgp_" + "A" * 48
    forged = leaked[:14] + "B" * 32 + leaked[-6:]
    first = await client.post(
        "/v2/credentials/revoke", json={"credentials": [leaked, bogus, forged, "hello"]}
    )
    second = await client.post("/v2/credentials/revoke", json={"credentials": [bogus]})
    assert first.status == second.status == 202
    assert await first.json() == await second.json()
    assert (await client.get("/token", headers=basic("alice", leaked))).status == 401
    assert (await client.get("/token", headers=basic("bob", other))).status == 200
    auth = await sign_in(client, "alice")
    events = (await (await client.get("/v2/account/audit", headers=auth)).json())["events"]
    revoked = [e for e in events if e["action"] == "token.revoked_leaked"]
    assert len(revoked) == 1 and revoked[0]["target"] == leaked[4:14]
    assert revoked[0]["actor"] == "revocation-api"


async def test_revocation_is_rate_limited_and_validates_input(client: Client) -> None:
    assert (await client.post("/v2/credentials/revoke", json={"credentials": "x"})).status == 400
    assert (
        await client.post("/v2/credentials/revoke", json={"credentials": ["x"] * 1001})
    ).status == 400
    statuses = [
        (await client.post("/v2/credentials/revoke", json={"credentials": []})).status
        for _ in range(4)
    ]
    # three reports a minute, then a wait (a malformed one is refused before it is counted:
    # it checks no secret)
    assert statuses == [202, 202, 202, 429]
    limited = await client.post("/v2/credentials/revoke", json={"credentials": []})
    assert limited.status == 429 and "Retry-After" in limited.headers


def test_limits_are_per_config(runtime: Runtime) -> None:
    # this module's config: 4, where the default is 50
    assert runtime.tokens.limits_for(runtime.users.get("alice"))["max_active_tokens"] == 4
