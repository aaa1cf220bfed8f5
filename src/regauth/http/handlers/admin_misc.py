"""Admin API: organizations, repositories, the audit log, and explain."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import AuditQuery
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, Params, admin, call
from regauth.http.models.admin import (
    AuditEventList,
    AuditEventView,
    AuditSearch,
    CreateOrganizationRequest,
    OrganizationList,
    OrganizationView,
    RepositoryList,
    RepositoryView,
    SetVisibilityRequest,
)
from regauth.http.models.base import NO_CONTENT, NoContent
from regauth.http.models.explain import ExplainRequest, Explanation


async def list_repositories(request: web.Request) -> RepositoryList:
    """List repositories with a recorded visibility

    By name. Repositories are private unless made public; this lists those regauth has a record
    of.
    """
    await admin(request)
    repositories = await call(request, request.app[RUNTIME].repositories.list)
    return RepositoryList(repositories=[RepositoryView.of(r) for r in repositories])


async def set_visibility(request: web.Request, body: Body[SetVisibilityRequest]) -> RepositoryView:
    """Make a repository public or private

    Public repositories may be pulled anonymously and by every user; a repository regauth has
    no record of is private.
    """
    actor = await admin(request)
    visibility = (await body.read()).visibility
    repository = await call(
        request,
        request.app[RUNTIME].repositories.set_visibility,
        request.match_info["name"],
        visibility,
        actor,
    )
    return RepositoryView.of(repository)


async def list_audit(request: web.Request, params: Params[AuditSearch]) -> AuditEventList:
    """Read the audit log

    Changes and failed sign-ins, newest first. Failed sign-ins are counted per username,
    address and hour (`count`).
    """
    await admin(request)
    query = params.read()
    search = AuditQuery(
        actor=query.actor,
        action=query.action,
        since=query.since,
        until=query.until,
        limit=query.limit,
        offset=query.offset,
    )
    events = await call(request, request.app[RUNTIME].audit.list, search)
    return AuditEventList(events=[AuditEventView.of(e) for e in events])


async def explain(request: web.Request, body: Body[ExplainRequest]) -> Explanation:
    """Explain a token decision

    For a user, or a token, and a scope string: what `/token` would grant, what it would deny
    and why, and whether the credential itself would be refused. Nothing is issued.
    """
    await admin(request)
    asked, service = await body.read(), request.app[RUNTIME].explain
    if asked.user is not None and asked.token is None:
        return Explanation.of(service.for_user(asked.user, asked.scope))
    if asked.token is not None and asked.user is None:
        return Explanation.of(service.for_token(asked.token, asked.scope))
    raise BadRequest("send exactly one of 'user' and 'token'")


async def list_orgs(request: web.Request) -> OrganizationList:
    """List organizations

    Every organization, by name.
    """
    await admin(request)
    orgs = await call(request, request.app[RUNTIME].organizations.all)
    return OrganizationList(orgs=[OrganizationView.of(o) for o in orgs])


async def create_org(
    request: web.Request, body: Body[CreateOrganizationRequest]
) -> OrganizationView:
    """Create an organization

    Creates an organization with one owner; its name becomes a registry namespace
    (`name/...`), so no user may have it.
    """
    actor = await admin(request)
    new, runtime = await body.read(), request.app[RUNTIME]
    owner = await call(request, runtime.users.get, new.owner)
    return OrganizationView.of(
        await call(request, runtime.organizations.create, new.name, owner, actor)
    )


async def delete_org(request: web.Request) -> NoContent:
    """Delete an organization

    Deletes the organization with its memberships, groups and organization access tokens
    (visibility settings of repositories under its namespace are kept).
    """
    actor = await admin(request)
    runtime = request.app[RUNTIME]
    await call(
        request,
        runtime.organizations.delete,
        await call(request, runtime.organizations.get, request.match_info["name"]),
        actor,
    )
    return NO_CONTENT
