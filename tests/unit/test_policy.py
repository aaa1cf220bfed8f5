"""The authorization rules as a table: principal x token level x visibility x request -> grant."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.models import ANONYMOUS, AccessLevel, Principal
from regauth.domain.policy import decide, repositories_needing_visibility
from regauth.domain.scopes import Scope

ALICE = Principal("alice")
ADMIN = Principal("root", is_admin=True)


def pat(level: AccessLevel, name: str = "alice", admin: bool = False) -> Principal:
    return Principal(name, is_admin=admin, token_id="tok", access=level)


def repo(name: str, *actions: str) -> Scope:
    return Scope("repository", name, frozenset(actions))


PUBLIC = frozenset({"bob/public", "alice/pub"})

# (principal, requested, expected granted actions; None = no access entry)
MATRIX = [
    # owner by password: everything in the own namespace
    (ALICE, repo("alice/app", "pull", "push"), ("pull", "push")),
    (ALICE, repo("alice/app", "*"), ("delete", "pull", "push")),
    (ALICE, repo("alice/app", "delete"), ("delete",)),
    # token levels cap the owner
    (pat(AccessLevel.DELETE), repo("alice/app", "*"), ("delete", "pull", "push")),
    (pat(AccessLevel.WRITE), repo("alice/app", "*"), ("pull", "push")),
    (pat(AccessLevel.WRITE), repo("alice/app", "delete"), None),
    (pat(AccessLevel.READ), repo("alice/app", "pull", "push"), ("pull",)),
    (pat(AccessLevel.PUBLIC_READ), repo("alice/app", "pull"), None),
    (pat(AccessLevel.PUBLIC_READ), repo("alice/pub", "pull", "push"), ("pull",)),
    (pat(AccessLevel.PUBLIC_READ), repo("bob/public", "pull"), ("pull",)),
    # other namespaces: pull only when public
    (ALICE, repo("bob/private", "pull"), None),
    (ALICE, repo("bob/public", "pull", "push"), ("pull",)),
    (pat(AccessLevel.DELETE), repo("bob/public", "*"), ("pull",)),
    # anonymous
    (ANONYMOUS, repo("bob/public", "pull"), ("pull",)),
    (ANONYMOUS, repo("bob/public", "push"), None),
    (ANONYMOUS, repo("bob/private", "pull"), None),
    # admins get the catalog but no one else's repositories
    (ADMIN, Scope("registry", "catalog", frozenset({"*"})), ("*",)),
    (ADMIN, repo("alice/app", "pull"), None),
    (ALICE, Scope("registry", "catalog", frozenset({"*"})), None),
    (
        pat(AccessLevel.READ, "root", admin=True),
        Scope("registry", "catalog", frozenset({"*"})),
        ("*",),
    ),
    (
        pat(AccessLevel.PUBLIC_READ, "root", admin=True),
        Scope("registry", "catalog", frozenset({"*"})),
        None,
    ),
    (ADMIN, Scope("registry", "catalog", frozenset({"pull"})), None),
    # names the registry never serves, unknown types and actions
    (ALICE, repo("localhost:5000/alice/app", "pull"), None),
    (ALICE, repo("alice", "pull"), None),  # one component: no namespace
    (ALICE, Scope("plugin", "alice/app", frozenset({"pull"})), None),
    (ALICE, repo("alice/app", "pull", "fly"), ("pull",)),
]


@pytest.mark.parametrize(("principal", "scope", "granted"), MATRIX)
def test_permission_matrix(
    principal: Principal, scope: Scope, granted: tuple[str, ...] | None
) -> None:
    decision = decide(principal, [scope], PUBLIC)
    if granted is None:
        assert decision.granted == ()
        assert decision.denied, "every refused action carries a reason"
    else:
        assert len(decision.granted) == 1
        assert decision.granted[0].actions == granted
        assert decision.granted[0].type in ("repository", "registry")


def test_denials_explain_each_refused_action() -> None:
    decision = decide(pat(AccessLevel.READ), [repo("alice/app", "pull", "push", "delete")], PUBLIC)
    reasons = {d.action: d.reason for d in decision.denied}
    assert reasons == {
        "push": "token access level 'read' excludes it",
        "delete": "token access level 'read' excludes it",
    }
    other = decide(ALICE, [repo("bob/private", "pull")], PUBLIC)
    assert (
        other.denied[0].reason == "not the owner of namespace 'bob' and the repository is private"
    )


def test_claim_uses_the_bare_repository_type() -> None:
    decision = decide(ALICE, [Scope("repository", "alice/plug", frozenset({"pull"}))], PUBLIC)
    assert decision.claims() == [{"type": "repository", "name": "alice/plug", "actions": ["pull"]}]
    assert decision.scope_string() == "repository:alice/plug:pull"


def test_visibility_is_looked_up_only_beyond_the_own_namespace() -> None:
    scopes = [repo("alice/a", "pull"), repo("bob/b", "pull"), repo("bad//name", "pull")]
    assert repositories_needing_visibility(ALICE, scopes) == ["bob/b"]
    assert repositories_needing_visibility(ANONYMOUS, scopes) == ["alice/a", "bob/b"]
    assert repositories_needing_visibility(pat(AccessLevel.READ), scopes) == ["bob/b"]
    # A public-read token reaches public repositories only, its owner's too.
    public_read = pat(AccessLevel.PUBLIC_READ)
    assert repositories_needing_visibility(public_read, scopes) == ["alice/a", "bob/b"]


_names = st.sampled_from(["alice/a", "alice/b", "bob/public", "bob/private", "carol/x"])
_actions = st.sets(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1)
_scopes = st.lists(
    st.builds(lambda n, a: repo(n, *a), _names, _actions), max_size=4, unique_by=lambda s: s.name
)
_principals = st.sampled_from([ALICE, ANONYMOUS, ADMIN] + [pat(level) for level in AccessLevel])


@given(principal=_principals, scopes=_scopes)
def test_a_token_never_grants_more_than_its_owner(
    principal: Principal, scopes: list[Scope]
) -> None:
    owner = Principal(principal.name, is_admin=principal.is_admin)
    by_token = {(g.name, a) for g in decide(principal, scopes, PUBLIC).granted for a in g.actions}
    by_owner = {(g.name, a) for g in decide(owner, scopes, PUBLIC).granted for a in g.actions}
    assert by_token <= by_owner


@given(principal=_principals, scopes=_scopes, extra=_scopes)
def test_granting_is_monotonic_in_what_was_requested(
    principal: Principal, scopes: list[Scope], extra: list[Scope]
) -> None:
    merged: dict[str, set[str]] = {}
    for s in scopes + extra:
        merged.setdefault(s.name, set()).update(s.actions)
    bigger = [repo(n, *a) for n, a in merged.items()]
    small = {(g.name, a) for g in decide(principal, scopes, PUBLIC).granted for a in g.actions}
    large = {(g.name, a) for g in decide(principal, bigger, PUBLIC).granted for a in g.actions}
    assert small <= large
