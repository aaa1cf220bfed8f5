"""Organizations in Docker Hub's /v2/orgs shapes: members, groups (teams), group members.

regauth adds what the Hub does elsewhere: PUT on a member adds them (there are no e-mail
invitations here), a group's repository permissions, and repository visibility.
"""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import OrgRole, TeamPermission, Visibility
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, call, caller, org_as_member, org_as_owner
from regauth.http.models.admin import RepositoryView
from regauth.http.models.base import NO_CONTENT, NoContent
from regauth.http.models.orgs import (
    AddGroupMemberRequest,
    CreateOrgGroupRequest,
    GroupMember,
    GroupMemberPage,
    OrgGroup,
    OrgGroupPage,
    OrgMemberPage,
    OrgMemberView,
    PatchNamespaceRepositoryRequest,
    SetGroupPermissionRequest,
    UpdateOrgGroupRequest,
    UpdateOrgMemberRequest,
)


async def list_members(request: web.Request) -> OrgMemberPage:
    """List org members (Docker Hub shape)

    The organization's members with their roles and groups, sorted by user name. Docker Hub
    documents this answer as an array of `org_member_paginated`; regauth (like Docker Hub's own
    answers) sends one `org_member_paginated` object. Docker Hub's query parameters (`search`,
    `page`, `page_size`, `invites`, `type`, `role`) are not read.
    """
    runtime, org = await org_as_member(request)
    members = [OrgMemberView.of(m) for m in await call(request, runtime.organizations.members, org)]
    return OrgMemberPage(count=len(members), next=None, previous=None, results=members)


async def put_member(request: web.Request, body: Body[UpdateOrgMemberRequest]) -> OrgMemberView:
    """Add org member, or change their role (Docker Hub shape)

    Sets the user's role in the organization. Docker Hub changes the role of an existing member
    here (and adds people by e-mail invitation); regauth has no invitations, so PUT on a user
    who is not a member adds them. An organization keeps at least one owner (409).
    """
    runtime, org, actor = await org_as_owner(request)
    role = (await body.read()).role.lower()
    if role not in {r.value for r in OrgRole}:
        raise BadRequest("role must be owner or member", fields={"role": "invalid"})
    user = await call(request, runtime.users.get, request.match_info["username"])
    await call(request, runtime.organizations.set_member, org, user, OrgRole(role), actor)
    member = next(
        m for m in await call(request, runtime.organizations.members, org) if m.user_id == user.id
    )
    return OrgMemberView.of(member)


async def delete_member(request: web.Request) -> NoContent:
    """Remove member from org (Docker Hub shape)

    Removes the user from the organization and all its groups; the access it gave their tokens
    ends at once. Organization access tokens they made keep working. The last owner cannot be
    removed (409; Docker Hub documents no 409 here).
    """
    runtime, org, actor = await org_as_owner(request)
    user = await call(request, runtime.users.get, request.match_info["username"])
    await call(request, runtime.organizations.remove_member, org, user, actor)
    return NO_CONTENT


async def list_groups(request: web.Request) -> OrgGroupPage:
    """Get groups of an organization (Docker Hub shape)

    The organization's groups (teams), sorted by name. Docker Hub's query parameters (`page`,
    `page_size`, `username`, `search`) are not read.
    """
    runtime, org = await org_as_member(request)
    teams = [OrgGroup.of(t) for t in await call(request, runtime.organizations.teams, org)]
    return OrgGroupPage(count=len(teams), next=None, previous=None, results=teams)


async def create_group(request: web.Request, body: Body[CreateOrgGroupRequest]) -> OrgGroup:
    """Create a new group (Docker Hub shape)

    Creates an empty group with no repository permissions.
    """
    runtime, org, actor = await org_as_owner(request)
    new = await body.read()
    team = await call(
        request, runtime.organizations.create_team, org, new.name, new.description or "", actor
    )
    return OrgGroup.of(team)


async def get_group(request: web.Request) -> OrgGroup:
    """Get a group of an organization (Docker Hub shape)

    One group, with its members and repository permissions.
    """
    runtime, org = await org_as_member(request)
    return OrgGroup.of(
        await call(request, runtime.organizations.team, org, request.match_info["group"])
    )


async def patch_group(request: web.Request, body: Body[UpdateOrgGroupRequest]) -> OrgGroup:
    """Update some details for an organization group (Docker Hub shape)

    Renames the group and/or changes its description. (Docker Hub's `PUT` on this path is not
    served: 405.)
    """
    runtime, org, actor = await org_as_owner(request)
    team = await call(request, runtime.organizations.team, org, request.match_info["group"])
    change = await body.read()
    updated = await call(
        request,
        runtime.organizations.update_team,
        org,
        team,
        actor,
        name=change.name,
        description=change.description,
    )
    return OrgGroup.of(updated)


