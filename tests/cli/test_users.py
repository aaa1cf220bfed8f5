"""`regauth user ...`: list, show, disable/enable, admin rights, password reset; each audited."""

from __future__ import annotations

import argon2
import pytest

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.runtime import Runtime
from tests.cli.conftest import Cli


@pytest.fixture
def people(cli: Cli) -> Cli:
    cli.ok("user", "add", "bob")
    cli.ok("user", "add", "alice", "--admin", "--password-stdin", stdin="correct horse\n")
    return cli


def test_list_users(people: Cli) -> None:
    users = people.ok("user", "list", "--json").json()
    assert [(u["name"], u["admin"], u["disabled"], u["has_password"]) for u in users] == [
        ("alice", True, False, True),
        ("bob", False, False, False),
    ]
    table = people.ok("user", "list").out.splitlines()
    assert table[0].split() == ["NAME", "ADMIN", "DISABLED", "HAS_PASSWORD", "CREATED_AT"]
    assert table[1].split()[:4] == ["alice", "yes", "no", "yes"]
    assert table[2].split()[:4] == ["bob", "no", "no", "no"]


def test_show_user(people: Cli) -> None:
    shown = people.ok("user", "show", "alice", "--json").json()
    assert shown == people.ok("user", "list", "--json").json()[0]
    assert shown["created_at"] == "2027-01-15T08:00:00Z"
    lines = people.ok("user", "show", "bob").fields()
    assert lines["name"] == "bob" and lines["admin"] == "no" and lines["has_password"] == "no"


def test_disable_and_enable(people: Cli) -> None:
    token_id = people.create_token("bob")
    assert people.ok("user", "disable", "bob").out.strip() == "bob is disabled"
    assert people.ok("user", "show", "bob", "--json").json()["disabled"] is True
    # A disabled account gets no new token, and its tokens are refused, which explain shows.
    refused = people("token", "create", "--user", "bob", "--description", "x", "--access", "read")
    assert refused.code == 1 and "disabled" in refused.err
    explained = people.ok("explain", "--token", token_id, "repository:bob/app:pull", "--json")
    assert explained.json()["credential_refused"] == "account is disabled"
    assert people.ok("user", "enable", "bob").out.strip() == "bob is enabled"
    assert people.ok("user", "show", "bob", "--json").json()["disabled"] is False
    assert [(e["actor"], e["target"]) for e in people.audit("user.disable")] == [("cli", "bob")]
    assert [(e["actor"], e["target"]) for e in people.audit("user.enable")] == [("cli", "bob")]


def test_grant_and_revoke_admin(people: Cli) -> None:
    assert people.ok("user", "grant-admin", "bob").out.strip() == "bob is an administrator"
    assert people.ok("user", "show", "bob", "--json").json()["admin"] is True
    assert people.ok("user", "revoke-admin", "alice").out.strip() == (
        "alice is no longer an administrator"
    )
    assert people.ok("user", "show", "alice", "--json").json()["admin"] is False
    assert people.audit("user.grant_admin")[0]["target"] == "bob"
    assert people.audit("user.revoke_admin")[0]["target"] == "alice"


def test_reset_password(people: Cli, runtime: Runtime) -> None:
    result = people.ok("user", "reset-password", "bob", "--password-stdin", stdin="new secret 1\n")
    assert result.out.strip() == "password of bob is reset"
    assert "new secret 1" not in result.out + result.err
    stored = runtime.users.get("bob").password_hash
    assert stored is not None and argon2.PasswordHasher().verify(stored, "new secret 1")
    assert people.ok("user", "show", "bob", "--json").json()["has_password"] is True
    [event] = people.audit("user.password_reset")
    assert (event["actor"], event["target"]) == ("cli", "bob")


def test_reset_password_refuses_a_short_one(people: Cli, runtime: Runtime) -> None:
    result = people("user", "reset-password", "alice", "--password-stdin", stdin="short\n")
    assert result.code == EXIT_ERROR and "password must be" in result.err
    stored = runtime.users.get("alice").password_hash
    assert stored is not None and argon2.PasswordHasher().verify(stored, "correct horse")


@pytest.mark.parametrize(
    "argv",
    [
        ["user", "show", "ghost"],
        ["user", "disable", "ghost"],
        ["user", "enable", "ghost"],
        ["user", "grant-admin", "ghost"],
        ["user", "revoke-admin", "ghost"],
        ["user", "reset-password", "ghost", "--password-stdin"],
    ],
)
def test_unknown_user_is_an_error(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv, stdin="long enough password\n")
    assert result.code == EXIT_ERROR
    assert "no such user: 'ghost'" in result.err
    assert cli.ok("audit", "list", "--json").json() == []  # nothing changed, nothing audited


def test_reset_password_needs_stdin_flag(people: Cli) -> None:
    # The password never goes on the command line, where `ps` and shell history see it.
    result = people("user", "reset-password", "bob")
    assert result.code == EXIT_USAGE and "--password-stdin" in result.err


def test_link_an_account_to_its_identity_and_unlink_it(people: Cli) -> None:
    issuer = "https://idp.example.com"
    assert people.ok("user", "link", "bob", "--oidc", "sub-1", "--issuer", issuer).out == (
        f"bob is linked to oidc {issuer}\n"
    )
    people.ok("user", "link", "bob", "--ldap", "7f3e-uuid")
    listed = people.ok("user", "identities", "bob", "--json").json()
    assert [(i["source"], i["issuer"], i["subject"]) for i in listed] == [
        ("ldap", "", "7f3e-uuid"),
        ("oidc", issuer, "sub-1"),
    ]
    assert people.ok("user", "show", "bob", "--json").json()["single_sign_on"] is True
    # One identity, one account.
    taken = people("user", "link", "alice", "--oidc", "sub-1", "--issuer", issuer)
    assert (taken.code, taken.err) == (
        EXIT_ERROR,
        "regauth: that identity is already linked to an account\n",
    )
    missing_issuer = people("user", "link", "alice", "--oidc", "sub-2")
    assert missing_issuer.code != 0 and "--issuer" in missing_issuer.err
    people.ok("user", "unlink", "bob", "--source", "oidc")
    people.ok("user", "unlink", "bob", "--source", "ldap")
    assert people.ok("user", "identities", "bob", "--json").json() == []
    assert people.ok("user", "show", "bob", "--json").json()["single_sign_on"] is False
    again = people("user", "unlink", "bob", "--source", "ldap")
    assert again.code == EXIT_ERROR and "not linked to ldap" in again.err
