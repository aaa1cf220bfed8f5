"""`regauth org|team|org-token`: organizations, members, teams and their rules, org tokens."""

from __future__ import annotations

import pytest

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.domain.credentials import Credentials
from regauth.domain.tokens import parse_token
from regauth.errors import Unauthorized
from regauth.runtime import Runtime
from tests.cli.conftest import Cli
from tests.support.builders import settled

DAY = 86400


@pytest.fixture
def acme(cli: Cli) -> Cli:
    """alice owns acme, bob is a member, carol has an account but no part in acme."""
    for name in ("alice", "bob", "carol"):
        cli.ok("user", "add", name)
    cli.ok("org", "create", "acme", "--owner", "alice")
    cli.ok("org", "set-member", "acme", "bob", "member")
    return cli


def members(cli: Cli) -> dict[str, str]:
    return {m["username"]: m["role"] for m in cli.ok("org", "members", "acme", "--json").json()}


def test_create_list_and_delete_organizations(acme: Cli) -> None:
    result = acme.ok("org", "create", "zeta", "--owner", "carol")
    assert result.out.strip() == "created organization zeta, owned by carol"
    assert [o["name"] for o in acme.ok("org", "list", "--json").json()] == ["acme", "zeta"]
    table = acme.ok("org", "list").out.splitlines()
    assert [line.split() for line in table[:2]] == [
        ["NAME", "CREATED_AT"],
        ["acme", "2027-01-15T08:00:00Z"],
    ]
    assert acme.ok("org", "delete", "zeta").out.strip() == "deleted organization zeta"
    assert [o["name"] for o in acme.ok("org", "list", "--json").json()] == ["acme"]
    taken = acme("org", "create", "bob", "--owner", "alice")  # users and orgs share namespaces
    assert (taken.code, taken.err.strip()) == (EXIT_ERROR, "regauth: the namespace 'bob' is taken")
    events = acme.audit("org.create") + acme.audit("org.delete")
    assert {(e["action"], e["target"], e["actor"]) for e in events} == {
        ("org.create", "acme", "cli"),
        ("org.create", "zeta", "cli"),
        ("org.delete", "zeta", "cli"),
    }


def test_set_member_adds_and_changes_roles(acme: Cli) -> None:
    assert members(acme) == {"alice": "Owner", "bob": "Member"}
    result = acme.ok("org", "set-member", "acme", "bob", "owner")
    assert result.out.strip() == "bob is an owner of acme"
    assert members(acme) == {"alice": "Owner", "bob": "Owner"}
    acme.ok("org", "set-member", "acme", "alice", "member")
    assert acme.ok("org", "remove-member", "acme", "alice").out.strip() == (
        "alice is no longer a member of acme"
    )
    assert members(acme) == {"bob": "Owner"}
    table = acme.ok("org", "members", "acme").out.splitlines()
    assert [line.split() for line in table] == [
        ["USERNAME", "ROLE", "TEAMS"],
        ["bob", "owner", "-"],
    ]
    assert [(e["actor"], e["details"]) for e in acme.audit("org.member_remove")] == [
        ("cli", {"member": "alice"})
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["org", "remove-member", "acme", "alice"],
        ["org", "set-member", "acme", "alice", "member"],
    ],
)
def test_the_last_owner_stays(acme: Cli, argv: list[str]) -> None:
    result = acme(*argv)
    assert result.code == EXIT_ERROR
    assert "at least one owner" in result.err
    assert members(acme) == {"alice": "Owner", "bob": "Member"}


def test_team_members_and_permissions(acme: Cli) -> None:
    created = acme.ok("team", "create", "acme", "dev", "--description", "developers")
    assert created.out.strip() == "created team acme/dev"
    acme.ok("team", "create", "acme", "ops")
    assert (
        acme.ok("team", "add-member", "acme", "dev", "bob").out.strip() == "bob is in team acme/dev"
    )
    granted = acme.ok("team", "grant", "acme", "dev", "app", "write")
    assert granted.out.strip() == "team acme/dev may write acme/app"
    acme.ok("team", "grant", "acme", "dev", "ci/*", "read")
    acme.ok("team", "grant", "acme", "dev", "app", "admin")  # a second grant replaces the first

    shown = acme.ok("team", "show", "acme", "dev", "--json").json()
    assert shown["description"] == "developers" and shown["members"] == ["bob"]
    assert shown["permissions"] == [
        {"pattern": "app", "permission": "admin"},
        {"pattern": "ci/*", "permission": "read"},
    ]
    assert acme.ok("team", "show", "acme", "dev").fields() == {
        "org": "acme",
        "name": "dev",
        "description": "developers",
        "members": "bob",
        "permissions": "app=admin, ci/*=read",
    }
    assert [t["name"] for t in acme.ok("team", "list", "acme", "--json").json()] == ["dev", "ops"]
    assert acme.ok("team", "list", "acme").out.splitlines()[2].split() == ["ops", "-", "-", "-"]
    assert {
        m["username"]: m["groups"] for m in acme.ok("org", "members", "acme", "--json").json()
    } == {
        "alice": [],
        "bob": ["dev"],
    }

    revoked = acme.ok("team", "grant", "acme", "dev", "app", "none")
    assert revoked.out.strip() == "team acme/dev has no rule for acme/app any more"
    acme.ok("team", "remove-member", "acme", "dev", "bob")
    shown = acme.ok("team", "show", "acme", "dev", "--json").json()
    assert shown["permissions"] == [{"pattern": "ci/*", "permission": "read"}]
    assert shown["members"] == []
    assert acme.ok("team", "delete", "acme", "dev").out.strip() == "deleted team acme/dev"
    gone = acme("team", "show", "acme", "dev")
    assert (gone.code, gone.err.strip()) == (EXIT_ERROR, "regauth: no such team: 'dev'")
    permission_events = acme.audit("team.permission")
    assert {e["actor"] for e in permission_events} == {"cli"}
    assert len(permission_events) == 4


