"""Rotation: a token's secret regenerated in place, everything else about it kept; the old secret
accepted within the grace period the owner chose and never after, by every worker, whatever the
verified-token cache holds."""

from __future__ import annotations

import threading

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, AccessLevel, AuditQuery, TokenUse
from regauth.domain.tokens import parse_token
from regauth.errors import BadRequest, Conflict, Unauthorized
from regauth.runtime import Runtime
from regauth.services.rotation import MAX_GRACE_SECONDS
from tests.support.builders import OpenRuntime, add_org, add_token, add_user, settled
from tests.support.clock import FakeClock
from tests.support.secrets import remember


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice", None)


async def accepted(runtime: Runtime, secret: str) -> bool:
    try:
        await runtime.authenticator.authenticate(Credentials("alice", secret))
    except Unauthorized:
        return False
    return True


def regenerate(runtime: Runtime, token: str, grace: int = 0) -> str:
    record = runtime.tokens.get(parse_token(token).public_id)
    made = runtime.rotation.regenerate(record, CLI_ACTOR, grace_seconds=grace)
    return remember(str(made.token))


async def test_the_token_keeps_everything_but_its_secret(
    runtime: Runtime, clock: FakeClock
) -> None:
    old = add_token(
        runtime, "alice", AccessLevel.WRITE, expires_at=int(clock()) + 30 * 86400, description="ci"
    )
    public_id = parse_token(old).public_id
    runtime.usage.record(public_id, TokenUse(int(clock()), "192.0.2.7", "docker/27"))
    runtime.usage.flush()
    before = runtime.tokens.get(public_id)
    clock.advance(60)

    new = regenerate(runtime, old)

    after = runtime.tokens.get(public_id)
    assert parse_token(new).public_id == public_id
    assert parse_token(new).secret != parse_token(old).secret
    assert after.secret_hash != before.secret_hash
    # Every other column as it was: id, uuid, owner, description, access, state, expiry,
    # creation and last use.
    assert after == type(before)(**{**_fields(before), "secret_hash": after.secret_hash})
    assert await accepted(runtime, new)
    assert not await accepted(runtime, old)


def _fields(record: object) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]


async def test_the_old_secret_stops_at_once_even_when_a_worker_had_it_verified(
    runtime: Runtime, another_runtime: OpenRuntime
) -> None:
    worker = another_runtime()
    old = add_token(runtime, "alice")
    assert await accepted(worker, old)  # verified, and remembered, by another worker
    assert await accepted(worker, old)

    new = regenerate(runtime, old)
    settled(worker)

    assert not await accepted(worker, old)
    assert await accepted(worker, new)


async def test_the_old_secret_works_for_the_grace_period_and_never_after(
    runtime: Runtime, clock: FakeClock
) -> None:
    old = add_token(runtime, "alice")
    new = regenerate(runtime, old, grace=3600)
    (event,) = runtime.audit.list(AuditQuery(action="token.regenerate"))
    assert event.details == {
        "owner": "alice",
        "grace": "1h",
        "previous_valid_until": "2027-01-15T09:00:00Z",
    }

    clock.advance(3599)
    # Verified within the grace period: the cache keeps it no longer than the period lasts.
    assert await accepted(runtime, old)
    assert await accepted(runtime, new)
    clock.advance(1)
    assert not await accepted(runtime, old)
    assert await accepted(runtime, new)


async def test_a_second_regeneration_ends_the_first_grace_period_at_once(
    runtime: Runtime,
) -> None:
    first = add_token(runtime, "alice")
    second = regenerate(runtime, first, grace=3600)
    third = regenerate(runtime, second)
    assert not await accepted(runtime, first)
    assert not await accepted(runtime, second)
    assert await accepted(runtime, third)


@pytest.mark.parametrize("grace", [-1, MAX_GRACE_SECONDS + 1])
def test_a_grace_period_out_of_range_is_refused(runtime: Runtime, grace: int) -> None:
    token = add_token(runtime, "alice")
    with pytest.raises(BadRequest, match="between 0 and 7d"):
        regenerate(runtime, token, grace)


def test_session_expired_and_disabled_owners_tokens_are_not_regenerated(
    runtime: Runtime, clock: FakeClock
) -> None:
    alice = runtime.users.get("alice")
    session = runtime.tokens.create_session_token(
        alice, client_id="docker", ip=None, user_agent=None
    )
    with pytest.raises(Conflict, match="sign in again"):
        runtime.rotation.regenerate(session.record, CLI_ACTOR)
    soon = add_token(runtime, "alice", expires_at=int(clock()) + 60)
    clock.advance(60)
    with pytest.raises(Conflict, match="has expired"):
        regenerate(runtime, soon)
    token = add_token(runtime, "alice")
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    with pytest.raises(Conflict, match="disabled"):
        regenerate(runtime, token)
    assert runtime.audit.list(AuditQuery(action="token.regenerate")) == []


