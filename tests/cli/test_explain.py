"""`regauth explain`: what a user or a token gets for a scope, each action with its reason."""

from __future__ import annotations

import pytest

from regauth.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from tests.cli.conftest import Cli


@pytest.fixture
def alice(cli: Cli) -> Cli:
    cli.ok("user", "add", "alice")
    cli.ok("user", "add", "bob")
    return cli


def rows(out: str) -> list[list[str]]:
    """The table under the header: result, type, name, action, then the reason's words."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("RESULT"))
    return [line.split(maxsplit=4) for line in lines[start + 1 :]]


def test_owner_gets_everything_in_their_namespace(alice: Cli) -> None:
    scope = "repository:alice/app:pull,push,delete"
    result = alice.ok("explain", "--user", "alice", scope)
    assert result.out.splitlines()[:2] == ["subject     user alice", "credential  usable"]
    reason = "owner of namespace 'alice'"
    assert rows(result.out) == [
        ["granted", "repository", "alice/app", action, reason]
        for action in ("delete", "pull", "push")
    ]
    explained = alice.ok("explain", "--user", "alice", scope, "--json").json()
    assert explained["granted"] == [
        {
            "type": "repository",
            "name": "alice/app",
            "actions": ["delete", "pull", "push"],
            "reasons": [f"{a}: {reason}" for a in ("delete", "pull", "push")],
        }
    ]
    assert explained["denied"] == [] and explained["credential_refused"] is None


def test_token_is_capped_by_its_access_level(alice: Cli) -> None:
    token_id = alice.create_token("alice", access="write")
    result = alice.ok("explain", "--token", token_id, "repository:alice/app:pull,push,delete")
    assert result.out.splitlines()[0] == f"subject     token {token_id} of alice"
    assert rows(result.out) == [
        ["granted", "repository", "alice/app", "pull", "owner of namespace 'alice'"],
        ["granted", "repository", "alice/app", "push", "owner of namespace 'alice'"],
        ["denied", "repository", "alice/app", "delete", "token access level 'write' excludes it"],
    ]


def test_denials_exit_zero_with_reasons(alice: Cli) -> None:
    result = alice("explain", "--user", "bob", "repository:alice/app:pull")
    assert result.code == EXIT_OK  # the answer is the output, not the exit code
    assert rows(result.out) == [
        [
            "denied",
            "repository",
            "alice/app",
            "pull",
            "not the owner of namespace 'alice' and the repository is private",
        ]
    ]
    alice.ok("repo", "set-visibility", "alice/app", "public")
    result = alice.ok("explain", "--user", "bob", "repository:alice/app:pull,push")
    assert rows(result.out) == [
        ["granted", "repository", "alice/app", "pull", "repository is public"],
        [
            "denied",
            "repository",
            "alice/app",
            "push",
            "repository is public, but push is for the owner of its namespace",
        ],
    ]


def test_refused_credential_denies_everything(alice: Cli) -> None:
    token_id = alice.create_token("alice")
    alice.ok("token", "deactivate", token_id)
    result = alice.ok("explain", "--token", token_id, "repository:alice/app:pull")
    assert result.out.splitlines()[1] == "credential  refused: personal access token is inactive"
    assert rows(result.out) == [
        ["denied", "repository", "alice/app", "pull", "personal access token is inactive"]
    ]
    explained = alice.ok("explain", "--token", token_id, "repository:alice/app:pull", "--json")
    assert explained.json()["credential_refused"] == "personal access token is inactive"
    assert explained.json()["granted"] == []


def test_a_disabled_owner_is_refused_for_password_and_token_alike(alice: Cli) -> None:
    """The same refusal rules as /token (services/refusals.py) for either credential."""
    token_id = alice.create_token("bob")
    alice.ok("user", "disable", "bob")
    for who in (["--user", "bob"], ["--token", token_id]):
        explained = alice.ok("explain", *who, "repository:bob/app:pull", "--json").json()
        assert explained["credential_refused"] == "account is disabled"
        assert explained["granted"] == []
    alice.ok("user", "enable", "bob")
    explained = alice.ok("explain", "--user", "bob", "repository:bob/app:pull", "--json").json()
    assert explained["credential_refused"] is None


def test_unparseable_scope_is_shown_not_an_error(alice: Cli) -> None:
    result = alice.ok("explain", "--user", "alice", "nonsense")
    assert rows(result.out) == [["invalid", "-", "nonsense", "-", "expected type:name:actions"]]
    explained = alice.ok("explain", "--user", "alice", "nonsense", "--json").json()
    assert explained["rejected_scopes"] == [
        {"scope": "nonsense", "reason": "expected type:name:actions"}
    ]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--user", "ghost", "repository:a/b:pull"], EXIT_ERROR, "no such user: 'ghost'"),
        (["--token", "NoSuchTok1", "repository:a/b:pull"], EXIT_ERROR, "no such token"),
        (["--user", "alice", "--token", "x", "repository:a/b:pull"], EXIT_USAGE, "not allowed"),
        (["repository:a/b:pull"], EXIT_USAGE, "one of the arguments --user --token is required"),
        (["--user", "alice"], EXIT_USAGE, "required: scope"),
    ],
)
def test_explain_errors(alice: Cli, argv: list[str], code: int, message: str) -> None:
    result = alice("explain", *argv)
    assert result.code == code
    assert message in result.err
