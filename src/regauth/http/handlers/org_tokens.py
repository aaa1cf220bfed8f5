"""Organization access tokens in Docker Hub's /v2/orgs/{org}/access-tokens shapes."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import PULL, PUSH
from regauth.domain.timefmt import parse_expiry
from regauth.errors import BadRequest
from regauth.http.handlers.common import Body, Params, call, org_as_owner, page_links
from regauth.http.models.base import NO_CONTENT, NoContent, PageQuery
from regauth.http.models.org_tokens import (
    HUB_ORG_SCOPES,
    OLD_HUB_ORG_SCOPES,
    PUBLIC_REPOSITORIES_PATH,
    CreatedOrgAccessToken,
    CreateOrgAccessTokenRequest,
    GetOrgAccessTokensResponse,
    OrgAccessToken,
    OrgAccessTokenResource,
    UpdateOrgAccessTokenRequest,
)

# Docker Hub's scope names, and the older "repo-" spelling its examples use.
_SCOPES = {
    **{hub: action for action, hub in HUB_ORG_SCOPES.items()},
    **{old: action for action, old in OLD_HUB_ORG_SCOPES.items()},
}
assert set(_SCOPES.values()) == {PULL, PUSH}


async def create(
    request: web.Request, body: Body[CreateOrgAccessTokenRequest]
) -> CreatedOrgAccessToken:
    """Create organization access token (Docker Hub shape)

    Creates a token owned by the organization and returns it with its secret in `token`, the
    only time the secret is shown. It reaches only the repositories in `resources` (and every
    public one, with `*/*/public`), whatever becomes of the person who made it. An
    organization holds at most `limits.org_tokens_per_org` tokens (409). regauth's
    `allow_from` binds it to client networks.
    """
    runtime, org, actor = await org_as_owner(request)
    new = await body.read()
    resources, public_read = _resources(new.resources or [])
    created = await call(
        request,
        runtime.org_tokens.create,
        org,
        actor,
        label=new.label,
        description=new.description or "",
        resources=resources,
        public_read=public_read,
        expires_at=parse_expiry(new.expires_at, now=runtime.clock()) if new.expires_at else None,
        allow_from=new.allow_from,
    )
    return CreatedOrgAccessToken.created(created.record, runtime.clock(), str(created.token))


async def list_tokens(
    request: web.Request, params: Params[PageQuery]
) -> GetOrgAccessTokensResponse:
    """List organization access tokens (Docker Hub shape)

    The organization's tokens, newest first, a page at a time. Secrets are never shown.
    Organization access tokens are for owners only, reading included.
    """
    runtime, org, _ = await org_as_owner(request)
    query = params.read()
    page, size = query.page, query.page_size
    records = await call(request, runtime.org_tokens.for_org, org)
    now = runtime.clock()
    after, before = page_links(request, page=page, size=size, total=len(records))
    return GetOrgAccessTokensResponse(
        total=len(records),
        next=after,
        previous=before,
        results=[OrgAccessToken.of(r, now) for r in records[(page - 1) * size : page * size]],
    )


async def get_token(request: web.Request) -> OrgAccessToken:
    """Get organization access token (Docker Hub shape)

    One token, without its secret. Organization access tokens are for owners only, reading
    included.
    """
    runtime, org, _ = await org_as_owner(request)
    record = await call(request, runtime.org_tokens.get, org, request.match_info["token"])
    return OrgAccessToken.of(record, runtime.clock())


async def patch_token(
    request: web.Request, body: Body[UpdateOrgAccessTokenRequest]
) -> OrgAccessToken:
    """Update organization access token (Docker Hub shape)

    Rename the token, change its description, enable or disable it, and/or replace its
    resources; a change applies to the token's next request at `/token`.
    """
    runtime, org, actor = await org_as_owner(request)
    record = await call(request, runtime.org_tokens.get, org, request.match_info["token"])
    change = await body.read()
    resources, public_read = (
        _resources(change.resources) if change.resources is not None else (None, None)
    )
    if (change.label, change.is_active, resources, change.description) == (None,) * 4:
        raise BadRequest("nothing to change: send label, description, is_active and/or resources")
    updated = await call(
        request,
        runtime.org_tokens.update,
        org,
        record,
        actor,
        label=change.label,
        description=change.description,
        active=change.is_active,
        resources=resources,
        public_read=public_read,
    )
    return OrgAccessToken.of(updated, runtime.clock())


async def delete_token(request: web.Request) -> NoContent:
    """Delete organization access token (Docker Hub shape)

    Deletes the token; it is refused at `/token` from then on. This cannot be undone.
    """
    runtime, org, actor = await org_as_owner(request)
    await call(
        request,
        runtime.org_tokens.delete,
        org,
        await call(request, runtime.org_tokens.get, org, request.match_info["token"]),
        actor,
    )
    return NO_CONTENT


def _resources(
    items: list[OrgAccessTokenResource],
) -> tuple[dict[str, frozenset[str]], bool]:
    resources: dict[str, frozenset[str]] = {}
    public_read = False
    for item in items:
        if item.type != "TYPE_REPO":
            raise BadRequest("each resource must be an object with type TYPE_REPO")
        actions = frozenset(_SCOPES.get(s, "?") for s in item.scopes)
        if "?" in actions or not actions:
            raise BadRequest("resource scopes must be scope-image-pull and/or scope-image-push")
        if item.path == PUBLIC_REPOSITORIES_PATH:
            if actions != {PULL}:
                raise BadRequest("public repositories can only be pulled")
            public_read = True
        else:
            resources[item.path] = resources.get(item.path, frozenset()) | actions
    return resources, public_read
