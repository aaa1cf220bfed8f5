"""Fine-grained personal access tokens as a table: the list x the owner's rights (own namespace,
organization role, team rules, public repositories) x the access level -> what is granted,
and why the rest is not; and the property that a list only ever takes away."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.models import (
    AccessLevel,
    OrgMembership,
    OrgRole,
    Principal,
    TeamPermission,
    TeamRule,
)
from regauth.domain.policy import (
    MAX_LISTED,
    Decision,
    decide,
    namespaces_needing_membership,
    parse_repository_list,
    repositories_needing_visibility,
)
from regauth.domain.scopes import Scope
from regauth.errors import BadRequest

ALL = ("delete", "pull", "push")
PUBLIC = frozenset({"bob/site", "acme/site"})
OWNER = {"acme": OrgMembership("acme", OrgRole.OWNER)}
OUTSIDER = {"acme": OrgMembership("acme", None)}


def member(*rules: tuple[str, TeamPermission]) -> dict[str, OrgMembership]:
    return {
        "acme": OrgMembership(
            "acme", OrgRole.MEMBER, tuple(TeamRule("devs", p, perm) for p, perm in rules)
        )
    }


def fine(*listed: str, level: AccessLevel = AccessLevel.DELETE, admin: bool = False) -> Principal:
    return Principal("alice", is_admin=admin, token_id="t", access=level, repositories=listed)


def repo(name: str, *actions: str) -> Scope:
    return Scope("repository", name, frozenset(actions or ("*",)))


def granted(decision: Decision, name: str) -> tuple[str, ...]:
    return next((g.actions for g in decision.granted if g.name == name), ())


# (principal, orgs, repository asked for with "*", actions granted)
MATRIX = [
    # listed names and patterns, in the owner's own namespace
    (fine("alice/app"), {}, "alice/app", ALL),
    (fine("alice/app"), {}, "alice/other", ()),
    (fine("alice/app"), {}, "alice/app/sub", ()),  # a name is not a prefix
    (fine("alice/*"), {}, "alice/anything", ALL),
    (fine("alice/ci/*"), {}, "alice/ci/build", ALL),
    (fine("alice/ci/*"), {}, "alice/ci/a/b", ALL),  # any depth
    (fine("alice/ci/*"), {}, "alice/ci", ()),  # below the prefix, not the prefix itself
    (fine("alice/ci/*"), {}, "alice/cia", ()),
    # the access level caps what the list lets through
    (fine("alice/app", level=AccessLevel.WRITE), {}, "alice/app", ("pull", "push")),
    (fine("alice/app", level=AccessLevel.READ), {}, "alice/app", ("pull",)),
    (fine("alice/app", level=AccessLevel.PUBLIC_READ), {}, "alice/app", ()),
    (fine("bob/site", level=AccessLevel.PUBLIC_READ), {}, "bob/site", ("pull",)),
    # listing a repository gives nothing the owner may not do there
    (fine("bob/private"), {}, "bob/private", ()),
    (fine("bob/*"), {}, "bob/site", ("pull",)),  # public: pull, as without the list
    (fine("acme/app"), OUTSIDER, "acme/app", ()),
    (fine("acme/site"), OUTSIDER, "acme/site", ("pull",)),
    # ...and an unlisted public repository gets nothing at all (the intersection rule)
    (fine("alice/app"), {}, "bob/site", ()),
    (fine("alice/app"), OUTSIDER, "acme/site", ()),
    # combined with organization roles and team rules
    (fine("acme/app"), OWNER, "acme/app", ALL),
    (fine("acme/app"), OWNER, "acme/other", ()),
    (fine("acme/ci/*"), member(("ci/*", TeamPermission.WRITE)), "acme/ci/x", ("pull", "push")),
    (fine("acme/ci/*"), member(("*", TeamPermission.READ)), "acme/ci/x", ("pull",)),
    (fine("acme/ci/*"), member(("*", TeamPermission.ADMIN)), "acme/app", ()),
    (fine("acme/*"), member(("app", TeamPermission.READ)), "acme/app", ("pull",)),
    (fine("acme/*"), member(("app", TeamPermission.READ)), "acme/other", ()),
    (
        fine("acme/ci/*", level=AccessLevel.WRITE),
        member(("ci/*", TeamPermission.ADMIN)),
        "acme/ci/x",
        ("pull", "push"),
    ),
    # several entries: each repository by the one that covers it
    (fine("alice/app", "acme/ci/*"), OWNER, "alice/app", ALL),
    (fine("alice/app", "acme/ci/*"), OWNER, "acme/ci/build", ALL),
    (fine("alice/app", "acme/ci/*"), OWNER, "acme/web", ()),
]


@pytest.mark.parametrize(("principal", "orgs", "name", "expected"), MATRIX)
def test_a_fine_grained_token_gets_what_its_owner_may_on_what_it_lists(
    principal: Principal, orgs: dict[str, OrgMembership], name: str, expected: tuple[str, ...]
) -> None:
    decision = decide(principal, [repo(name)], PUBLIC & {name}, orgs)
    assert granted(decision, name) == expected


# (principal, orgs, repository, action, the reason it is refused)
DENIALS = [
    (fine("alice/app"), {}, "alice/other", "pull", "token does not list 'alice/other'"),
    (fine("alice/app"), {}, "bob/site", "pull", "token does not list 'bob/site'"),
    (fine("alice/app"), OWNER, "acme/app", "push", "token does not list 'acme/app'"),
    # listed, but beyond the owner or the level: the owner's or the level's reason
    (
        fine("bob/private"),
        {},
        "bob/private",
        "pull",
        "not the owner of namespace 'bob' and the repository is private",
    ),
    (
        fine("acme/app"),
        OUTSIDER,
        "acme/app",
        "pull",
        "not a member of organization 'acme'",
    ),
    (
        fine("alice/app", level=AccessLevel.READ),
        {},
        "alice/app",
        "push",
        "token access level 'read' excludes it",
    ),
]


@pytest.mark.parametrize(("principal", "orgs", "name", "action", "reason"), DENIALS)
def test_a_refusal_names_its_reason(
    principal: Principal, orgs: dict[str, OrgMembership], name: str, action: str, reason: str
) -> None:
    decision = decide(principal, [repo(name, action)], PUBLIC & {name}, orgs)
    assert decision.granted == ()
    assert [(d.name, d.action, d.reason) for d in decision.denied] == [(name, action, reason)]


def test_a_grant_says_which_entry_of_the_list_let_it_through() -> None:
    decision = decide(fine("alice/app", "alice/ci/*"), [repo("alice/ci/x", "pull")], frozenset())
    assert decision.granted[0].reasons == (
        "pull: owner of namespace 'alice' (the token lists 'alice/ci/*')",
    )


def test_a_fine_grained_token_never_lists_the_catalog() -> None:
    catalog = Scope("registry", "catalog", frozenset({"*"}))
    decision = decide(fine("alice/*", admin=True), [catalog], frozenset())
    assert decision.granted == ()
    assert decision.denied[0].reason == "a token that lists repositories may not list the catalog"
    # The same administrator's token without a list may.
    unlisted = Principal("alice", is_admin=True, token_id="t", access=AccessLevel.DELETE)
    assert decide(unlisted, [catalog], frozenset()).granted


def test_no_lookup_is_made_for_a_repository_the_token_does_not_list() -> None:
    scopes = [repo("bob/site"), repo("acme/app"), repo("acme/ci/x")]
    principal = fine("acme/ci/*")
    assert repositories_needing_visibility(principal, scopes) == ["acme/ci/x"]
    assert namespaces_needing_membership(principal, scopes) == ["acme"]
    assert namespaces_needing_membership(fine("alice/app"), scopes) == []


# -- the list as its creator gives it --------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "parsed"),
    [
        (["alice/app"], ("alice/app",)),
        (["acme/ci/*", "alice/app"], ("acme/ci/*", "alice/app")),  # order kept
        ([" alice/app ", "alice/app"], ("alice/app",)),  # trimmed, repeats dropped
        (["acme/*"], ("acme/*",)),  # the whole namespace
        (["a/b/c/d"], ("a/b/c/d",)),
    ],
)
def test_a_repository_list_is_read(entries: list[str], parsed: tuple[str, ...]) -> None:
    assert parse_repository_list(entries) == parsed


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "the token lists no repository"),
        (["app"], "'app' is neither a repository (namespace/name) nor a pattern"),  # no owner
        (["*"], "'*' is neither"),
        (["alice/*/app"], "'alice/*/app' is neither"),
        (["Alice/App"], "'Alice/App' is neither"),  # registry names are lower-case
        (["alice/app*"], "'alice/app*' is neither"),
        (["alice/"], "'alice/' is neither"),
        (["rgp_" + "a" * 60], "'rgp_<redacted>' is neither"),  # a pasted token is not echoed
        ([f"alice/r{i}" for i in range(MAX_LISTED + 1)], "at most 50 repositories"),
    ],
)
def test_a_bad_repository_list_is_refused_naming_the_entry(
    entries: list[str], message: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_repository_list(entries)
    assert message in refused.value.message


def test_fifty_repositories_may_be_listed() -> None:
    assert len(parse_repository_list([f"alice/r{i}" for i in range(MAX_LISTED)])) == MAX_LISTED


# -- a list only ever takes away --------------------------------------------------------------

_COMPONENT = st.sampled_from(["alice", "bob", "acme", "app", "ci", "site", "x"])
_NAMES = st.lists(_COMPONENT, min_size=1, max_size=3).map("/".join)
_ENTRIES = st.one_of(
    st.lists(_COMPONENT, min_size=2, max_size=3).map("/".join),
    st.lists(_COMPONENT, min_size=1, max_size=2).map(lambda c: "/".join(c) + "/*"),
)
_ACTIONS = st.sets(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1)
_SCOPES = st.lists(
    st.builds(lambda n, a: Scope("repository", n, frozenset(a)), _NAMES, _ACTIONS)
    | st.just(Scope("registry", "catalog", frozenset({"*"}))),
    max_size=6,
)
_RULES = st.lists(
    st.builds(
        TeamRule,
        st.just("devs"),
        st.one_of(_NAMES, st.just("*"), _NAMES.map(lambda n: n + "/*")),
        st.sampled_from(TeamPermission),
    ),
    max_size=3,
)
_ORGS = st.dictionaries(
    st.sampled_from(["acme", "bob"]),
    st.tuples(st.sampled_from([OrgRole.OWNER, OrgRole.MEMBER, None]), _RULES),
    max_size=2,
).map(lambda d: {org: OrgMembership(org, role, tuple(rules)) for org, (role, rules) in d.items()})


def _granted(decision: Decision) -> set[tuple[str, str, str]]:
    return {(g.type, g.name, a) for g in decision.granted for a in g.actions}


@given(
    name=st.sampled_from(["alice", "bob"]),
    admin=st.booleans(),
    level=st.sampled_from(AccessLevel),
    listed=st.lists(_ENTRIES, min_size=1, max_size=4).map(tuple),
    scopes=_SCOPES,
    public=st.sets(_NAMES).map(frozenset),
    orgs=_ORGS,
)
def test_a_fine_grained_token_never_grants_more_than_the_same_token_without_a_list(
    name: str,
    admin: bool,
    level: AccessLevel,
    listed: tuple[str, ...],
    scopes: list[Scope],
    public: frozenset[str],
    orgs: dict[str, OrgMembership],
) -> None:
    unlisted = Principal(name, is_admin=admin, token_id="t", access=level)
    limited = Principal(name, is_admin=admin, token_id="t", access=level, repositories=listed)
    with_list = _granted(decide(limited, scopes, public, orgs))
    assert with_list <= _granted(decide(unlisted, scopes, public, orgs))
    # ...and what it grants is on repositories it lists.
    for _, repository, _ in with_list:
        assert any(
            repository == entry or (entry.endswith("/*") and repository.startswith(entry[:-1]))
            for entry in listed
        ), (repository, listed)
