"""Organization access tokens in Docker Hub's /v2/orgs/{org}/access-tokens shapes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from regauth.domain.models import PULL, PUSH
from regauth.domain.timefmt import parse_expiry
from regauth.errors import BadRequest
from regauth.http.handlers.common import (
    field,
    json_body,
    json_response,
    org_as_owner,
    page_links,
    query_int,
)
from regauth.http.views import PUBLIC_REPOSITORIES_PATH, org_token_view

# Docker Hub's scope names, and the older "repo-" spelling its examples use.
_SCOPES = {
    "scope-image-pull": PULL,
    "scope-image-push": PUSH,
    "repo-pull": PULL,
    "repo-push": PUSH,
}


async def create(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    body = await json_body(request)
    resources, public_read = _resources(field(body, "resources", list) or [])
    expires = field(body, "expires_at", str)
    created = runtime.org_tokens.create(
        org,
        actor,
        label=field(body, "label", str, required=True),
        description=field(body, "description", str) or "",
        resources=resources,
        public_read=public_read,
        expires_at=parse_expiry(expires, now=runtime.clock()) if expires else None,
    )
    view = org_token_view(created.record, runtime.clock(), secret=str(created.token))
    return json_response(view, status=201)


async def list_tokens(request: web.Request) -> web.Response:
    runtime, org, _ = org_as_owner(request)
    page = query_int(request, "page", 1, low=1, high=100_000)
    size = query_int(request, "page_size", 10, low=1, high=100)
    records = runtime.org_tokens.for_org(org)
    now = runtime.clock()
    after, before = page_links(request, page=page, size=size, total=len(records))
    return json_response(
        {
            "total": len(records),
            "next": after,
            "previous": before,
            "results": [org_token_view(r, now) for r in records[(page - 1) * size : page * size]],
        }
    )


async def get_token(request: web.Request) -> web.Response:
    runtime, org, _ = org_as_owner(request)
    record = runtime.org_tokens.get(org, request.match_info["token"])
    return json_response(org_token_view(record, runtime.clock()))


async def patch_token(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    record = runtime.org_tokens.get(org, request.match_info["token"])
    body = await json_body(request)
    raw_resources = field(body, "resources", list)
    resources, public_read = (
        _resources(raw_resources) if raw_resources is not None else (None, None)
    )
    label, active = field(body, "label", str), field(body, "is_active", bool)
    description = field(body, "description", str)
    if label is None and active is None and resources is None and description is None:
        raise BadRequest("nothing to change: send label, description, is_active and/or resources")
    updated = runtime.org_tokens.update(
        org,
        record,
        actor,
        label=label,
        description=description,
        active=active,
        resources=resources,
        public_read=public_read,
    )
    return json_response(org_token_view(updated, runtime.clock()))


async def delete_token(request: web.Request) -> web.Response:
    runtime, org, actor = org_as_owner(request)
    runtime.org_tokens.delete(org, runtime.org_tokens.get(org, request.match_info["token"]), actor)
    return web.Response(status=204)


def _resources(raw: list[Any]) -> tuple[dict[str, frozenset[str]], bool]:
    resources: dict[str, frozenset[str]] = {}
    public_read = False
    for item in raw:
        if not isinstance(item, dict) or item.get("type") != "TYPE_REPO":
            raise BadRequest("each resource must be an object with type TYPE_REPO")
        path, scopes = item.get("path"), item.get("scopes")
        if not isinstance(path, str) or not isinstance(scopes, list):
            raise BadRequest("each resource needs a path and a list of scopes")
        actions = frozenset(_SCOPES.get(s, "?") if isinstance(s, str) else "?" for s in scopes)
        if "?" in actions or not actions:
            raise BadRequest("resource scopes must be scope-image-pull and/or scope-image-push")
        if path == PUBLIC_REPOSITORIES_PATH:
            if actions != {PULL}:
                raise BadRequest("public repositories can only be pulled")
            public_read = True
        else:
            resources[path] = resources.get(path, frozenset()) | actions
    return resources, public_read
