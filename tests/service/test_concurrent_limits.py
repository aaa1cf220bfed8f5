"""Limits hold under concurrency: many creations at once, from several processes' worth of
runtimes (workers, or replicas on PostgreSQL), never pass the caps, and every token that was
created has its audit event (one operation, one transaction)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, AccessLevel, AuditQuery
from regauth.errors import Conflict
from regauth.runtime import Runtime
from regauth.services.access_tokens import CreatedToken
from tests.support.builders import OpenRuntime, add_org, add_user, reconfigured

CAP = 5
ATTEMPTS = 40


@pytest.fixture
def config(config: Config) -> Config:
    return reconfigured(
        config,
        limits={
            "max_active_tokens": CAP,
            "org_tokens_per_org": CAP,
            "token_creations_per_hour": 1000,
        },
    )


def _all_at_once(runtimes: list[Runtime], create: Callable[[Runtime], object]) -> tuple[int, int]:
    """ATTEMPTS creations spread over `runtimes`, 16 at a time; (created, refused)."""

    def attempt(index: int) -> bool:
        try:
            create(runtimes[index % len(runtimes)])
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(attempt, range(ATTEMPTS)))
    return outcomes.count(True), outcomes.count(False)


def test_simultaneous_creations_never_pass_the_active_token_cap(
    runtime: Runtime, another_runtime: OpenRuntime
) -> None:
    add_user(runtime, "alice")
    runtimes = [runtime, another_runtime(), another_runtime()]

    def create(rt: Runtime) -> object:
        return rt.tokens.create(
            rt.users.get("alice"),
            CLI_ACTOR,
            description="ci",
            access=AccessLevel.READ,
            expires_at=None,
        )

    assert _all_at_once(runtimes, create) == (CAP, ATTEMPTS - CAP)
    owner = runtime.users.get("alice")
    assert runtime.tokens.limits_for(owner)["active_tokens"] == CAP
    events = runtime.audit.list(AuditQuery(action="token.create", limit=100))
    assert sorted(e.target for e in events) == sorted(r.id for r in runtime.tokens.list_for(owner))


def test_simultaneous_activations_and_creations_never_pass_the_active_token_cap(
    runtime: Runtime, another_runtime: OpenRuntime
) -> None:
    # CAP tokens made and deactivated, then CAP - 2 active ones: of the reactivations and the
    # creations at once, two pass, whichever they are.
    add_user(runtime, "alice")
    owner = runtime.users.get("alice")

    def create(rt: Runtime) -> CreatedToken:
        return rt.tokens.create(
            rt.users.get("alice"), CLI_ACTOR, description="ci", access=AccessLevel.READ
        )

    stale = [create(runtime).record for _ in range(CAP)]
    for record in stale:
        runtime.tokens.set_active(record, CLI_ACTOR, False)
    for _ in range(CAP - 2):
        create(runtime)
    runtimes = [runtime, another_runtime(), another_runtime()]

    def activate_or_create(rt: Runtime) -> object:
        if stale:  # the first CAP attempts reactivate, the others create
            record = stale.pop()
            return rt.tokens.set_active(rt.tokens.get(record.id), CLI_ACTOR, True)
        return create(rt)

    created, _ = _all_at_once(runtimes, activate_or_create)
    assert created == 2
    assert runtime.tokens.limits_for(owner)["active_tokens"] == CAP


def test_simultaneous_creations_never_pass_the_organization_cap(
    runtime: Runtime, another_runtime: OpenRuntime
) -> None:
    add_user(runtime, "owner")
    add_org(runtime, "acme", "owner")
    runtimes = [runtime, another_runtime(), another_runtime()]

    def create(rt: Runtime) -> object:
        return rt.org_tokens.create(
            rt.organizations.get("acme"),
            CLI_ACTOR,
            label="ci",
            description="",
            resources={"acme/app": frozenset({"pull"})},
            public_read=False,
            expires_at=None,
        )

    assert _all_at_once(runtimes, create) == (CAP, ATTEMPTS - CAP)
    assert len(runtime.org_tokens.for_org(runtime.organizations.get("acme"))) == CAP


def test_a_token_whose_audit_event_cannot_be_written_is_not_created(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    owner = add_user(runtime, "alice")

    def broken(event: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(runtime.store, "append_audit", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        runtime.tokens.create(
            owner, CLI_ACTOR, description="ci", access=AccessLevel.READ, expires_at=None
        )
    assert runtime.tokens.list_for(owner) == []  # the insert was rolled back with it