def test_two_regenerations_at_once_one_wins_the_other_is_told(runtime: Runtime) -> None:
    token = add_token(runtime, "alice")
    seen = runtime.tokens.get(parse_token(token).public_id)  # both read the same secret
    results: list[object] = []
    barrier = threading.Barrier(2)

    def once() -> None:
        barrier.wait()
        try:
            results.append(runtime.rotation.regenerate(seen, CLI_ACTOR))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Regenerated"]
    assert len(runtime.audit.list(AuditQuery(action="token.regenerate"))) == 1


# Organization access tokens: the same rules.


def add_org_token(runtime: Runtime, clock: FakeClock, *, expires_in: int | None = None) -> str:
    org = add_org(runtime, "acme", "alice")
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="CI pushes",
        resources={"acme/app": frozenset({"pull", "push"})},
        public_read=True,
        expires_at=None if expires_in is None else int(clock()) + expires_in,
    )
    return remember(str(created.token))


def regenerate_org(runtime: Runtime, token: str, grace: int = 0) -> str:
    org = runtime.organizations.get("acme")
    record = runtime.org_tokens.get(org, parse_token(token).public_id)
    made = runtime.rotation.regenerate_org_token(org, record, CLI_ACTOR, grace_seconds=grace)
    return remember(str(made.token))


async def org_accepted(runtime: Runtime, secret: str) -> bool:
    try:
        await runtime.authenticator.authenticate(Credentials("acme", secret))
    except Unauthorized:
        return False
    return True


async def test_an_org_token_keeps_everything_but_its_secret(
    runtime: Runtime, clock: FakeClock
) -> None:
    old = add_org_token(runtime, clock, expires_in=30 * 86400)
    public_id = parse_token(old).public_id
    runtime.usage.record_org(public_id, TokenUse(int(clock()), "192.0.2.7", "buildkit/0.16"))
    runtime.usage.flush()
    org = runtime.organizations.get("acme")
    before = runtime.org_tokens.get(org, public_id)
    clock.advance(60)

    new = regenerate_org(runtime, old)

    after = runtime.org_tokens.get(org, public_id)
    assert parse_token(new).public_id == public_id
    assert after.secret_hash != before.secret_hash
    # Every other column as it was: id, uuid, label, description, resources, state, expiry,
    # creation and last use.
    assert after == type(before)(**{**_fields(before), "secret_hash": after.secret_hash})
    assert await org_accepted(runtime, new)
    assert not await org_accepted(runtime, old)
    (event,) = runtime.audit.list(AuditQuery(action="org_token.regenerate"))
    assert event.target == public_id
    assert event.details == {"org": "acme", "grace": "0", "previous_valid_until": None}


async def test_an_org_tokens_old_secret_works_for_the_grace_period_and_never_after(
    runtime: Runtime, clock: FakeClock, another_runtime: OpenRuntime
) -> None:
    worker = another_runtime()
    old = add_org_token(runtime, clock)
    assert await org_accepted(worker, old)  # remembered by another worker

    new = regenerate_org(runtime, old, grace=3600)
    settled(worker)

    clock.advance(3599)
    assert await org_accepted(worker, old)
    assert await org_accepted(worker, new)
    clock.advance(1)
    assert not await org_accepted(worker, old)
    assert await org_accepted(worker, new)
    # A second regeneration ends the first one's grace at once.
    newest = regenerate_org(runtime, new, grace=3600)
    settled(worker)
    third = regenerate_org(runtime, newest)
    settled(worker)
    assert not await org_accepted(worker, newest)
    assert await org_accepted(worker, third)


def test_an_expired_org_token_or_a_bad_grace_is_refused(runtime: Runtime, clock: FakeClock) -> None:
    token = add_org_token(runtime, clock, expires_in=60)
    with pytest.raises(BadRequest, match="between 0 and 7d"):
        regenerate_org(runtime, token, MAX_GRACE_SECONDS + 1)
    clock.advance(60)
    with pytest.raises(Conflict, match="has expired"):
        regenerate_org(runtime, token)
    assert runtime.audit.list(AuditQuery(action="org_token.regenerate")) == []


def test_two_org_token_regenerations_at_once_one_wins(runtime: Runtime, clock: FakeClock) -> None:
    token = add_org_token(runtime, clock)
    org = runtime.organizations.get("acme")
    seen = runtime.org_tokens.get(org, parse_token(token).public_id)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def once() -> None:
        barrier.wait()
        try:
            results.append(runtime.rotation.regenerate_org_token(org, seen, CLI_ACTOR))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "RegeneratedOrgToken"]