def test_removing_a_member_takes_them_out_of_teams(acme: Cli) -> None:
    acme.ok("team", "create", "acme", "dev")
    acme.ok("team", "add-member", "acme", "dev", "bob")
    acme.ok("org", "remove-member", "acme", "bob")
    assert acme.ok("team", "show", "acme", "dev", "--json").json()["members"] == []


async def test_org_token_authenticates_until_deactivated(acme: Cli, runtime: Runtime) -> None:
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull,push"]
    result = acme.ok(*argv, "--repo", "acme/tools:pull", "--expires", "30d")
    secret = result.out.strip()  # stdout is exactly the secret, for scripts
    token_id = parse_token(secret).public_id
    assert secret.startswith("rgo_")
    assert "shown only once" in result.err and "docker login -u acme" in result.err

    principal = (await runtime.authenticator.authenticate(Credentials("acme", secret))).principal
    assert principal.name == "acme" and principal.token_id == token_id
    assert dict(principal.org_token_resources or ()) == {
        "acme/app": frozenset({"pull", "push"}),
        "acme/tools": frozenset({"pull"}),
    }
    assert not principal.public_read

    result = acme.ok("org-token", "deactivate", "acme", token_id)
    assert result.out.strip() == f"organization token {token_id} of acme is inactive"
    settled(runtime)  # PostgreSQL: the CLI's change reaches this runtime within the bound
    with pytest.raises(Unauthorized, match="inactive"):
        await runtime.authenticator.authenticate(Credentials("acme", secret))
    acme.ok("org-token", "activate", "acme", secret)  # a whole (leaked) token names it too
    settled(runtime)
    await runtime.authenticator.authenticate(Credentials("acme", secret))

    assert acme.ok("org-token", "delete", "acme", token_id).out.strip() == (
        f"deleted organization token {token_id} of acme"
    )
    settled(runtime)
    with pytest.raises(Unauthorized):
        await runtime.authenticator.authenticate(Credentials("acme", secret))
    events = [acme.audit(a) for a in ("org_token.create", "org_token.update", "org_token.delete")]
    assert [len(e) for e in events] == [1, 2, 1]
    assert {e["actor"] for group in events for e in group} == {"cli"}
    assert all(e["target"] == token_id for group in events for e in group)


def test_org_token_json_list_and_show(acme: Cli) -> None:
    argv = ["org-token", "create", "acme", "--label", "mirror", "--description", "read-only mirror"]
    created = acme.ok(*argv, "--repo", "acme/app:pull", "--public-read", "--json").json()
    assert parse_token(created["token"]).public_id == created["token_id"]
    assert created["state"] == "active" and created["expires_at"] is None
    assert created["resources"] == [
        {"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-pull"]},
        {"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["scope-image-pull"]},
    ]
    listed = acme.ok("org-token", "list", "acme", "--json").json()
    assert [t["token_id"] for t in listed] == [created["token_id"]]
    assert all("token" not in t for t in listed)  # the secret is never shown again

    by_uuid = acme.ok("org-token", "show", "acme", created["id"], "--json").json()
    assert by_uuid["token_id"] == created["token_id"] and "token" not in by_uuid
    fields = acme.ok("org-token", "show", "acme", created["token_id"]).fields()
    assert fields["id"] == created["token_id"] and fields["uuid"] == created["id"]
    assert fields["resources"] == "acme/app:pull */*/public:pull"
    assert fields["description"] == "read-only mirror"
    assert created["token"] not in acme.ok("org-token", "list", "acme").out

    acme.clock.advance(DAY)
    acme.ok("org-token", "create", "acme", "--label", "push", "--repo", "acme/app:push")
    listed = acme.ok("org-token", "list", "acme", "--json").json()
    assert [t["label"] for t in listed] == ["push", "mirror"]  # newest first
    # Pushing needs pulling too, so the service adds pull.
    assert listed[0]["resources"][0]["scopes"] == ["scope-image-pull", "scope-image-push"]


