"""Single sign-on accounts on a real store (both backends): linked by (source, issuer,
subject), made just in time with a namespace-valid name, never linked by name, and kept in the
teams their groups map to — mapped memberships go with the group, manual ones stay."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.domain.models import CLI_ACTOR, AuditQuery, OrgRole
from regauth.errors import Conflict, Forbidden, NotFoundInStore, Unauthorized
from regauth.runtime import Runtime
from regauth.services.provisioning import account_name
from tests.support.builders import add_org, add_user, reconfigured

ISSUER = "https://idp.example.com"


@pytest.fixture
def config(config: Config) -> Config:
    return reconfigured(
        config,
        groups={
            "mappings": (
                "developers=acme/dev",
                "Developers=acme/ci",
                "platform=acme:owners",
                "nobody-made-it=acme/ghost",
                "elsewhere=globex/dev",
            )
        },
    )


@pytest.fixture(autouse=True)
def acme(runtime: Runtime) -> None:
    add_user(runtime, "olivia", None)
    org = add_org(runtime, "acme", "olivia")
    for team in ("dev", "ci", "ops"):
        runtime.organizations.create_team(org, team, "", CLI_ACTOR)


def oidc(subject: str = "5b0c-sub", username: str = "alice", *groups: str) -> ExternalIdentity:
    return ExternalIdentity(IdentitySource.OIDC, ISSUER, subject, username, tuple(groups))


def teams_of(runtime: Runtime, name: str) -> dict[str, str]:
    user = runtime.users.get(name)
    return {
        f"{m.org}/{m.team}" if m.team else m.org: (m.role.value if m.role else "") + m.source
        for m in runtime.store.memberships_of(user.id)
    }


@pytest.mark.parametrize(
    ("claim", "name"),
    [
        ("alice", "alice"),
        ("Alice.Smith", "alice-smith"),
        ("alice.smith@corp.example", "alice-smith"),
        ("  bob  ", "bob"),
        ("o'brien", "o-brien"),
        ("jürgen", "j-rgen"),
        ("__x__", None),  # nothing left but one character
        ("", None),
        ("@corp.example", None),
        ("x" * 65, None),
    ],
)
def test_a_claim_makes_a_namespace_valid_name_or_none(claim: str, name: str | None) -> None:
    assert account_name(claim) == name


async def test_the_first_sign_in_makes_an_account_without_a_password(runtime: Runtime) -> None:
    user = await runtime.provisioning.sign_in(oidc(), "192.0.2.1", "ua")
    assert (user.name, user.password_hash, user.linked, user.is_admin) == (
        "alice",
        None,
        True,
        False,
    )
    (event,) = runtime.audit.list(AuditQuery(action="user.provision"))
    assert (event.target, event.details) == ("alice", {"source": "oidc", "issuer": ISSUER})
    assert event.ip == "192.0.2.1"


async def test_the_link_is_the_subject_never_the_name(runtime: Runtime) -> None:
    first = await runtime.provisioning.sign_in(oidc(username="alice"), None, None)
    # Renamed at the provider: the same account.
    again = await runtime.provisioning.sign_in(oidc(username="alice-renamed"), None, None)
    assert again.id == first.id and again.name == "alice"
    # Someone else who takes the name "alice" at the provider is not alice here.
    with pytest.raises(Conflict, match="the name 'alice' is taken by an account not linked"):
        await runtime.provisioning.sign_in(oidc(subject="other-sub", username="alice"), None, None)
    # Nor is the same subject at another issuer.
    other_issuer = dataclasses.replace(oidc(), issuer="https://evil.example")
    with pytest.raises(Conflict):
        await runtime.provisioning.sign_in(other_issuer, None, None)
    assert [u.name for u in runtime.users.list()] == ["alice", "olivia"]


async def test_a_local_account_is_never_taken_over_by_name(runtime: Runtime) -> None:
    add_user(runtime, "bob", "bob-local-password")
    with pytest.raises(
        Conflict, match=rf"\(regauth user link bob --oidc s-bob --issuer {ISSUER}\)$"
    ):
        await runtime.provisioning.sign_in(oidc("s-bob", "bob"), None, None)
    assert runtime.users.get("bob").linked is False
    # An organization's name is as taken.
    with pytest.raises(Conflict):
        await runtime.provisioning.sign_in(oidc("s-acme", "acme"), None, None)


async def test_an_admin_links_a_local_account_and_its_next_sign_in_is_it(runtime: Runtime) -> None:
    bob = add_user(runtime, "bob", None)
    runtime.provisioning.link("bob", IdentitySource.OIDC, ISSUER, "s-bob", CLI_ACTOR)
    user = await runtime.provisioning.sign_in(oidc("s-bob", "robert"), None, None)
    assert (user.id, user.linked) == (bob.id, True)
    with pytest.raises(Conflict, match="already linked"):
        runtime.provisioning.link("olivia", IdentitySource.OIDC, ISSUER, "s-bob", CLI_ACTOR)
    assert runtime.provisioning.unlink("bob", IdentitySource.OIDC, CLI_ACTOR) == 1
    assert runtime.users.get("bob").linked is False
    with pytest.raises(NotFoundInStore):
        runtime.provisioning.unlink("bob", IdentitySource.OIDC, CLI_ACTOR)


async def test_a_name_no_account_could_have_is_refused_clearly(runtime: Runtime) -> None:
    with pytest.raises(Forbidden, match="cannot be a registry account name"):
        await runtime.provisioning.sign_in(oidc(username="!!"), None, None)
    assert [u.name for u in runtime.users.list()] == ["olivia"]


async def test_a_disabled_account_is_refused_and_nothing_changes(runtime: Runtime) -> None:
    await runtime.provisioning.sign_in(oidc(), None, None)
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    with pytest.raises(Unauthorized, match="account is disabled"):
        await runtime.provisioning.sign_in(oidc("5b0c-sub", "alice", "developers"), None, None)
    assert teams_of(runtime, "alice") == {}


async def test_groups_map_to_teams_at_every_sign_in(runtime: Runtime) -> None:
    await runtime.provisioning.sign_in(oidc("s", "alice", "developers"), None, None)
    # Case-insensitive: "developers" also matches the mapping written "Developers".
    assert teams_of(runtime, "alice") == {
        "acme": "membermapping",
        "acme/ci": "mapping",
        "acme/dev": "mapping",
    }
    token_scopes = runtime.store.org_context("alice", ["acme"])["acme"]
    assert token_scopes.role is OrgRole.MEMBER
    # Out of the group at the provider: out of its teams and the organization at the next one.
    await runtime.provisioning.sign_in(oidc("s", "alice"), None, None)
    assert teams_of(runtime, "alice") == {}
    actions = [e.action for e in runtime.audit.list(AuditQuery(subject=None))]
    assert actions.count("group_mapping.add") == 2 and actions.count("group_mapping.remove") == 3


async def test_manual_memberships_stay_when_the_group_goes(runtime: Runtime) -> None:
    await runtime.provisioning.sign_in(oidc("s", "alice", "developers"), None, None)
    acme, alice = runtime.organizations.get("acme"), runtime.users.get("alice")
    # olivia adds alice to ops by hand, and to dev too (which the mapping made): both hers now.
    for team in ("ops", "dev"):
        runtime.organizations.add_team_member(
            acme, runtime.organizations.team(acme, team), alice, CLI_ACTOR
        )
    await runtime.provisioning.sign_in(oidc("s", "alice"), None, None)
    assert teams_of(runtime, "alice") == {
        "acme": "membermanual",  # held by her manual teams now
        "acme/dev": "manual",
        "acme/ops": "manual",
    }


async def test_an_owner_group_makes_and_unmakes_owners(runtime: Runtime) -> None:
    await runtime.provisioning.sign_in(oidc("s", "alice", "platform", "developers"), None, None)
    assert teams_of(runtime, "alice")["acme"] == "ownermapping"
    # Still a developer: stays a member through the mapped teams.
    await runtime.provisioning.sign_in(oidc("s", "alice", "developers"), None, None)
    assert teams_of(runtime, "alice")["acme"] == "membermapping"
    await runtime.provisioning.sign_in(oidc("s", "alice", "platform"), None, None)
    await runtime.provisioning.sign_in(oidc("s", "alice"), None, None)
    assert teams_of(runtime, "alice") == {}


async def test_an_owner_group_does_not_raise_or_remove_a_manual_member(runtime: Runtime) -> None:
    """Found from outside (through SCIM, tests/http/test_scim.py): the same at a sign-in."""
    await runtime.provisioning.sign_in(oidc("s", "alice"), None, None)
    acme = runtime.organizations.get("acme")
    runtime.organizations.set_member(acme, runtime.users.get("alice"), OrgRole.MEMBER, CLI_ACTOR)
    await runtime.provisioning.sign_in(oidc("s", "alice", "platform"), None, None)
    assert teams_of(runtime, "alice") == {"acme": "membermanual"}
    await runtime.provisioning.sign_in(oidc("s", "alice"), None, None)
    assert teams_of(runtime, "alice") == {"acme": "membermanual"}


async def test_the_last_owner_is_kept(runtime: Runtime) -> None:
    await runtime.provisioning.sign_in(oidc("s", "alice", "platform"), None, None)
    acme = runtime.organizations.get("acme")
    runtime.organizations.remove_member(acme, runtime.users.get("olivia"), CLI_ACTOR)
    await runtime.provisioning.sign_in(oidc("s", "alice"), None, None)
    assert teams_of(runtime, "alice") == {"acme": "ownermapping"}


async def test_an_unlink_takes_what_its_groups_gave(runtime: Runtime) -> None:
    await runtime.provisioning.sign_in(oidc("s", "alice", "developers"), None, None)
    runtime.provisioning.unlink("alice", IdentitySource.OIDC, CLI_ACTOR)
    assert teams_of(runtime, "alice") == {}


def test_a_mapping_is_checked_when_the_configuration_loads(tmp_path: Path) -> None:
    from regauth.config import load_config
    from regauth.errors import ConfigError

    for entry, message in [
        ("developers", "write GROUP=ORG/TEAM"),
        ("=acme/dev", "write GROUP=ORG/TEAM"),
        ("developers=Acme/dev", "'Acme' is not an organization name"),
        ("developers=acme/Dev Team", "not a team name"),
    ]:
        path = tmp_path / "regauth.toml"
        path.write_text(f"[groups]\nmappings = [{entry!r}]\n")
        with pytest.raises(ConfigError, match=message):
            load_config(path, {})


async def test_an_account_scim_made_is_linked_at_its_first_single_sign_on(
    runtime: Runtime,
) -> None:
    """Okta or Entra ID provision by SCIM, then the person signs in through the same
    provider under the userName SCIM holds: the account SCIM made is theirs (a local
    account's never is, above)."""
    runtime.scim.users.create({"userName": "Carol@corp.example"}, CLI_ACTOR)
    made = runtime.users.get("carol")
    # A name that merely reduces to the account's is someone else (found from outside).
    for claim in ("carol", "carol@other.example", "Carol.@corp.example"):
        with pytest.raises(Conflict, match="the name 'carol' is taken"):
            await runtime.provisioning.sign_in(oidc(f"s-{claim}", claim), None, None)
    user = await runtime.provisioning.sign_in(oidc("s-carol", "carol@CORP.example"), None, None)
    assert user.id == made.id
    assert {i.source for i in runtime.provisioning.identities("carol")} == {"scim", "oidc"}
    (event,) = runtime.audit.list(AuditQuery(action="user.link"))
    assert event.details["source"] == "oidc" and event.details["scim_id"]
    # A second OIDC identity with the userName is someone else.
    with pytest.raises(Conflict):
        await runtime.provisioning.sign_in(oidc("s-other", "carol@corp.example"), None, None)


async def test_a_mapping_to_a_team_nobody_made_is_skipped_and_logged(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    user = await runtime.provisioning.sign_in(oidc("s", "alice", "nobody-made-it"), None, None)
    assert teams_of(runtime, user.name) == {}
    missing = [r for r in caplog.records if r.getMessage() == "group_mapping_target_missing"]
    assert [r.fields for r in missing] == [{"target": "acme/ghost"}]
