"""Regenerating a token from the tokens page: offered for personal tokens that still work,
asked first (with the old secret's grace period), the new secret shown once; what /token then
takes; a read-only session and another user's token refused."""

from __future__ import annotations

import re

import pytest

from regauth.domain.models import AuditQuery
from regauth.domain.tokens import parse_token
from regauth.runtime import Runtime
from tests.support.builders import Client, add_token, add_user, basic
from tests.support.clock import FakeClock
from tests.web.conftest import Visitor, token_on_page


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


def regenerate_links(page: str) -> list[str]:
    return re.findall(r'href="/ui/settings/tokens/([^/"]+)/regenerate"', page)


async def test_the_menu_offers_it_for_personal_tokens_that_still_work(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    working = add_token(runtime, "alice", description="working")
    add_token(runtime, "alice", expires_at=int(clock()) + 60, description="soon expired")
    alice = runtime.users.get("alice")
    runtime.tokens.create_session_token(alice, client_id="docker", ip=None, user_agent=None)
    clock.advance(60)
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens")
    assert regenerate_links(visitor.text) == [
        runtime.tokens.get(parse_token(working).public_id).uuid
    ]


async def test_it_asks_first_then_shows_the_new_secret_once(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    old = add_token(runtime, "alice", description="ci")
    record = runtime.tokens.get(parse_token(old).public_id)
    await visitor.sign_in("alice")

    page = await visitor.get(f"/settings/tokens/{record.uuid}/regenerate")
    assert page.status == 200 and "Regenerate access token" in visitor.text
    assert (await visitor.client.get("/token", headers=basic("alice", old))).status == 200

    await visitor.post(f"/settings/tokens/{record.uuid}/regenerate", {"grace": "1h"})

    new = token_on_page(visitor.text)
    assert parse_token(new).public_id == record.id
    assert runtime.tokens.get(record.id).description == "ci"
    again = await visitor.get(f"/settings/tokens/{record.uuid}/created")
    assert again.status == 200 and new not in visitor.text  # once
    assert (await visitor.client.get("/token", headers=basic("alice", new))).status == 200
    assert (await visitor.client.get("/token", headers=basic("alice", old))).status == 200
    clock.advance(3600)
    assert (await visitor.client.get("/token", headers=basic("alice", old))).status == 401


async def test_without_a_grace_period_the_old_secret_stops_at_once(
    runtime: Runtime, visitor: Visitor
) -> None:
    old = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(old).public_id).uuid
    await visitor.sign_in("alice")
    await visitor.get(f"/settings/tokens/{uuid}/regenerate")
    await visitor.post(f"/settings/tokens/{uuid}/regenerate")
    token_on_page(visitor.text)
    assert (await visitor.client.get("/token", headers=basic("alice", old))).status == 401


async def test_a_read_only_session_a_bad_choice_and_another_users_token_are_refused(
    runtime: Runtime, visitor: Visitor, site: Client
) -> None:
    add_user(runtime, "bob")
    bobs = add_token(runtime, "bob")
    bob_uuid = runtime.tokens.get(parse_token(bobs).public_id).uuid
    pat = add_token(runtime, "alice")
    uuid = runtime.tokens.get(parse_token(pat).public_id).uuid

    await visitor.sign_in("alice", pat)  # a read-only page session
    assert (await visitor.get(f"/settings/tokens/{uuid}/regenerate")).status == 403

    browser = Visitor(site)
    site.session.cookie_jar.clear()
    await browser.sign_in("alice")
    assert (await browser.get(f"/settings/tokens/{bob_uuid}/regenerate")).status == 404
    await browser.get(f"/settings/tokens/{uuid}/regenerate")
    refused = await browser.post(f"/settings/tokens/{uuid}/regenerate", {"grace": "30d"})
    assert refused.status == 400
    assert runtime.audit.list(AuditQuery(action="token.regenerate")) == []
    assert (await site.get("/token", headers=basic("alice", pat))).status == 200
