"""Organization rules as a table: role x team permission x token level x visibility x anonymous."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.models import (
    ANONYMOUS,
    AccessLevel,
    OrgMembership,
    OrgRole,
    Principal,
    TeamPermission,
    TeamRule,
)
from regauth.domain.policy import decide, namespaces_needing_membership, pattern_matches
from regauth.domain.scopes import Scope

PUBLIC = frozenset({"acme/site"})
ALL = ("delete", "pull", "push")


def repo(name: str, *actions: str) -> Scope:
    return Scope("repository", name, frozenset(actions or ("*",)))


def member(*rules: tuple[str, TeamPermission]) -> dict[str, OrgMembership]:
    return {
        "acme": OrgMembership(
            "acme", OrgRole.MEMBER, tuple(TeamRule("devs", p, perm) for p, perm in rules)
        )
    }


OWNER = {"acme": OrgMembership("acme", OrgRole.OWNER)}
OUTSIDER = {"acme": OrgMembership("acme", None)}
ALICE = Principal("alice")


def pat(level: AccessLevel) -> Principal:
    return Principal("alice", token_id="t", access=level)


def org_token(*resources: tuple[str, frozenset[str]], public_read: bool = False) -> Principal:
    return Principal("acme", token_id="o", org_token_resources=resources, public_read=public_read)


# (principal, orgs, repository, expected actions granted for "*")
MATRIX = [
    # roles
    (ALICE, OWNER, "acme/app", ALL),
    (ALICE, OUTSIDER, "acme/app", ()),
    (ALICE, OUTSIDER, "acme/site", ("pull",)),  # public
    (ALICE, member(), "acme/app", ()),  # a member without a team rule
    (ALICE, member(), "acme/site", ("pull",)),
    # team permission on one repository
    (ALICE, member(("app", TeamPermission.READ)), "acme/app", ("pull",)),
    (ALICE, member(("app", TeamPermission.WRITE)), "acme/app", ("pull", "push")),
    (ALICE, member(("app", TeamPermission.ADMIN)), "acme/app", ALL),
    (ALICE, member(("app", TeamPermission.ADMIN)), "acme/other", ()),
    # patterns
    (ALICE, member(("ci/*", TeamPermission.WRITE)), "acme/ci/build", ("pull", "push")),
    (ALICE, member(("ci/*", TeamPermission.WRITE)), "acme/ci/a/b", ("pull", "push")),
    (ALICE, member(("ci/*", TeamPermission.WRITE)), "acme/cia", ()),
    (ALICE, member(("*", TeamPermission.READ)), "acme/anything", ("pull",)),
    # the strongest of several teams wins
    (
        ALICE,
        member(("app", TeamPermission.READ), ("*", TeamPermission.WRITE)),
        "acme/app",
        ("pull", "push"),
    ),
    # token level caps the team
    (pat(AccessLevel.READ), member(("app", TeamPermission.ADMIN)), "acme/app", ("pull",)),
    (pat(AccessLevel.WRITE), OWNER, "acme/app", ("pull", "push")),
    (pat(AccessLevel.PUBLIC_READ), OWNER, "acme/app", ()),
    (pat(AccessLevel.PUBLIC_READ), OWNER, "acme/site", ("pull",)),
    # anonymous only ever pulls public
    (ANONYMOUS, {}, "acme/site", ("pull",)),
    (ANONYMOUS, {}, "acme/app", ()),
    # organization tokens: listed repositories only, plus public ones when asked
    (org_token(("acme/app", frozenset({"pull", "push"}))), {}, "acme/app", ("pull", "push")),
    (org_token(("acme/app", frozenset({"pull"}))), {}, "acme/app", ("pull",)),
    (org_token(("acme/app", frozenset({"pull"}))), {}, "acme/other", ()),
    (org_token(("acme/app", frozenset({"pull"}))), {}, "acme/site", ()),
    (org_token(public_read=True), {}, "acme/site", ("pull",)),
    (org_token(public_read=True), {}, "acme/app", ()),
]


@pytest.mark.parametrize(("principal", "orgs", "name", "granted"), MATRIX)
def test_organization_permission_matrix(
    principal: Principal, orgs: dict[str, OrgMembership], name: str, granted: tuple[str, ...]
) -> None:
    decision = decide(principal, [repo(name)], PUBLIC, orgs)
    actions = decision.granted[0].actions if decision.granted else ()
    assert actions == granted
    refused = set(ALL) - set(granted)
    assert {d.action for d in decision.denied} == refused  # each refusal has a reason


@pytest.mark.parametrize(
    ("principal", "orgs", "name", "action", "reason"),
    [
        (ALICE, OUTSIDER, "acme/app", "pull", "not a member of organization 'acme'"),
        (
            ALICE,
            member(("app", TeamPermission.READ)),
            "acme/app",
            "push",
            "no team of yours in 'acme' grants push on this repository",
        ),
        (pat(AccessLevel.READ), OWNER, "acme/app", "push", "token access level 'read' excludes it"),
        (
            org_token(("acme/app", frozenset({"pull"}))),
            {},
            "acme/app",
            "push",
            "organization token does not allow push on 'acme/app'",
        ),
        (org_token(), {}, "acme/other", "pull", "organization token does not list 'acme/other'"),
    ],
)
def test_refusals_say_why(
    principal: Principal, orgs: dict[str, OrgMembership], name: str, action: str, reason: str
) -> None:
    decision = decide(principal, [repo(name, action)], PUBLIC, orgs)
    assert [d.reason for d in decision.denied] == [reason]


def test_grants_name_the_rule() -> None:
    decision = decide(
        ALICE, [repo("acme/app", "push")], PUBLIC, member(("app", TeamPermission.WRITE))
    )
    assert decision.granted[0].reasons == ("push: team 'devs' has write on 'app'",)


def test_org_tokens_never_list_the_catalog() -> None:
    token = Principal("acme", is_admin=True, token_id="o", org_token_resources=())
    assert decide(token, [Scope("registry", "catalog", frozenset({"*"}))], PUBLIC).granted == ()


@pytest.mark.parametrize(
    ("pattern", "relative", "matches"),
    [
        ("app", "app", True),
        ("app", "app2", False),
        ("ci/*", "ci/x", True),
        ("ci/*", "ci", False),
        ("*", "x/y", True),
    ],
)
def test_pattern_matching(pattern: str, relative: str, matches: bool) -> None:
    assert pattern_matches(pattern, relative) is matches


def test_memberships_are_looked_up_only_for_other_namespaces() -> None:
    scopes = [repo("alice/a"), repo("acme/x"), repo("acme/y"), repo("bob/z")]
    assert namespaces_needing_membership(ALICE, scopes) == ["acme", "bob"]
    assert namespaces_needing_membership(ANONYMOUS, scopes) == []
    assert namespaces_needing_membership(org_token(), scopes) == []


_rules = st.lists(
    st.tuples(
        st.sampled_from(["app", "ci/*", "*", "other"]), st.sampled_from(list(TeamPermission))
    ),
    max_size=3,
)
_roles = st.sampled_from([OrgRole.OWNER, OrgRole.MEMBER, None])
_names = st.sampled_from(["acme/app", "acme/ci/x", "acme/site", "acme/other", "alice/own"])
_scopes = st.lists(
    st.builds(
        lambda n, a: repo(n, *a),
        _names,
        st.sets(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1),
    ),
    max_size=4,
    unique_by=lambda s: s.name,
)


def _granted(
    principal: Principal, scopes: list[Scope], orgs: dict[str, OrgMembership]
) -> set[tuple[str, str]]:
    return {(g.name, a) for g in decide(principal, scopes, PUBLIC, orgs).granted for a in g.actions}


@given(role=_roles, rules=_rules, level=st.sampled_from(list(AccessLevel)), scopes=_scopes)
def test_a_token_never_grants_more_than_its_owner_may(
    role: OrgRole | None,
    rules: list[tuple[str, TeamPermission]],
    level: AccessLevel,
    scopes: list[Scope],
) -> None:
    orgs = {"acme": OrgMembership("acme", role, tuple(TeamRule("t", p, perm) for p, perm in rules))}
    assert _granted(pat(level), scopes, orgs) <= _granted(ALICE, scopes, orgs)


@given(role=_roles, rules=_rules, scopes=_scopes, extra=_scopes)
def test_granting_is_monotonic_with_organizations(
    role: OrgRole | None,
    rules: list[tuple[str, TeamPermission]],
    scopes: list[Scope],
    extra: list[Scope],
) -> None:
    orgs = {"acme": OrgMembership("acme", role, tuple(TeamRule("t", p, perm) for p, perm in rules))}
    merged: dict[str, set[str]] = {}
    for s in scopes + extra:
        merged.setdefault(s.name, set()).update(s.actions)
    bigger = [repo(n, *a) for n, a in merged.items()]
    assert _granted(ALICE, scopes, orgs) <= _granted(ALICE, bigger, orgs)


@given(rules=_rules, scopes=_scopes)
def test_more_team_rules_never_take_access_away(
    rules: list[tuple[str, TeamPermission]], scopes: list[Scope]
) -> None:
    fewer = {
        "acme": OrgMembership(
            "acme", OrgRole.MEMBER, tuple(TeamRule("t", p, perm) for p, perm in rules[:1])
        )
    }
    more = {
        "acme": OrgMembership(
            "acme", OrgRole.MEMBER, tuple(TeamRule("t", p, perm) for p, perm in rules)
        )
    }
    assert _granted(ALICE, scopes, fewer) <= _granted(ALICE, scopes, more)
