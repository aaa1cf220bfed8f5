"""`--repositories` and `--allow-from` at the CLI: a fine-grained token, network-bound tokens of
every kind (personal, organization, admin key), shown, audited, explained; bad lists refused."""

from __future__ import annotations

import pytest

from regauth.cli import EXIT_ERROR
from tests.cli.conftest import Cli
from tests.support.secrets import remember


@pytest.fixture
def owners(cli: Cli) -> Cli:
    cli.ok("user", "add", "alice")
    cli.ok("org", "create", "acme", "--owner", "alice")
    return cli


CREATE = ["token", "create", "--user", "alice", "--description", "ci", "--access", "write"]


def test_a_fine_grained_network_bound_token_is_made_shown_and_audited(owners: Cli) -> None:
    cli = owners
    made = cli.ok(
        *CREATE, "--repositories", "alice/app,acme/ci/*", "--allow-from", "10.0.0.0/8,2001:db8::/32"
    )
    remember(made.out.strip())
    assert made.err.startswith("# token ")
    assert ": write, on alice/app acme/ci/*, from 10.0.0.0/8 2001:db8::/32, expires never." in (
        made.err
    )
    [listed] = cli.ok("token", "list", "--json").json()
    assert (listed["repositories"], listed["allow_from"]) == (
        ["alice/app", "acme/ci/*"],
        ["10.0.0.0/8", "2001:db8::/32"],
    )
    shown = cli.ok("token", "show", listed["id"]).fields()
    assert shown["repositories"] == '["alice/app","acme/ci/*"]'
    assert shown["allow_from"] == '["10.0.0.0/8","2001:db8::/32"]'
    [event] = cli.audit("token.create")
    assert event["details"]["repositories"] == ["alice/app", "acme/ci/*"]
    assert event["details"]["allow_from"] == ["10.0.0.0/8", "2001:db8::/32"]


def test_a_token_without_lists_shows_none(owners: Cli) -> None:
    created = owners.ok(*CREATE, "--json").json()
    remember(created["token"])
    assert (created["repositories"], created["allow_from"]) == (None, None)
    [event] = owners.audit("token.create")
    assert "repositories" not in event["details"] and "allow_from" not in event["details"]


def test_explain_names_the_list_and_the_networks(owners: Cli) -> None:
    argv = [*CREATE, "--repositories", "alice/app", "--allow-from", "10.0.0.0/8", "--json"]
    created = owners.ok(*argv).json()
    remember(created["token"])
    out = owners.ok("explain", "--token", created["id"], "repository:alice/other:pull").out
    assert "networks    only from 10.0.0.0/8" in out
    assert "token does not list 'alice/other'" in out
    granted = owners.ok("explain", "--token", created["id"], "repository:alice/app:push").out
    assert "owner of namespace 'alice' (the token lists 'alice/app')" in granted


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--repositories", "app", "'app' is neither a repository (namespace/name) nor a pattern"),
        ("--repositories", ",", "the token lists no repository"),
        ("--allow-from", "10.0.0.1/8", "'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"),
        ("--allow-from", "office", "'office' is not a network"),
    ],
)
def test_a_bad_list_is_an_error_and_makes_nothing(
    owners: Cli, option: str, value: str, message: str
) -> None:
    refused = owners(*CREATE, option, value)
    assert (refused.code, refused.out) == (EXIT_ERROR, "")
    assert message in refused.err
    assert owners.ok("token", "list", "--json").json() == []


def test_a_network_bound_organization_token(owners: Cli) -> None:
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull"]
    created = owners.ok(*argv, "--allow-from", "192.0.2.0/24", "--json").json()
    remember(created["token"])
    assert created["allow_from"] == ["192.0.2.0/24"]
    [listed] = owners.ok("org-token", "list", "acme", "--json").json()
    assert listed["allow_from"] == ["192.0.2.0/24"]
    [event] = owners.audit("org_token.create")
    assert event["details"]["allow_from"] == ["192.0.2.0/24"]


def test_a_network_bound_admin_key(owners: Cli) -> None:
    argv = ["admin-key", "create", "--description", "deploy", "--allow-from", "10.0.0.0/8"]
    created = owners.ok(*argv, "--json").json()
    remember(created["key"])
    assert created["allow_from"] == ["10.0.0.0/8"]
    table = owners.ok("admin-key", "list").out
    assert "ALLOW_FROM" in table.splitlines()[0] and '["10.0.0.0/8"]' in table
    refused = owners("admin-key", "create", "--description", "x", "--allow-from", "localhost")
    assert refused.code == EXIT_ERROR and "'localhost' is not a network" in refused.err
