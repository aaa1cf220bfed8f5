"""Admin API: organizations, repositories, the audit log, and explain."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import AuditQuery, Visibility
from regauth.domain.timefmt import rfc3339
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import (
    admin,
    field,
    json_body,
    json_response,
    query_int,
    query_text,
)
from regauth.http.views import audit_view, explanation_view, repository_view


async def list_repositories(request: web.Request) -> web.Response:
    admin(request)
    repositories = request.app[RUNTIME].repositories.list()
    return json_response({"repositories": [repository_view(r) for r in repositories]})


async def set_visibility(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await json_body(request)
    visibility = field(body, "visibility", str, required=True)
    if visibility not in {v.value for v in Visibility}:
        raise BadRequest("visibility must be public or private")
    repository = request.app[RUNTIME].repositories.set_visibility(
        request.match_info["name"], Visibility(visibility), actor
    )
    return json_response(repository_view(repository))


async def list_audit(request: web.Request) -> web.Response:
    admin(request)
    query = AuditQuery(
        actor=query_text(request, "actor"),
        action=query_text(request, "action"),
        since=query_int(request, "since", None, low=0, high=2**40),
        until=query_int(request, "until", None, low=0, high=2**40),
        limit=query_int(request, "limit", 100, low=1, high=1000),
        offset=query_int(request, "offset", 0, low=0, high=10**9),
    )
    events = request.app[RUNTIME].audit.list(query)
    return json_response({"events": [audit_view(e) for e in events]})


async def explain(request: web.Request) -> web.Response:
    admin(request)
    body = await json_body(request)
    scope = field(body, "scope", str, required=True)
    user, token = field(body, "user", str), field(body, "token", str)
    service = request.app[RUNTIME].explain
    if (user is None) == (token is None):
        raise BadRequest("send exactly one of 'user' and 'token'")
    result = service.for_user(user, scope) if user is not None else service.for_token(token, scope)
    return json_response(explanation_view(result))


async def list_orgs(request: web.Request) -> web.Response:
    admin(request)
    orgs = request.app[RUNTIME].organizations.all()
    return json_response(
        {"orgs": [{"name": o.name, "created_at": rfc3339(o.created_at)} for o in orgs]}
    )


async def create_org(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await json_body(request)
    runtime = request.app[RUNTIME]
    owner = runtime.users.get(field(body, "owner", str, required=True))
    org = runtime.organizations.create(field(body, "name", str, required=True), owner, actor)
    return json_response({"name": org.name, "created_at": rfc3339(org.created_at)}, status=201)


async def delete_org(request: web.Request) -> web.Response:
    actor = admin(request)
    runtime = request.app[RUNTIME]
    runtime.organizations.delete(runtime.organizations.get(request.match_info["name"]), actor)
    return web.Response(status=204)
