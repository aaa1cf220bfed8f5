"""The token service on a real temp SQLite file: policy on creation, session-token eviction."""

from __future__ import annotations

import pytest

from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.errors import BadRequest, Conflict
from regauth.runtime import Runtime
from tests.support.builders import OpenRuntime, reconfigured
from tests.support.clock import FakeClock


def test_operator_maximum_lifetime_forbids_never(
    another_runtime: OpenRuntime, clock: FakeClock
) -> None:
    runtime = another_runtime(auth={"max_token_lifetime_days": 90})
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    with pytest.raises(BadRequest, match="must expire within 90 days"):
        runtime.tokens.create(
            owner, CLI_ACTOR, description="x", access=AccessLevel.READ, expires_at=None
        )
    with pytest.raises(BadRequest, match="must expire within 90 days"):
        runtime.tokens.create(
            owner,
            CLI_ACTOR,
            description="x",
            access=AccessLevel.READ,
            expires_at=int(clock.now) + 91 * 86400,
        )
    ok = runtime.tokens.create(
        owner,
        CLI_ACTOR,
        description="x",
        access=AccessLevel.READ,
        expires_at=int(clock.now) + 30 * 86400,
    )
    assert ok.record.expires_at == int(clock.now) + 30 * 86400


def test_a_disabled_account_gets_no_new_tokens(runtime: Runtime) -> None:
    runtime.users.create("alice", None, CLI_ACTOR)
    disabled = runtime.users.set_disabled("alice", CLI_ACTOR, True)
    with pytest.raises(Conflict, match="disabled"):
        runtime.tokens.create(
            disabled, CLI_ACTOR, description="x", access=AccessLevel.READ, expires_at=None
        )


def test_session_tokens_keep_the_newest_five(runtime: Runtime, clock: FakeClock) -> None:
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    created = []
    for _ in range(7):
        created.append(
            runtime.tokens.create_session_token(
                owner, client_id="docker", ip="127.0.0.1", user_agent="docker"
            )
        )
        clock.advance(1)
    remaining = {r.id for r in runtime.tokens.list_for(owner)}
    assert remaining == {c.record.id for c in created[2:]}
    assert all(r.generated_by == "auto" for r in runtime.tokens.list_for(owner))


def test_config_limits_reach_the_service(another_runtime: OpenRuntime) -> None:
    runtime = another_runtime(limits={"session_tokens_per_account": 2})
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    for _ in range(3):
        runtime.tokens.create_session_token(owner, client_id=None, ip=None, user_agent=None)
    assert len(runtime.tokens.list_for(owner)) == 2


def test_a_reload_reaches_the_limits_without_a_new_runtime(runtime: Runtime) -> None:
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    assert runtime.tokens.limits_for(owner)["max_active_tokens"] == 50
    runtime.settings.current = reconfigured(runtime.config, limits={"max_active_tokens": 1})
    assert runtime.tokens.limits_for(owner)["max_active_tokens"] == 1
    runtime.tokens.create(
        owner, CLI_ACTOR, description="a", access=AccessLevel.READ, expires_at=None
    )
    with pytest.raises(Conflict, match=r"active token limit reached \(1\)"):
        runtime.tokens.create(
            owner, CLI_ACTOR, description="b", access=AccessLevel.READ, expires_at=None
        )


def test_a_token_given_no_expiry_gets_the_default_expiry(
    another_runtime: OpenRuntime, clock: FakeClock
) -> None:
    runtime = another_runtime(limits={"default_expiry": "30d"})
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    defaulted = runtime.tokens.create(owner, CLI_ACTOR, description="a", access=AccessLevel.READ)
    assert defaulted.record.expires_at == int(clock.now) + 30 * 86400
    # "never" said out loud is still never: the default is for a creator who said nothing.
    never = runtime.tokens.create(
        owner, CLI_ACTOR, description="b", access=AccessLevel.READ, expires_at=None
    )
    assert never.record.expires_at is None


def test_max_expiry_refuses_never_and_longer_and_the_tighter_limit_wins(
    another_runtime: OpenRuntime, clock: FakeClock
) -> None:
    runtime = another_runtime(limits={"max_expiry": "60d"}, auth={"max_token_lifetime_days": 90})
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    for expires_at in (None, int(clock.now) + 61 * 86400):
        with pytest.raises(BadRequest, match="must expire within 60 days"):
            runtime.tokens.create(
                owner, CLI_ACTOR, description="x", access=AccessLevel.READ, expires_at=expires_at
            )
    assert runtime.tokens.limits_for(owner)["max_token_lifetime_days"] == 60
    ok = runtime.tokens.create(
        owner,
        CLI_ACTOR,
        description="x",
        access=AccessLevel.READ,
        expires_at=int(clock.now) + 60 * 86400,
    )
    assert ok.record.expires_at == int(clock.now) + 60 * 86400


def test_max_expiry_holds_for_organization_tokens_too(
    another_runtime: OpenRuntime, clock: FakeClock
) -> None:
    """Found from outside: any organization owner could make a never-expiring (or 2099) token
    under a `max_expiry` every personal token was held to."""
    runtime = another_runtime(limits={"max_expiry": "30d"})
    owner = runtime.users.create("olivia", None, CLI_ACTOR)
    org = runtime.organizations.create("acme", owner, CLI_ACTOR)

    def create(expires_at: int | None) -> None:
        runtime.org_tokens.create(
            org,
            CLI_ACTOR,
            label="ci",
            description="",
            resources={},
            public_read=True,
            expires_at=expires_at,
        )

    for expires_at in (None, int(clock.now) + 31 * 86400):
        with pytest.raises(BadRequest, match="must expire within 30 days"):
            create(expires_at)
    create(int(clock.now) + 30 * 86400)
    assert [t.expires_at for t in runtime.org_tokens.for_org(org)] == [int(clock.now) + 30 * 86400]
