"""The organization pages: who sees what (owner, member, outsider, PAT session), the owner's
forms for members and teams, each checked against what the services then hold, and the
organization's own checks (`require_member`, `require_owner`) refusing forged posts."""

from __future__ import annotations

import pytest

from regauth.domain.models import CLI_ACTOR, AccessLevel, OrgRole, TeamPermission
from regauth.runtime import Runtime
from tests.support.builders import add_org, add_token, add_user
from tests.web.conftest import Visitor


@pytest.fixture(autouse=True)
def acme(runtime: Runtime) -> None:
    for name in ("alice", "bob", "carol", "erin"):
        add_user(runtime, name)
    org = add_org(runtime, "acme", "alice")
    runtime.organizations.set_member(org, runtime.users.get("bob"), OrgRole.MEMBER, CLI_ACTOR)
    team = runtime.organizations.create_team(org, "devs", "the developers", CLI_ACTOR)
    runtime.organizations.add_team_member(org, team, runtime.users.get("bob"), CLI_ACTOR)
    runtime.organizations.set_permission(org, team, "app", TeamPermission.WRITE, CLI_ACTOR)
    add_org(runtime, "umbrella", "carol")


def _members(runtime: Runtime) -> dict[str, OrgRole]:
    org = runtime.organizations.get("acme")
    return {m.username: m.role for m in runtime.organizations.members(org)}


def _team(runtime: Runtime, name: str = "devs") -> tuple[tuple[str, ...], dict[str, str]]:
    team = runtime.organizations.team(runtime.organizations.get("acme"), name)
    return team.members, {r.pattern: r.permission.value for r in team.permissions}


# What each visitor sees


async def test_the_list_shows_your_organizations_and_your_role(visitor: Visitor) -> None:
    await visitor.sign_in("bob")
    response = await visitor.get("/orgs")
    assert response.status == 200
    assert '<a href="/ui/orgs/acme">acme</a>' in visitor.text
    assert '<td data-label="Your role">Member</td>' in visitor.text
    assert "umbrella" not in visitor.text
    assert '<a href="/ui/orgs" aria-current="page">Organizations</a>' in visitor.text


async def test_someone_in_no_organization_is_told_so(visitor: Visitor) -> None:
    await visitor.sign_in("erin")
    await visitor.get("/orgs")
    assert "You do not belong to any organization." in visitor.text


