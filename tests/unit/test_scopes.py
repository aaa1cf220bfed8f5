"""Scope parsing, table-driven: distribution's scope grammar (docs/spec/auth/scope.md: a name
may hold host:port, a type may carry a class) and what clients send beside it (skopeo's `*`,
several space-separated scopes in one parameter)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.scopes import RejectedScope, Scope, parse_scope, parse_scopes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("repository:alice/app:pull", Scope("repository", "alice/app", frozenset({"pull"}))),
        # order-insensitive, duplicates collapse
        (
            "repository:alice/app:push,pull,push",
            Scope("repository", "alice/app", frozenset({"pull", "push"})),
        ),
        # skopeo delete asks "*"
        ("repository:alice/app:*", Scope("repository", "alice/app", frozenset({"*"}))),
        # first colon / last colon: the name may carry host:port
        (
            "repository:localhost:5000/ns/app:pull",
            Scope("repository", "localhost:5000/ns/app", frozenset({"pull"})),
        ),
        # the class is ignored: repository(plugin) is a repository
        (
            "repository(plugin):alice/plug:pull",
            Scope("repository", "alice/plug", frozenset({"pull"})),
        ),
        ("registry:catalog:*", Scope("registry", "catalog", frozenset({"*"}))),
        # empty action list is legal (grants nothing)
        ("repository:alice/app:", Scope("repository", "alice/app", frozenset())),
    ],
)
def test_parse_scope_accepts_what_clients_send(raw: str, expected: Scope) -> None:
    assert parse_scope(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("repository", "expected type:name:actions"),
        ("repository:alice/app", "expected type:name:actions"),
        ("Repository:alice/app:pull", "invalid resource type"),
        ("repository(:alice/app:pull", "invalid resource type"),
        ("repository::pull", "invalid resource name"),
        ("repository:Alice/App:pull", "invalid repository name"),
        ("repository:alice//app:pull", "invalid repository name"),
        ("repository:alice/app:PULL", "invalid action"),
        ("repository:alice/app:pull;rm", "invalid action"),
        ("repository:" + "a" * 256 + ":pull", "invalid resource name"),
    ],
)
def test_parse_scope_rejects_malformed_input_with_a_reason(raw: str, reason: str) -> None:
    assert parse_scope(raw) == RejectedScope(raw, reason)


def test_parse_scopes_merges_repeated_and_space_separated_values_per_resource() -> None:
    # containerd: one param, space-joined, same repo twice; docker: repeated params.
    scopes, rejected = parse_scopes(
        ["repository:a/x:pull repository:a/x:pull,push", "repository:b/y:pull", "", "bad"]
    )
    assert sorted(scopes, key=str) == [
        Scope("repository", "a/x", frozenset({"pull", "push"})),
        Scope("repository", "b/y", frozenset({"pull"})),
    ]
    assert [r.raw for r in rejected] == ["bad"]


def test_parse_scopes_caps_the_number_of_scopes() -> None:
    values = [f"repository:a/r{i}:pull" for i in range(100)]
    scopes, rejected = parse_scopes(values)
    assert len(scopes) == 64
    assert len(rejected) == 36
    assert {r.reason for r in rejected} == {"too many scopes"}


_component = st.from_regex(r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}", fullmatch=True)


@given(
    names=st.lists(
        st.builds(lambda a, b: f"{a}/{b}", _component, _component), min_size=1, max_size=5
    ),
    actions=st.sets(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1),
)
def test_format_then_parse_round_trips(names: list[str], actions: set[str]) -> None:
    scopes = [Scope("repository", n, frozenset(actions)) for n in dict.fromkeys(names)]
    parsed, rejected = parse_scopes([" ".join(str(s) for s in scopes)])
    assert rejected == []
    assert sorted(parsed, key=str) == sorted(scopes, key=str)
