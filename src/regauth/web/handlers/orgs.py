"""Organizations: the ones you belong to; per organization its members and teams, and for
owners the forms that change them; each through `OrganizationService`, with the API's checks
(`require_member` to read: anyone else gets a 404; `require_owner` to change: 403)."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import Actor, Organization, Team
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call
from regauth.runtime import Runtime
from regauth.web import boundary
from regauth.web.forms import NoFields
from regauth.web.org_forms import MemberForm, PermissionForm, RoleForm, TeamForm, TeamMemberForm
from regauth.web.org_views import PERMISSION_LABELS, ROLE_LABELS
from regauth.web.pages import render, see_other


async def as_member(request: web.Request) -> tuple[boundary.Visitor, Runtime, Organization]:
    """The visitor and the organization in the path, if they may read it (else a 404)."""
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    org = await call(request, runtime.organizations.get, request.match_info["org"])
    await call(request, runtime.organizations.require_member, org, visitor.caller)
    return visitor, runtime, org


async def as_owner(request: web.Request) -> tuple[boundary.Visitor, Runtime, Organization, Actor]:
    """As `as_member`, for a visitor who may change it: an owner or an admin signed in with a
    password (a member gets 403, a PAT session 403)."""
    visitor, runtime, org = await as_member(request)
    actor = await call(request, runtime.organizations.require_owner, org, visitor.caller)
    return visitor, runtime, org, actor


async def index(request: web.Request) -> web.Response:
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    user = visitor.caller.account()
    memberships = await call(request, runtime.organizations.memberships, user)
    others = (
        await call(request, runtime.organizations.all) if visitor.caller.is_admin else []
    )  # an admin reaches every organization: listed apart from their own
    mine = {org.name for org, _ in memberships}
    return render(
        request,
        "orgs/index.html",
        {
            "memberships": [(org, ROLE_LABELS[role]) for org, role in memberships],
            "others": [org for org in others if org.name not in mine],
        },
    )


async def show(request: web.Request) -> web.Response:
    visitor, runtime, org = await as_member(request)
    members = await call(request, runtime.organizations.members, org)
    teams = await call(request, runtime.organizations.teams, org)
    manage = await call(request, runtime.organizations.may_manage, org, visitor.caller)
    return render(
        request,
        "orgs/show.html",
        {"org": org, "members": members, "teams": teams, "manage": manage,
         "roles": ROLE_LABELS},
    )  # fmt: skip


async def team(request: web.Request) -> web.Response:
    visitor, runtime, org = await as_member(request)
    found = await _team(request, runtime, org)
    members = await call(request, runtime.organizations.members, org)
    manage = await call(request, runtime.organizations.may_manage, org, visitor.caller)
    return render(
        request,
        "orgs/team.html",
        {"org": org, "team": found, "manage": manage,
         "candidates": [m.username for m in members if m.username not in found.members],
         "permissions": PERMISSION_LABELS},
    )  # fmt: skip


async def set_member(request: web.Request) -> web.Response:
    """Adds a user to the organization, or changes a member's role (the API's PUT)."""
    visitor, runtime, org, actor = await as_owner(request)
    form = await boundary.read_form(request, MemberForm, visitor.envelope)
    user = await call(request, runtime.users.get, form.username.strip())
    await call(request, runtime.organizations.set_member, org, user, form.org_role, actor)
    return see_other(request, f"/orgs/{org.name}")


async def change_role(request: web.Request) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    form = await boundary.read_form(request, RoleForm, visitor.envelope)
    user = await call(request, runtime.users.get, request.match_info["username"])
    await call(request, runtime.organizations.set_member, org, user, form.org_role, actor)
    return see_other(request, f"/orgs/{org.name}")


async def remove_member(request: web.Request) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    user = await call(request, runtime.users.get, request.match_info["username"])
    await call(request, runtime.organizations.remove_member, org, user, actor)
    return see_other(request, f"/orgs/{org.name}")


async def create_team(request: web.Request) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    form = await boundary.read_form(request, TeamForm, visitor.envelope)
    created = await call(
        request, runtime.organizations.create_team, org, form.name.strip(), form.description, actor
    )
    return see_other(request, f"/orgs/{org.name}/teams/{created.name}")


async def add_team_member(request: web.Request) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    form = await boundary.read_form(request, TeamMemberForm, visitor.envelope)
    found = await _team(request, runtime, org)
    user = await call(request, runtime.users.get, form.username.strip())
    await call(request, runtime.organizations.add_team_member, org, found, user, actor)
    return see_other(request, f"/orgs/{org.name}/teams/{found.name}")


async def remove_team_member(request: web.Request) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    found = await _team(request, runtime, org)
    user = await call(request, runtime.users.get, request.match_info["username"])
    await call(request, runtime.organizations.remove_team_member, org, found, user, actor)
    return see_other(request, f"/orgs/{org.name}/teams/{found.name}")


async def set_permission(request: web.Request) -> web.Response:
    """Grants the team a permission on a pattern, or (`none`) revokes its rule there."""
    visitor, runtime, org, actor = await as_owner(request)
    form = await boundary.read_form(request, PermissionForm, visitor.envelope)
    found = await _team(request, runtime, org)
    await call(
        request,
        runtime.organizations.set_permission,
        org,
        found,
        form.pattern.strip(),
        form.team_permission,
        actor,
    )
    return see_other(request, f"/orgs/{org.name}/teams/{found.name}")


async def _team(request: web.Request, runtime: Runtime, org: Organization) -> Team:
    return await call(request, runtime.organizations.team, org, request.match_info["team"])
