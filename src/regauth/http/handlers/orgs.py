"""Organizations in Docker Hub's /v2/orgs shapes: members, groups (teams), group members.

regauth adds what the Hub does elsewhere: PUT on a member adds them (there are no e-mail
invitations here), a group's repository permissions, and repository visibility.
"""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import OrgRole, TeamPermission, Visibility
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import (
    caller,
    field,
    json_body,
    json_response,
    org_as_member,
    org_as_owner,
)
from regauth.http.views import org_member_view, repository_view, team_view


async def list_members(request: web.Request) -> web.Response:
    runtime, org = org_as_member(request)
    members = [org_member_view(m) for m in runtime.organizations.members(org)]
    return json_response(
        {"count": len(members), "next": None, "previous": None, "results": members}
    )


async def put_member(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    role = str(field(await json_body(request), "role", str, required=True)).lower()
    if role not in {r.value for r in OrgRole}:
        raise BadRequest("role must be owner or member")
    user = runtime.users.get(request.match_info["username"])
    runtime.organizations.set_member(org, user, OrgRole(role), actor)
    member = next(m for m in runtime.organizations.members(org) if m.user_id == user.id)
    return json_response(org_member_view(member))


async def delete_member(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    user = runtime.users.get(request.match_info["username"])
    runtime.organizations.remove_member(org, user, actor)
    return web.Response(status=204)


async def list_groups(request: web.Request) -> web.Response:
    runtime, org = org_as_member(request)
    teams = [team_view(t) for t in runtime.organizations.teams(org)]
    return json_response({"count": len(teams), "next": None, "previous": None, "results": teams})


async def create_group(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    body = await json_body(request)
    team = runtime.organizations.create_team(
        org, field(body, "name", str, required=True), field(body, "description", str) or "", actor
    )
    return json_response(team_view(team), status=201)


async def get_group(request: web.Request) -> web.Response:
    runtime, org = org_as_member(request)
    return json_response(team_view(runtime.organizations.team(org, request.match_info["group"])))


async def patch_group(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    team = runtime.organizations.team(org, request.match_info["group"])
    body = await json_body(request)
    updated = runtime.organizations.update_team(
        org, team, actor, name=field(body, "name", str), description=field(body, "description", str)
    )
    return json_response(team_view(updated))


async def delete_group(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    runtime.organizations.delete_team(
        org, runtime.organizations.team(org, request.match_info["group"]), actor
    )
    return web.Response(status=204)


async def list_group_members(request: web.Request) -> web.Response:
    runtime, org = org_as_member(request)
    team = runtime.organizations.team(org, request.match_info["group"])
    members = [{"id": name, "username": name, "type": "User"} for name in team.members]
    return json_response(
        {"count": len(members), "next": None, "previous": None, "results": members}
    )


async def add_group_member(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    team = runtime.organizations.team(org, request.match_info["group"])
    user = runtime.users.get(field(await json_body(request), "member", str, required=True))
    runtime.organizations.add_team_member(org, team, user, actor)
    return json_response(team_view(runtime.organizations.team(org, team.name)))


async def delete_group_member(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    team = runtime.organizations.team(org, request.match_info["group"])
    user = runtime.users.get(request.match_info["username"])
    runtime.organizations.remove_team_member(org, team, user, actor)
    return web.Response(status=204)


async def put_group_permission(request: web.Request) -> web.Response:
    """regauth addition: {"pattern": "app" | "ci/*" | "*", "permission": read|write|admin|none}."""
    runtime, org, actor = org_as_owner(request)
    team = runtime.organizations.team(org, request.match_info["group"])
    body = await json_body(request)
    permission = field(body, "permission", str, required=True)
    if permission not in {p.value for p in TeamPermission} | {"none"}:
        raise BadRequest("permission must be read, write, admin or none")
    updated = runtime.organizations.set_permission(
        org,
        team,
        field(body, "pattern", str, required=True),
        None if permission == "none" else TeamPermission(permission),
        actor,
    )
    return json_response(team_view(updated))


async def patch_repository(request: web.Request) -> web.Response:
    """regauth addition: the namespace's owner (a user, or an organization's owners) sets visibility."""
    runtime = request.app[RUNTIME]
    namespace, name = request.match_info["namespace"], request.match_info["repository"]
    actor = runtime.organizations.require_namespace_owner(namespace, caller(request))
    is_private = field(await json_body(request), "is_private", bool, required=True)
    visibility = Visibility.PRIVATE if is_private else Visibility.PUBLIC
    repository = runtime.repositories.set_visibility(f"{namespace}/{name}", visibility, actor)
    return json_response(repository_view(repository))
