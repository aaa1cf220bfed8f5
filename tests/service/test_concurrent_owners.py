"""An organization keeps an owner under concurrency: two owners demoting or removing each other
at the same moment, from two runtimes (workers, or replicas on PostgreSQL), are serialized, and
one of them is told the other is the last owner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from regauth.domain.models import CLI_ACTOR, Actor, OrgRole
from regauth.errors import Conflict
from regauth.runtime import Runtime
from tests.support.builders import OpenRuntime, add_org, add_user

ROUNDS = 30
LAST_OWNER = "an organization keeps at least one owner"

Change = Callable[[Runtime, str, str], None]


def demote(rt: Runtime, actor: str, member: str) -> None:
    org, user = rt.organizations.get("acme"), rt.users.get(member)
    rt.organizations.set_member(org, user, OrgRole.MEMBER, Actor(name=actor, kind="user"))


def remove(rt: Runtime, actor: str, member: str) -> None:
    org, user = rt.organizations.get("acme"), rt.users.get(member)
    rt.organizations.remove_member(org, user, Actor(name=actor, kind="user"))


@pytest.mark.parametrize(
    ("first", "second"), [(demote, demote), (remove, remove), (demote, remove)]
)
def test_two_owners_taking_each_others_ownership_at_once_leave_one(
    runtime: Runtime, another_runtime: OpenRuntime, first: Change, second: Change
) -> None:
    add_user(runtime, "alice", None)
    add_user(runtime, "bob", None)
    org = add_org(runtime, "acme", "alice")
    other = another_runtime()
    refusals: list[str] = []

    for _ in range(ROUNDS):
        runtime.organizations.set_member(org, runtime.users.get("bob"), OrgRole.OWNER, CLI_ACTOR)
        runtime.organizations.set_member(org, runtime.users.get("alice"), OrgRole.OWNER, CLI_ACTOR)
        start = threading.Barrier(2)

        def attempt(
            rt: Runtime, change: Change, actor: str, member: str, start: threading.Barrier = start
        ) -> bool:
            start.wait()
            try:
                change(rt, actor, member)
            except Conflict as refused:
                refusals.append(str(refused))
                return False
            return True

        with ThreadPoolExecutor(2) as pool:
            done = [
                pool.submit(attempt, runtime, first, "alice", "bob"),
                pool.submit(attempt, other, second, "bob", "alice"),
            ]
            outcomes = [f.result() for f in done]

        owners = [m for m in runtime.organizations.members(org) if m.role is OrgRole.OWNER]
        assert len(owners) == 1, f"owners left: {owners}"
        assert sorted(outcomes) == [False, True]
    assert set(refusals) == {LAST_OWNER}
