"""The organization service on a real temp SQLite file: names, who may read and change an
organization, the last owner, teams and their repository rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from regauth.domain.callers import ADMIN_KEY, PASSWORD, PAT, ApiCaller
from regauth.domain.models import CLI_ACTOR, Actor, AuditQuery, OrgRole, TeamPermission
from regauth.errors import BadRequest, Conflict, Forbidden, NotFoundInStore
from regauth.runtime import Runtime
from regauth.services.organizations import OrganizationService
from tests.support.builders import add_org, add_user

ADMIN_KEY_CALLER = ApiCaller(method=ADMIN_KEY, actor=Actor(name="admin-key:k", kind="admin_key"))


@pytest.fixture(autouse=True)
def acme(runtime: Runtime) -> None:
    """olivia owns acme, dave is a member, mallory is not in it, root is an admin; no passwords
    (nobody signs in here, and each hash is ~25 ms of argon2)."""
    for name in ("olivia", "dave", "mallory"):
        add_user(runtime, name, None)
    add_user(runtime, "root", None, admin=True)
    org = add_org(runtime, "acme", "olivia")
    runtime.organizations.set_member(org, runtime.users.get("dave"), OrgRole.MEMBER, CLI_ACTOR)


@pytest.fixture
def orgs(runtime: Runtime) -> OrganizationService:
    return runtime.organizations


def caller(runtime: Runtime, name: str, method: str = PASSWORD) -> ApiCaller:
    """Who the API sees for a session of `name` opened with a password (or a PAT)."""
    user = runtime.users.get(name)
    return ApiCaller(method=method, actor=Actor(name=name, kind="user"), user=user)


def roles(orgs: OrganizationService, name: str = "acme") -> dict[str, OrgRole]:
    return {m.username: m.role for m in orgs.members(orgs.get(name))}


# -- names ----------------------------------------------------------------------------------------


def test_the_creator_owns_a_new_organization_and_it_is_audited(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    org = orgs.create("globex", runtime.users.get("dave"), CLI_ACTOR)
    assert orgs.get("globex") == org
    assert [o.name for o in orgs.all()] == ["acme", "globex"]
    assert roles(orgs, "globex") == {"dave": OrgRole.OWNER}
    (event,) = [
        e for e in runtime.audit.list(AuditQuery(action="org.create")) if e.target == "globex"
    ]
    assert (event.actor, event.target, event.details) == ("cli", "globex", {"owner": "dave"})


@pytest.mark.parametrize("name", ["A", "Acme", "ac me", "acme/app", "-acme", "a", "x" * 65])
def test_an_organization_is_named_like_a_user(
    runtime: Runtime, orgs: OrganizationService, name: str
) -> None:
    with pytest.raises(BadRequest, match="username must be"):
        orgs.create(name, runtime.users.get("olivia"), CLI_ACTOR)
    assert [o.name for o in orgs.all()] == ["acme"]


def test_users_and_organizations_share_one_namespace(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    with pytest.raises(Conflict, match="the namespace 'acme' is taken"):
        orgs.create("acme", runtime.users.get("dave"), CLI_ACTOR)
    with pytest.raises(Conflict, match="the namespace 'dave' is taken"):
        orgs.create("dave", runtime.users.get("olivia"), CLI_ACTOR)
    with pytest.raises(Conflict):
        runtime.users.create("acme", "whatever-pw", CLI_ACTOR)


def test_a_deleted_organization_is_gone(runtime: Runtime, orgs: OrganizationService) -> None:
    orgs.delete(orgs.get("acme"), CLI_ACTOR)
    with pytest.raises(NotFoundInStore, match="no such organization: 'acme'"):
        orgs.get("acme")
    assert orgs.all() == []
    assert [e.target for e in runtime.audit.list(AuditQuery(action="org.delete"))] == ["acme"]
    orgs.create("acme", runtime.users.get("mallory"), CLI_ACTOR)  # the name is free again
    assert roles(orgs) == {"mallory": OrgRole.OWNER}


# -- who may read and change it -------------------------------------------------------------------


def outcome(check: Callable[[], object]) -> str:
    """What a check said: "ok", or the kind of refusal."""
    try:
        check()
    except NotFoundInStore:
        return "not found"  # outsiders are not told that it exists
    except Forbidden as exc:
        return "PAT" if "personal access token" in exc.message else "forbidden"
    return "ok"


@pytest.mark.parametrize(
    ("who", "method", "reads", "changes"),
    [
        ("olivia", PASSWORD, "ok", "ok"),  # the owner
        ("olivia", PAT, "ok", "PAT"),  # PAT sessions read, never manage
        ("dave", PASSWORD, "ok", "forbidden"),  # a member reads
        ("dave", PAT, "ok", "PAT"),
        ("mallory", PASSWORD, "not found", "not found"),  # not in it
        ("root", PASSWORD, "ok", "ok"),  # an admin acts as an owner
        ("root", PAT, "not found", "not found"),  # an admin's PAT is no admin
        ("admin key", ADMIN_KEY, "ok", "ok"),
    ],
)
def test_who_may_read_and_change_an_organization(
    runtime: Runtime, orgs: OrganizationService, who: str, method: str, reads: str, changes: str
) -> None:
    acme = orgs.get("acme")
    api_caller = ADMIN_KEY_CALLER if method == ADMIN_KEY else caller(runtime, who, method)
    assert outcome(lambda: orgs.require_member(acme, api_caller)) == reads
    assert outcome(lambda: orgs.require_owner(acme, api_caller)) == changes
    if changes == "ok":
        assert orgs.require_owner(acme, api_caller) == api_caller.actor  # audited as the caller


def test_the_refusals_say_why(runtime: Runtime, orgs: OrganizationService) -> None:
    acme = orgs.get("acme")
    with pytest.raises(NotFoundInStore, match="no such organization: 'acme'"):
        orgs.require_member(acme, caller(runtime, "mallory"))
    with pytest.raises(Forbidden, match="only owners of 'acme' may do this"):
        orgs.require_owner(acme, caller(runtime, "dave"))
    with pytest.raises(Forbidden, match="personal access token cannot manage an organization"):
        orgs.require_owner(acme, caller(runtime, "olivia", PAT))


def test_namespace_owners(runtime: Runtime, orgs: OrganizationService) -> None:
    olivia = caller(runtime, "olivia")
    assert orgs.require_namespace_owner("olivia", olivia) == olivia.actor  # her own
    assert orgs.require_namespace_owner("acme", olivia) == olivia.actor  # an org she owns
    root = caller(runtime, "root")
    assert orgs.require_namespace_owner("dave", root) == root.actor  # admins: any user's
    with pytest.raises(Forbidden, match="you do not own the namespace 'olivia'"):
        orgs.require_namespace_owner("olivia", caller(runtime, "dave"))
    with pytest.raises(Forbidden, match="only owners of 'acme'"):
        orgs.require_namespace_owner("acme", caller(runtime, "dave"))
    with pytest.raises(Forbidden, match="personal access token cannot change repositories"):
        orgs.require_namespace_owner("olivia", caller(runtime, "olivia", PAT))


# -- members --------------------------------------------------------------------------------------


def test_members_get_and_change_roles(runtime: Runtime, orgs: OrganizationService) -> None:
    acme = orgs.get("acme")
    orgs.set_member(acme, runtime.users.get("mallory"), OrgRole.MEMBER, CLI_ACTOR)
    orgs.set_member(acme, runtime.users.get("dave"), OrgRole.OWNER, CLI_ACTOR)
    assert roles(orgs) == {
        "olivia": OrgRole.OWNER,
        "dave": OrgRole.OWNER,
        "mallory": OrgRole.MEMBER,
    }
    assert orgs.role_of(acme, runtime.users.get("dave")) is OrgRole.OWNER
    assert orgs.role_of(acme, runtime.users.get("root")) is None
    assert orgs.role_of(acme, None) is None  # an admin key is nobody's member
    events = runtime.audit.list(AuditQuery(action="org.member_set"))
    assert [e.details for e in events][:2] == [
        {"member": "dave", "role": "owner"},
        {"member": "mallory", "role": "member"},
    ]


def test_the_last_owner_can_neither_leave_nor_step_down(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    acme, olivia = orgs.get("acme"), runtime.users.get("olivia")
    with pytest.raises(Conflict, match="an organization keeps at least one owner"):
        orgs.remove_member(acme, olivia, CLI_ACTOR)
    with pytest.raises(Conflict, match="an organization keeps at least one owner"):
        orgs.set_member(acme, olivia, OrgRole.MEMBER, CLI_ACTOR)
    assert roles(orgs)["olivia"] is OrgRole.OWNER
    # with a second owner, either may go
    orgs.set_member(acme, runtime.users.get("dave"), OrgRole.OWNER, CLI_ACTOR)
    orgs.set_member(acme, olivia, OrgRole.MEMBER, CLI_ACTOR)
    orgs.remove_member(acme, olivia, CLI_ACTOR)
    assert roles(orgs) == {"dave": OrgRole.OWNER}


def test_removing_someone_who_is_not_a_member_is_not_found(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    with pytest.raises(NotFoundInStore, match="'mallory' is not a member of 'acme'"):
        orgs.remove_member(orgs.get("acme"), runtime.users.get("mallory"), CLI_ACTOR)
    assert runtime.audit.list(AuditQuery(action="org.member_remove")) == []


# -- teams ----------------------------------------------------------------------------------------


def test_a_team_and_its_members(runtime: Runtime, orgs: OrganizationService) -> None:
    acme = orgs.get("acme")
    team = orgs.create_team(acme, "devs", "the developers", CLI_ACTOR)
    assert (team.org, team.name, team.description, team.members) == (
        "acme",
        "devs",
        "the developers",
        (),
    )
    orgs.add_team_member(acme, team, runtime.users.get("dave"), CLI_ACTOR)
    assert orgs.team(acme, "devs").members == ("dave",)
    assert [m.teams for m in orgs.members(acme) if m.username == "dave"] == [("devs",)]
    orgs.remove_team_member(acme, team, runtime.users.get("dave"), CLI_ACTOR)
    assert orgs.team(acme, "devs").members == ()
    with pytest.raises(NotFoundInStore, match="'dave' is not in team 'devs'"):
        orgs.remove_team_member(acme, team, runtime.users.get("dave"), CLI_ACTOR)
    actions = [e.action for e in runtime.audit.list(AuditQuery(actor="cli"))][:3]
    assert actions == ["team.member_remove", "team.member_add", "team.create"]


def test_only_members_of_the_organization_join_its_teams(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    acme = orgs.get("acme")
    team = orgs.create_team(acme, "devs", "", CLI_ACTOR)
    with pytest.raises(BadRequest, match="'mallory' is not a member of 'acme': add them first"):
        orgs.add_team_member(acme, team, runtime.users.get("mallory"), CLI_ACTOR)
    assert orgs.team(acme, "devs").members == ()


def test_leaving_the_organization_leaves_its_teams(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    acme, dave = orgs.get("acme"), runtime.users.get("dave")
    orgs.add_team_member(acme, orgs.create_team(acme, "devs", "", CLI_ACTOR), dave, CLI_ACTOR)
    orgs.remove_member(acme, dave, CLI_ACTOR)
    assert orgs.team(acme, "devs").members == ()
    orgs.set_member(acme, dave, OrgRole.MEMBER, CLI_ACTOR)  # back in: not back in the team
    assert orgs.team(acme, "devs").members == ()


@pytest.mark.parametrize("name", ["", "Devs", "-devs", "de vs", "d" * 65])
def test_team_names_are_checked(orgs: OrganizationService, name: str) -> None:
    acme = orgs.get("acme")
    with pytest.raises(BadRequest, match="team name must be 1-64 characters"):
        orgs.create_team(acme, name, "", CLI_ACTOR)
    team = orgs.create_team(acme, "devs", "", CLI_ACTOR)
    with pytest.raises(BadRequest, match="team name must be 1-64 characters"):
        orgs.update_team(acme, team, CLI_ACTOR, name=name, description=None)
    assert [t.name for t in orgs.teams(acme)] == ["devs"]


def test_team_names_are_unique_in_an_organization(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    acme = orgs.get("acme")
    orgs.create_team(acme, "devs", "", CLI_ACTOR)
    ops = orgs.create_team(acme, "ops", "", CLI_ACTOR)
    with pytest.raises(Conflict, match="team 'devs' already exists"):
        orgs.create_team(acme, "devs", "", CLI_ACTOR)
    with pytest.raises(Conflict, match="team 'devs' already exists"):
        orgs.update_team(acme, ops, CLI_ACTOR, name="devs", description=None)
    # another organization's team may have the name
    globex = orgs.create("globex", runtime.users.get("dave"), CLI_ACTOR)
    assert orgs.create_team(globex, "devs", "", CLI_ACTOR).org == "globex"


def test_a_team_is_renamed_described_and_deleted(orgs: OrganizationService) -> None:
    acme = orgs.get("acme")
    team = orgs.create_team(acme, "devs", "x" * 600, CLI_ACTOR)
    assert len(team.description) == 500  # kept short
    renamed = orgs.update_team(acme, team, CLI_ACTOR, name="builders", description=None)
    assert (renamed.name, renamed.description) == ("builders", "x" * 500)
    described = orgs.update_team(acme, renamed, CLI_ACTOR, name=None, description="they build")
    assert (described.name, described.description) == ("builders", "they build")
    with pytest.raises(NotFoundInStore, match="no such team: 'devs'"):
        orgs.team(acme, "devs")
    orgs.delete_team(acme, described, CLI_ACTOR)
    assert orgs.teams(acme) == []


# -- team rules -----------------------------------------------------------------------------------


def test_a_rule_is_set_changed_and_removed(orgs: OrganizationService) -> None:
    acme = orgs.get("acme")
    team = orgs.create_team(acme, "devs", "", CLI_ACTOR)
    team = orgs.set_permission(acme, team, "ci/*", TeamPermission.WRITE, CLI_ACTOR)
    team = orgs.set_permission(acme, team, "app", TeamPermission.READ, CLI_ACTOR)
    assert {(r.pattern, r.permission) for r in team.permissions} == {
        ("ci/*", TeamPermission.WRITE),
        ("app", TeamPermission.READ),
    }
    team = orgs.set_permission(
        acme, team, "app", TeamPermission.ADMIN, CLI_ACTOR
    )  # one per pattern
    assert {(r.pattern, r.permission) for r in team.permissions} == {
        ("ci/*", TeamPermission.WRITE),
        ("app", TeamPermission.ADMIN),
    }
    team = orgs.set_permission(acme, team, "ci/*", None, CLI_ACTOR)
    assert [(r.pattern, r.permission) for r in team.permissions] == [("app", TeamPermission.ADMIN)]


@pytest.mark.parametrize("pattern", ["*", "app", "ci/*", "ci/tools/build", "a.b_c-d"])
def test_rule_patterns_inside_the_organization(orgs: OrganizationService, pattern: str) -> None:
    acme = orgs.get("acme")
    team = orgs.set_permission(
        acme, orgs.create_team(acme, "devs", "", CLI_ACTOR), pattern, TeamPermission.READ, CLI_ACTOR
    )
    assert [r.pattern for r in team.permissions] == [pattern]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("acme/app", "patterns are relative to the organization: use 'app'"),
        ("acme/ci/*", "patterns are relative to the organization: use 'ci/\\*'"),
        ("../x", "pattern must be"),
        ("App", "pattern must be"),
        ("ci/**", "pattern must be"),
        ("*/app", "pattern must be"),
        ("", "pattern must be"),
    ],
)
def test_rule_patterns_that_are_refused(
    runtime: Runtime, orgs: OrganizationService, pattern: str, message: str
) -> None:
    acme = orgs.get("acme")
    team = orgs.create_team(acme, "devs", "", CLI_ACTOR)
    with pytest.raises(BadRequest, match=message):
        orgs.set_permission(acme, team, pattern, TeamPermission.READ, CLI_ACTOR)
    assert orgs.team(acme, "devs").permissions == ()
    assert runtime.audit.list(AuditQuery(action="team.permission")) == []


# -- what the pages ask: your organizations, whether you may change one ----------------------------


def test_memberships_are_your_organizations_with_your_role(
    runtime: Runtime, orgs: OrganizationService
) -> None:
    add_org(runtime, "zeta", "dave")
    add_org(runtime, "beta", "mallory")

    def names(user: str) -> list[tuple[str, OrgRole]]:
        return [(o.name, r) for o, r in orgs.memberships(runtime.users.get(user))]

    assert names("dave") == [("acme", OrgRole.MEMBER), ("zeta", OrgRole.OWNER)]
    assert names("olivia") == [("acme", OrgRole.OWNER)]
    assert names("root") == []  # an admin reaches every organization, but belongs to none


@pytest.mark.parametrize(
    ("name", "method", "may"),
    [
        ("olivia", PASSWORD, True),
        ("olivia", PAT, False),
        ("dave", PASSWORD, False),
        ("mallory", PASSWORD, False),
        ("root", PASSWORD, True),
        ("root", PAT, False),
    ],
)
def test_may_manage_is_what_require_owner_allows(
    runtime: Runtime, orgs: OrganizationService, name: str, method: str, may: bool
) -> None:
    org, who = orgs.get("acme"), caller(runtime, name, method)
    assert orgs.may_manage(org, who) is may
    if may:
        orgs.require_owner(org, who)
    else:
        with pytest.raises((Forbidden, NotFoundInStore)):
            orgs.require_owner(org, who)