async def delete_group(request: web.Request) -> NoContent:
    """Delete an organization group (Docker Hub shape)

    Deletes the group, its membership and its repository permissions.
    """
    runtime, org, actor = await org_as_owner(request)
    await call(
        request,
        runtime.organizations.delete_team,
        org,
        await call(request, runtime.organizations.team, org, request.match_info["group"]),
        actor,
    )
    return NO_CONTENT


async def list_group_members(request: web.Request) -> GroupMemberPage:
    """List members of a group (Docker Hub shape)

    The group's members. Docker Hub's query parameters (`page`, `page_size`, `search`) are not
    read.
    """
    runtime, org = await org_as_member(request)
    team = await call(request, runtime.organizations.team, org, request.match_info["group"])
    members = [GroupMember(id=name, username=name, type="User") for name in team.members]
    return GroupMemberPage(count=len(members), next=None, previous=None, results=members)


async def add_group_member(request: web.Request, body: Body[AddGroupMemberRequest]) -> OrgGroup:
    """Add a member to a group (Docker Hub shape)

    Adds a member of the organization to the group (adding one already in it changes nothing).
    Docker Hub documents an empty 200; regauth's 200 carries the group.
    """
    runtime, org, actor = await org_as_owner(request)
    team = await call(request, runtime.organizations.team, org, request.match_info["group"])
    user = await call(request, runtime.users.get, (await body.read()).member)
    await call(request, runtime.organizations.add_team_member, org, team, user, actor)
    return OrgGroup.of(await call(request, runtime.organizations.team, org, team.name))


async def delete_group_member(request: web.Request) -> NoContent:
    """Remove a user from a group (Docker Hub shape)

    Removes the user from the group (not from the organization); the access the group gave
    their tokens ends at once. A user who is not in the group is a 404.
    """
    runtime, org, actor = await org_as_owner(request)
    team = await call(request, runtime.organizations.team, org, request.match_info["group"])
    user = await call(request, runtime.users.get, request.match_info["username"])
    await call(request, runtime.organizations.remove_team_member, org, team, user, actor)
    return NO_CONTENT


async def put_group_permission(
    request: web.Request, body: Body[SetGroupPermissionRequest]
) -> OrgGroup:
    """Set a group's permission on repositories (regauth addition)

    Gives the group's members `read`, `write` or `admin` on the organization's repositories
    matching `pattern`, or (`none`) removes the group's rule for that pattern. A member gets
    every action any matching rule of any of their groups gives; owners have every permission
    on every repository of the organization. Not in Docker Hub's API.
    """
    runtime, org, actor = await org_as_owner(request)
    team = await call(request, runtime.organizations.team, org, request.match_info["group"])
    rule = await body.read()
    permission = None if rule.permission == "none" else TeamPermission(rule.permission)
    updated = await call(
        request, runtime.organizations.set_permission, org, team, rule.pattern, permission, actor
    )
    return OrgGroup.of(updated)


async def patch_repository(
    request: web.Request, body: Body[PatchNamespaceRepositoryRequest]
) -> RepositoryView:
    """Make a repository of your namespace public or private (regauth addition)

    Sets the visibility of `<namespace>/<repository>` (regauth keeps no other repository data;
    the repository need not exist in the registry yet). Public repositories may be pulled
    anonymously and by every user. Who may: for an organization's namespace, its owners with a
    password session and administrators (a member who is not an owner gets 403, anyone else
    404); for a user's namespace, that user, or an admin user, with a password session (a
    session opened with a personal access token, someone else's namespace, or an admin API
    key: 403; an admin API key uses `PATCH /admin/v1/repositories/{name}`). Not in Docker Hub's
    API, which keeps visibility under `/v2/repositories/`; the answer is regauth's
    `Repository`.
    """
    runtime = request.app[RUNTIME]
    namespace, name = request.match_info["namespace"], request.match_info["repository"]
    actor = await call(
        request, runtime.organizations.require_namespace_owner, namespace, await caller(request)
    )
    is_private = (await body.read()).is_private
    visibility = Visibility.PRIVATE if is_private else Visibility.PUBLIC
    repository = await call(
        request, runtime.repositories.set_visibility, f"{namespace}/{name}", visibility, actor
    )
    return RepositoryView.of(repository)