async def test_the_owner_sees_members_teams_and_the_forms(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    response = await visitor.get("/orgs/acme")
    assert response.status == 200
    assert "<h1>Organization acme</h1>" in visitor.text
    assert '<td data-label="Username">bob</td>' in visitor.text
    assert '<td data-label="Teams">devs</td>' in visitor.text
    assert "acme/app: write" in visitor.text
    for control in ("Add member", "Create team", "Remove<span", "Change role<span"):
        assert control in visitor.text, control
    assert 'href="/ui/orgs/acme/tokens"' in visitor.text


async def test_a_member_sees_a_read_only_view(visitor: Visitor) -> None:
    await visitor.sign_in("bob")
    assert (await visitor.get("/orgs/acme")).status == 200
    assert '<td data-label="Username">alice</td>' in visitor.text
    assert "Only the organization's owners can change it." in visitor.text
    assert "<form" not in visitor.text.split("<main", 1)[1]
    assert "/tokens" not in visitor.text.split("<main", 1)[1]
    assert (await visitor.get("/orgs/acme/teams/devs")).status == 200
    assert "Read &amp; Write (pull, push)" in visitor.text
    assert "Grant permission" not in visitor.text
    assert "Revoke" not in visitor.text


@pytest.mark.parametrize(
    "path", ["/orgs/acme", "/orgs/acme/teams/devs", "/orgs/acme/tokens", "/orgs/acme/tokens/new"]
)
async def test_an_outsider_gets_a_404_as_for_an_organization_that_does_not_exist(
    visitor: Visitor, path: str
) -> None:
    await visitor.sign_in("erin")
    response = await visitor.get(path)
    assert response.status == 404
    assert "no such organization: &#39;acme&#39;" in visitor.text.lower()
    assert (await visitor.get(path.replace("acme", "nope"))).status == 404


async def test_an_admin_opens_any_organization(runtime: Runtime, visitor: Visitor) -> None:
    add_user(runtime, "root", admin=True)
    await visitor.sign_in("root")
    await visitor.get("/orgs")
    assert "Other organizations" in visitor.text
    assert '<a href="/ui/orgs/umbrella">umbrella</a>' in visitor.text
    assert (await visitor.get("/orgs/umbrella")).status == 200
    assert "Add member" in visitor.text


# Forged posts: the organization's own checks refuse them


FORMS = [
    ("/orgs/acme/members", {"username": "erin", "role": "owner"}),
    ("/orgs/acme/members/alice/role", {"role": "member"}),
    ("/orgs/acme/members/alice/remove", {}),
    ("/orgs/acme/teams", {"name": "ops"}),
    ("/orgs/acme/teams/devs/members", {"username": "bob"}),
    ("/orgs/acme/teams/devs/members/bob/remove", {}),
    ("/orgs/acme/teams/devs/permissions", {"pattern": "*", "permission": "admin"}),
    ("/orgs/acme/tokens/new", {"label": "ci", "repository_1": "app", "pull_1": "on"}),
]


def _state(runtime: Runtime) -> object:
    org = runtime.organizations.get("acme")
    return (
        _members(runtime),
        [(t.name, t.members, t.permissions) for t in runtime.organizations.teams(org)],
        runtime.org_tokens.for_org(org),
    )


async def test_a_members_forged_posts_are_refused(runtime: Runtime, visitor: Visitor) -> None:
    before = _state(runtime)
    await visitor.sign_in("bob")
    await visitor.get("/orgs/acme")  # a valid CSRF token: the refusal is the owner check
    for path, form in FORMS:
        response = await visitor.post(path, form)
        assert response.status == 403, path
        assert "only owners of &#39;acme&#39; may do this" in visitor.text.lower(), path
        await visitor.get("/orgs/acme")
    assert _state(runtime) == before


async def test_an_outsiders_forged_posts_are_a_404(runtime: Runtime, visitor: Visitor) -> None:
    before = _state(runtime)
    await visitor.sign_in("erin")
    await visitor.get("/orgs")
    for path, form in FORMS:
        response = await visitor.post(path, form)
        assert response.status == 404, path
        await visitor.get("/orgs")
    assert _state(runtime) == before


async def test_the_owners_forms_need_the_page_token(runtime: Runtime, visitor: Visitor) -> None:
    before = _state(runtime)
    await visitor.sign_in("alice")
    for path, form in FORMS:
        response = await visitor.post(path, form, csrf=None)
        assert response.status == 403, path
        assert "was not sent from a page of this site" in visitor.text, path
    assert _state(runtime) == before


async def test_a_pat_session_of_the_owner_sees_no_forms_and_cannot_post(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice", AccessLevel.DELETE)
    before = _state(runtime)
    await visitor.sign_in("alice", pat)
    assert (await visitor.get("/orgs/acme")).status == 200
    main = visitor.text.split("<main", 1)[1]
    assert "<form" not in main
    assert (await visitor.get("/orgs/acme/tokens")).status == 403
    await visitor.get("/orgs/acme")
    for path, form in FORMS:
        response = await visitor.post(path, form)
        assert response.status == 403, path
        await visitor.get("/orgs/acme")
    assert _state(runtime) == before


# The owner's forms


async def test_the_owner_adds_a_member_changes_the_role_and_removes_them(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme")
    response = await visitor.post("/orgs/acme/members", {"username": "erin", "role": "member"})
    assert response.status == 200
    assert _members(runtime)["erin"] is OrgRole.MEMBER
    assert '<td data-label="Username">erin</td>' in visitor.text

    await visitor.post("/orgs/acme/members/erin/role", {"role": "owner"})
    assert _members(runtime)["erin"] is OrgRole.OWNER

    await visitor.post("/orgs/acme/members/erin/remove")
    assert "erin" not in _members(runtime)


async def test_the_last_owner_cannot_be_removed(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme")
    response = await visitor.post("/orgs/acme/members/alice/remove")
    assert response.status == 409
    assert "an organization keeps at least one owner" in visitor.text.lower()
    assert _members(runtime)["alice"] is OrgRole.OWNER


async def test_adding_someone_who_does_not_exist_says_so(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme")
    response = await visitor.post("/orgs/acme/members", {"username": "zed", "role": "member"})
    assert response.status == 404
    assert "no such user: &#39;zed&#39;" in visitor.text.lower()


async def test_the_owner_creates_a_team_adds_a_member_grants_and_revokes(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme")
    response = await visitor.post("/orgs/acme/teams", {"name": "ops", "description": "on call"})
    assert response.status == 200
    assert response.url.path == "/ui/orgs/acme/teams/ops"
    assert "<h1>Team ops of acme</h1>" in visitor.text
    assert '<option value="bob">' in visitor.text  # a member of acme not in the team

    await visitor.post("/orgs/acme/teams/ops/members", {"username": "bob"})
    await visitor.post(
        "/orgs/acme/teams/ops/permissions", {"pattern": "ci/*", "permission": "read"}
    )
    assert _team(runtime, "ops") == (("bob",), {"ci/*": "read"})
    assert "acme/ci/*" in visitor.text
    assert "Revoke<span" in visitor.text

    await visitor.post(
        "/orgs/acme/teams/ops/permissions", {"pattern": "ci/*", "permission": "none"}
    )
    await visitor.post("/orgs/acme/teams/ops/members/bob/remove")
    assert _team(runtime, "ops") == ((), {})


async def test_a_team_member_must_be_in_the_organization(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/teams/devs")
    response = await visitor.post("/orgs/acme/teams/devs/members", {"username": "erin"})
    assert response.status == 400
    assert "is not a member of" in visitor.text
    assert _team(runtime)[0] == ("bob",)


async def test_a_bad_pattern_is_refused_with_the_services_reason(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/teams/devs")
    response = await visitor.post(
        "/orgs/acme/teams/devs/permissions", {"pattern": "acme/app", "permission": "read"}
    )
    assert response.status == 400
    assert "patterns are relative to the organization" in visitor.text.lower()
    assert _team(runtime)[1] == {"app": "write"}
