"""Credential hygiene through the real app: regenerating a token (account and admin API) and
what /token then takes; the `expiring` filter; the stale-token report; the notifications'
admin view; and the background loop a serving app runs (webhook deliveries, audit export)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from regauth.domain.hygiene import CREDENTIAL_LEAKED_REVOKED, Notification
from regauth.domain.models import CLI_ACTOR, AuditQuery, OrgRole
from regauth.domain.tokens import parse_token
from regauth.http import background
from regauth.http.app import create_app
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
from tests.support.clock import FakeClock
from tests.support.hygiene import configure, webhook_settings
from tests.support.secrets import remember
from tests.support.webhook_receiver import Receiver

DAY = 86400


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "bob")
    add_user(runtime, "root", admin=True)


async def at_token(client: Client, user: str, secret: str) -> tuple[int, str]:
    response = await client.get("/token?service=registry", headers=basic(user, secret))
    return response.status, (await response.json()).get("details", "")


async def regenerate(
    client: Client, auth: dict[str, str], handle: str, **body: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/v2/access-tokens/{handle}/regenerate", json=body, headers=auth)
    found: dict[str, Any] = await response.json()
    if found.get("token"):
        remember(found["token"])
    return response.status, found


async def test_a_regenerated_token_keeps_its_handle_and_only_the_new_secret_works(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    auth = await sign_in(client, "alice")
    old = add_token(runtime, "alice", expires_at=int(clock()) + 30 * DAY, description="ci")
    record = runtime.tokens.get(parse_token(old).public_id)
    assert (await at_token(client, "alice", old))[0] == 200  # remembered as verified

    status, body = await regenerate(client, auth, record.uuid)

    assert status == 200, body
    assert (body["uuid"], body["id"], body["token_label"]) == (record.uuid, record.id, "ci")
    assert body["expires_at"] == "2027-02-14T08:00:00Z"
    assert body["previous_token_valid_until"] is None
    assert parse_token(body["token"]).public_id == record.id
    assert await at_token(client, "alice", old) == (401, "incorrect username or password")
    assert (await at_token(client, "alice", body["token"]))[0] == 200
    shown = await (await client.get(f"/v2/access-tokens/{record.uuid}", headers=auth)).json()
    assert shown["token"] == ""  # the secret was shown once


async def test_with_a_grace_period_the_old_secret_works_until_it_ends(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    auth = await sign_in(client, "alice")
    old = add_token(runtime, "alice")
    status, body = await regenerate(client, auth, parse_token(old).public_id, grace_period="1h")
    assert status == 200
    assert body["previous_token_valid_until"] == "2027-01-15T09:00:00Z"
    clock.advance(3599)
    assert (await at_token(client, "alice", old))[0] == 200
    clock.advance(1)
    assert (await at_token(client, "alice", old))[0] == 401
    assert (await at_token(client, "alice", body["token"]))[0] == 200


REGENERATED = "the personal access token of this session was regenerated: sign in again"


async def session_status(client: Client, auth: dict[str, str]) -> tuple[int, str]:
    response = await client.get("/v2/access-tokens", headers=auth)
    return response.status, (await response.json()).get("detail", "")


async def test_a_session_opened_with_the_old_secret_ends_with_it(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    """Regenerating a leaked secret ends what it opened: an API session signed in with it was
    still good until its own expiry (30 minutes by default)."""
    auth = await sign_in(client, "alice")
    old = add_token(runtime, "alice")
    opened = await sign_in(client, "alice", old)
    assert (await session_status(client, opened))[0] == 200

    status, body = await regenerate(client, auth, parse_token(old).public_id)

    assert status == 200
    assert await session_status(client, opened) == (401, REGENERATED)
    assert (await session_status(client, await sign_in(client, "alice", body["token"])))[0] == 200
    assert (await session_status(client, auth))[0] == 200  # a password session is not the PAT's


async def test_with_a_grace_period_its_sessions_end_when_the_old_secret_does(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    auth = await sign_in(client, "alice")
    old = add_token(runtime, "alice")
    before = await sign_in(client, "alice", old)
    # Shorter than a session lives (30 minutes): the grace period is what ends them.
    status, body = await regenerate(client, auth, parse_token(old).public_id, grace_period="10m")
    assert status == 200
    during = await sign_in(client, "alice", old)  # the old secret, within its grace period
    new = await sign_in(client, "alice", body["token"])
    clock.advance(599)
    for opened in (before, during, new):
        assert (await session_status(client, opened))[0] == 200
    clock.advance(1)
    assert await session_status(client, before) == (401, REGENERATED)
    assert await session_status(client, during) == (401, REGENERATED)
    assert (await session_status(client, new))[0] == 200


async def test_a_second_regeneration_ends_the_first_ones_grace_and_its_sessions(
    client: Client, runtime: Runtime
) -> None:
    auth = await sign_in(client, "alice")
    old = add_token(runtime, "alice")
    handle = parse_token(old).public_id
    first = await sign_in(client, "alice", old)
    assert (await regenerate(client, auth, handle, grace_period="1h"))[0] == 200
    assert (await regenerate(client, auth, handle, grace_period="1h"))[0] == 200
    assert await session_status(client, first) == (401, REGENERATED)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"grace_period": "8d"}, 400, "at most 7d"),
        ({"grace_period": "1 hour"}, 400, "grace_period must be a number with a unit"),
        ({"grace_period": 3600}, 400, "grace_period"),
    ],
)
async def test_a_bad_grace_period_is_a_400(
    client: Client, runtime: Runtime, body: dict[str, Any], status: int, words: str
) -> None:
    auth = await sign_in(client, "alice")
    token = add_token(runtime, "alice")
    got, answer = await regenerate(client, auth, parse_token(token).public_id, **body)
    assert got == status and words in json.dumps(answer), answer
    assert (await at_token(client, "alice", token))[0] == 200  # unchanged


async def test_who_may_regenerate_which_token(client: Client, runtime: Runtime) -> None:
    alice = runtime.users.get("alice")
    token = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(token).public_id).uuid
    session = runtime.tokens.create_session_token(
        alice, client_id="docker", ip=None, user_agent=None
    )
    assert (await regenerate(client, await sign_in(client, "alice", token), uuid))[0] == 403
    assert (await regenerate(client, await sign_in(client, "bob"), uuid))[0] == 404
    alice_auth = await sign_in(client, "alice")
    status, body = await regenerate(client, alice_auth, session.record.uuid)
    assert (status, body["message"]) == (
        409,
        "a session token is not regenerated: sign in again for a new one",
    )
    response = await client.post(f"/v2/access-tokens/{uuid}/regenerate", headers=alice_auth)
    assert response.status == 400  # a body is required: {} for no grace period
    assert runtime.audit.list(AuditQuery(action="token.regenerate")) == []


async def test_an_admin_regenerates_any_users_token(client: Client, runtime: Runtime) -> None:
    token = add_token(runtime, "alice")
    public_id = parse_token(token).public_id
    response = await client.post(
        f"/admin/v1/tokens/{public_id}/regenerate",
        json={"grace_period": "30m"},
        headers=add_admin_key(runtime),
    )
    body = await response.json()
    assert response.status == 200, body
    remember(body["token"])
    assert (body["id"], body["user"], body["state"]) == (public_id, "alice", "active")
    assert body["previous_token_valid_until"] == "2027-01-15T08:30:00Z"
    (event,) = runtime.audit.list(AuditQuery(action="token.regenerate"))
    assert event.actor.startswith("admin-key:") and event.details["grace"] == "30m"
    missing = await client.post(
        "/admin/v1/tokens/0000000000/regenerate", json={}, headers=add_admin_key(runtime)
    )
    assert missing.status == 404


async def test_an_organizations_owner_regenerates_its_token(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    org = add_org(runtime, "acme", "alice")
    runtime.organizations.set_member(org, runtime.users.get("bob"), OrgRole.MEMBER, CLI_ACTOR)
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({"pull", "push"})},
        public_read=False,
        expires_at=None,
    )
    old, record = remember(str(created.token)), created.record
    path = f"/v2/orgs/acme/access-tokens/{record.uuid}/regenerate"
    pull = "/token?service=registry&scope=repository:acme/app:pull"
    assert (await client.get(pull, headers=basic("acme", old))).status == 200
    bob = await sign_in(client, "bob")  # a member, not an owner
    assert (await client.post(path, json={}, headers=bob)).status == 403

    response = await client.post(
        path, json={"grace_period": "1h"}, headers=await sign_in(client, "alice")
    )

    body = await response.json()
    assert response.status == 200, body
    new = remember(body["token"])
    assert (body["id"], body["token_id"], body["label"]) == (record.uuid, record.id, "ci")
    assert body["previous_token_valid_until"] == "2027-01-15T09:00:00Z"
    assert parse_token(new).public_id == record.id
    clock.advance(3599)
    assert (await client.get(pull, headers=basic("acme", old))).status == 200
    clock.advance(1)
    refused = await client.get(pull, headers=basic("acme", old))
    assert (refused.status, (await refused.json())["details"]) == (
        401,
        "incorrect username or password",
    )
    granted = await client.get(pull, headers=basic("acme", new))
    assert granted.status == 200
    (event,) = runtime.audit.list(AuditQuery(action="org_token.regenerate"))
    assert (event.actor, event.target, event.details["grace"]) == ("alice", record.id, "1h")


async def test_expiring_lists_the_active_tokens_expiring_that_soon(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    now = int(clock())
    soon = add_token(runtime, "alice", expires_at=now + 3 * DAY, description="soon")
    add_token(runtime, "alice", expires_at=now + 30 * DAY, description="later")
    add_token(runtime, "alice", description="never")
    off = add_token(runtime, "alice", expires_at=now + DAY, description="inactive")
    runtime.tokens.set_active(runtime.tokens.get(parse_token(off).public_id), CLI_ACTOR, False)
    add_token(runtime, "bob", expires_at=now + DAY, description="bob's")
    auth = await sign_in(client, "alice")

    listed = await (await client.get("/v2/access-tokens?expiring=7d", headers=auth)).json()
    assert [t["token_label"] for t in listed["results"]] == ["soon"]
    assert (listed["count"], listed["active_count"]) == (1, 1)
    everything = await (await client.get("/v2/access-tokens", headers=auth)).json()
    assert everything["count"] == 4

    admin = add_admin_key(runtime)
    found = await (await client.get("/admin/v1/tokens?expiring=7d", headers=admin)).json()
    assert sorted(t["description"] for t in found["tokens"]) == ["bob's", "soon"]
    found = await (
        await client.get("/admin/v1/tokens?expiring=2d&user=alice", headers=admin)
    ).json()
    assert found["tokens"] == []
    assert parse_token(soon).public_id not in {t["id"] for t in found["tokens"]}
    bad = await client.get("/v2/access-tokens?expiring=soon", headers=auth)
    assert bad.status == 400
    assert "expiring must be a number with a unit" in (await bad.json())["message"]
    assert (await client.get("/admin/v1/tokens?expiring=7", headers=admin)).status == 400


async def test_the_stale_report_names_tokens_unused_that_long(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    add_token(runtime, "alice", description="forgotten")
    clock.advance(61 * DAY)
    add_token(runtime, "bob", description="new")
    admin = add_admin_key(runtime)
    response = await client.get("/admin/v1/stale-tokens?unused=60d", headers=admin)
    body = await response.json()
    assert response.status == 200, body
    assert body["unused_since"] == "2027-01-16T08:00:00Z"  # 60 days before now
    assert [
        (t["kind"], t["owner"], t["description"], t["last_used_at"]) for t in body["tokens"]
    ] == [("personal", "alice", "forgotten", None)]
    assert (await client.get("/admin/v1/stale-tokens?unused=sixty", headers=admin)).status == 400
    user = await sign_in(client, "alice")
    assert (await client.get("/admin/v1/stale-tokens", headers=user)).status == 403


def notification(runtime: Runtime, clock: FakeClock, n: int = 1) -> Notification:
    kept = Notification(
        id=f"00000000-0000-4000-8000-00000000000{n}",
        event=CREDENTIAL_LEAKED_REVOKED,
        dedup_key=f"test:{n}",
        payload=json.dumps({"token": {"kind": "personal", "id": "0a1B2c3D4e", "owner": "alice"}}),
        created_at=int(clock()),
        next_attempt_at=int(clock()),
        attempts=0,
        delivered_at=None,
        failed_at=None,
        last_status=None,
        last_error=None,
    )
    assert runtime.store.add_notification(kept)
    return kept


async def test_admins_see_the_notifications_and_retry_one(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    first, second = notification(runtime, clock, 1), notification(runtime, clock, 2)
    runtime.store.finish_notification(
        second.id, now=int(clock()), delivered=False, status=500, error="HTTP 500", retry_at=None
    )
    admin = add_admin_key(runtime)

    listed = await (await client.get("/admin/v1/notifications", headers=admin)).json()
    assert [(n["id"], n["state"]) for n in listed["notifications"]] == [
        (first.id, "pending"),
        (second.id, "failed"),
    ] or [(n["id"], n["state"]) for n in listed["notifications"]] == [
        (second.id, "failed"),
        (first.id, "pending"),
    ]
    failed = await (await client.get("/admin/v1/notifications?state=failed", headers=admin)).json()
    (view,) = failed["notifications"]
    assert view["token"] == {"kind": "personal", "id": "0a1B2c3D4e", "owner": "alice"}
    assert (view["last_status"], view["last_error"], view["next_attempt_at"]) == (
        500,
        "HTTP 500",
        None,
    )
    one = await client.get(f"/admin/v1/notifications/{first.id}", headers=admin)
    assert (await one.json())["event"] == CREDENTIAL_LEAKED_REVOKED

    retried = await client.post(f"/admin/v1/notifications/{second.id}/retry", headers=admin)
    assert retried.status == 200
    assert ((await retried.json())["state"], (await retried.json())["attempts"]) == ("pending", 0)
    gone = await client.get("/admin/v1/notifications/nope", headers=admin)
    assert gone.status == 404
    assert (await client.get("/admin/v1/notifications?state=lost", headers=admin)).status == 400
    user = await sign_in(client, "alice")
    assert (await client.get("/admin/v1/notifications", headers=user)).status == 403


async def test_a_serving_app_delivers_and_exports_in_the_background(
    runtime: Runtime,
    aiohttp_client: AiohttpClient,
    aiohttp_server: AiohttpServer,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = tmp_path / "webhook.key"
    key_file.write_text("the background's key\n")
    receiver = Receiver(key=b"the background's key", clock=clock)
    receiver.server = await aiohttp_server(receiver.app())
    export = tmp_path / "audit.jsonl"
    configure(
        runtime,
        notifications=webhook_settings(receiver.url, key_file),
        audit={"export": f"file:{export}"},
    )
    monkeypatch.setattr(background, "TICK_SECONDS", 0.05)
    client = await aiohttp_client(create_app(runtime))
    token = add_token(runtime, "alice")

    response = await client.post("/v2/credentials/revoke", json={"credentials": [token]})
    assert response.status == 202
    for _ in range(100):
        if receiver.deliveries and export.exists() and "token.revoked_leaked" in export.read_text():
            break
        await asyncio.sleep(0.05)

    (delivery,) = receiver.deliveries
    assert delivery.signature_ok and delivery.payload["event"] == CREDENTIAL_LEAKED_REVOKED
    actions = [json.loads(line)["action"] for line in export.read_text().splitlines()]
    assert actions[-2:] == ["token.create", "token.revoked_leaked"]


async def test_a_round_runs_the_due_jobs_and_a_failing_part_is_logged_once(
    runtime: Runtime, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stale = add_token(runtime, "alice")
    clock.advance(31 * DAY)
    export = tmp_path / "audit.jsonl"
    export.mkdir()  # the export cannot write there
    configure(
        runtime, limits={"deactivate_unused_after": "30d"}, audit={"export": f"file:{export}"}
    )
    rounds = background.Background(runtime)

    await rounds.run_once()
    await rounds.run_once()

    assert not runtime.tokens.get(parse_token(stale).public_id).active  # the staleness job ran
    failed = [r for r in caplog.records if r.getMessage() == "background_failed"]
    assert [r.fields for r in failed] == [{"work": "audit_export", "cause": "IsADirectoryError"}]  # type: ignore[attr-defined]
    export.rmdir()
    await rounds.run_once()
    assert "background_recovered" in [r.getMessage() for r in caplog.records]
    assert "token.deactivated_stale" in export.read_text()
