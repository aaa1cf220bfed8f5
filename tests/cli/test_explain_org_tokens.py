"""`regauth explain --token` for the tokens that are not personal: organization and session
tokens are explained as /token treats them."""

from __future__ import annotations

from regauth.runtime import Runtime
from tests.cli.conftest import Cli
from tests.cli.test_explain import rows
from tests.support.secrets import remember


def test_an_organization_token_is_explained_by_its_id_or_uuid(cli: Cli) -> None:
    cli.ok("user", "add", "alice")
    cli.ok("org", "create", "acme", "--owner", "alice")
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull,push"]
    created = cli.ok(*argv, "--json").json()
    remember(created["token"])
    scope = "repository:acme/app:pull,push,delete"
    for key in (created["token_id"], created["id"]):  # the public id, then the uuid
        result = cli.ok("explain", "--token", key, scope)
        assert result.out.splitlines()[:2] == [
            f"subject     organization token {created['token_id']} of acme",
            "credential  usable",
        ]
        granted = [row for row in rows(result.out) if row[0] == "granted"]
        assert [row[3] for row in granted] == ["pull", "push"]
        assert [row[:4] for row in rows(result.out) if row[0] == "denied"] == [
            ["denied", "repository", "acme/app", "delete"]
        ]
    cli.ok("org-token", "deactivate", "acme", created["token_id"])
    explained = cli.ok("explain", "--token", created["token_id"], scope, "--json").json()
    assert explained["credential_refused"] == "organization access token is inactive"
    assert explained["granted"] == []


def test_a_session_token_is_explained_with_its_own_wording(cli: Cli, runtime: Runtime) -> None:
    cli.ok("user", "add", "alice")
    created = runtime.tokens.create_session_token(
        runtime.users.get("alice"), client_id="docker", ip=None, user_agent=None
    )
    remember(str(created.token))
    cli.ok("token", "deactivate", created.record.id)
    result = cli.ok("explain", "--token", created.record.id, "repository:alice/app:pull")
    assert result.out.splitlines()[:2] == [
        f"subject     session token {created.record.id} of alice",
        "credential  refused: session token is inactive",
    ]