async def test_org_token_regenerate_prints_the_new_secret_once(acme: Cli, runtime: Runtime) -> None:
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull"]
    old = acme.ok(*argv).out.strip()
    token_id = parse_token(old).public_id

    result = acme.ok("org-token", "regenerate", "acme", old)  # a leaked token names it

    new = result.out.strip()  # stdout is exactly the secret, for scripts
    assert parse_token(new).public_id == token_id and new != old
    assert result.err.strip() == (
        f"# organization token {token_id} of acme has a new secret, shown only once; the old "
        "one stops working now."
    )
    settled(runtime)
    with pytest.raises(Unauthorized):
        await runtime.authenticator.authenticate(Credentials("acme", old))
    await runtime.authenticator.authenticate(Credentials("acme", new))

    made = acme.ok("org-token", "regenerate", "acme", token_id, "--grace", "1d", "--json").json()
    assert made["token_id"] == token_id and made["label"] == "ci"
    assert made["previous_token_valid_until"] == "2027-01-16T08:00:00Z"
    settled(runtime)
    await runtime.authenticator.authenticate(Credentials("acme", new))  # within its grace
    await runtime.authenticator.authenticate(Credentials("acme", made["token"]))
    assert acme("org-token", "regenerate", "acme", token_id, "--grace", "8d").code == EXIT_USAGE
    assert [e["actor"] for e in acme.audit("org_token.regenerate")] == ["cli", "cli"]


def test_deleting_an_org_ends_its_tokens(acme: Cli) -> None:
    token_id = acme.ok(
        "org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull", "--json"
    ).json()["token_id"]
    acme.ok("org", "delete", "acme")
    assert acme("org-token", "show", "acme", token_id).code == EXIT_ERROR
    assert acme("org", "members", "acme").code == EXIT_ERROR


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["org", "create", "acme2", "--owner", "ghost"], EXIT_ERROR, "no such user: 'ghost'"),
        (["org", "members", "nope"], EXIT_ERROR, "no such organization: 'nope'"),
        (["org", "delete", "nope"], EXIT_ERROR, "no such organization: 'nope'"),
        (["org", "set-member", "acme", "ghost", "member"], EXIT_ERROR, "no such user: 'ghost'"),
        (["org", "set-member", "acme", "bob", "boss"], EXIT_USAGE, "invalid choice"),
        (["org", "remove-member", "acme", "carol"], EXIT_ERROR, "'carol' is not a member"),
        (["team", "create", "acme", "Bad Team"], EXIT_ERROR, "team name must be"),
        (["team", "show", "acme", "ghosts"], EXIT_ERROR, "no such team: 'ghosts'"),
        (["team", "list", "nope"], EXIT_ERROR, "no such organization: 'nope'"),
        (["team", "add-member", "acme", "dev", "carol"], EXIT_ERROR, "add them first"),
        (["team", "add-member", "acme", "dev", "ghost"], EXIT_ERROR, "no such user: 'ghost'"),
        (["team", "remove-member", "acme", "dev", "bob"], EXIT_ERROR, "not in team 'dev'"),
        (["team", "grant", "acme", "dev", "app", "owner"], EXIT_USAGE, "invalid choice"),
        (["team", "grant", "acme", "dev", "/bad", "read"], EXIT_ERROR, "pattern must be"),
        (["team", "grant", "acme", "ghosts", "app", "read"], EXIT_ERROR, "no such team"),
        (
            ["org-token", "create", "acme", "--label", "x", "--repo", "other/app:pull"],
            EXIT_ERROR,
            "'other/app' is not a repository of 'acme'",
        ),
        (
            ["org-token", "create", "acme", "--label", "x", "--repo", "acme/app:delete"],
            EXIT_USAGE,
            "expected PATH:pull or PATH:pull,push",
        ),
        (
            ["org-token", "create", "acme", "--label", "x", "--repo", "acme/app"],
            EXIT_USAGE,
            "expected PATH:pull or PATH:pull,push",
        ),
        (["org-token", "create", "acme", "--label", "x"], EXIT_USAGE, "at least one --repo"),
        (
            ["org-token", "create", "nope", "--label", "x", "--repo", "nope/app:pull"],
            EXIT_ERROR,
            "no such organization: 'nope'",
        ),
        (
            [
                "org-token",
                "create",
                "acme",
                "--label",
                "x",
                "--public-read",
                "--expires",
                "2001-01-01",
            ],
            EXIT_ERROR,
            "future",
        ),
        (["org-token", "show", "acme", "NoSuchToken"], EXIT_ERROR, "no such organization access"),
        (["org-token", "deactivate", "nope", "x"], EXIT_ERROR, "no such organization: 'nope'"),
    ],
)
def test_errors_exit_non_zero_with_a_message(
    acme: Cli, argv: list[str], code: int, message: str
) -> None:
    acme.ok("team", "create", "acme", "dev")
    result = acme(*argv)
    assert result.code == code, result.err
    assert message in result.err
    assert result.out == ""


def test_a_token_is_only_found_through_its_own_org(acme: Cli) -> None:
    acme.ok("org", "create", "zeta", "--owner", "carol")
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull", "--json"]
    token_id = acme.ok(*argv).json()["token_id"]
    for action in ("show", "deactivate", "delete"):
        result = acme("org-token", action, "zeta", token_id)
        assert result.code == EXIT_ERROR and "no such organization access token" in result.err
    assert acme.ok("org-token", "show", "acme", token_id, "--json").json()["state"] == "active"
