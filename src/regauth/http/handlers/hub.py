"""The self-service API in Docker Hub's /v2 shapes: sign-in and personal access tokens."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.credentials import credentials
from regauth.domain.models import AccessLevel
from regauth.domain.timefmt import parse_expiry
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import (
    caller,
    client,
    field,
    json_body,
    json_response,
    page_links,
    query_int,
)
from regauth.http.views import hub_token_view

# Docker Hub's level names, broadest last (a request naming several gets the broadest).
_LEVEL_ORDER = [AccessLevel.PUBLIC_READ, AccessLevel.READ, AccessLevel.WRITE, AccessLevel.DELETE]


async def users_login(request: web.Request) -> web.Response:
    body = await json_body(request)
    creds = credentials(
        field(body, "username", str, required=True), field(body, "password", str, required=True)
    )
    token = await request.app[RUNTIME].sessions.login(creds, *client(request))
    return json_response({"token": token})


async def auth_token(request: web.Request) -> web.Response:
    body = await json_body(request)
    creds = credentials(
        field(body, "identifier", str, required=True), field(body, "secret", str, required=True)
    )
    token = await request.app[RUNTIME].sessions.login(creds, *client(request))
    return json_response({"access_token": token})


async def list_tokens(request: web.Request) -> web.Response:
    owner = caller(request).account()  # a PAT session may read its account's tokens
    page = query_int(request, "page", 1, low=1, high=100_000)
    size = query_int(request, "page_size", 10, low=1, high=100)
    runtime = request.app[RUNTIME]
    result = runtime.tokens.page_for(owner, page=page, page_size=size)
    after, before = page_links(request, page=page, size=size, total=result.count)
    now = runtime.clock()
    return json_response(
        {
            "count": result.count,
            "next": after,
            "previous": before,
            "active_count": result.active_count,
            "results": [hub_token_view(r, now) for r in result.tokens],
            # regauth addition: the account's limits, so scripts can see them coming.
            "limits": runtime.tokens.limits_for(owner),
        }
    )


async def create_token(request: web.Request) -> web.Response:
    who = caller(request)
    owner = who.require_account_management("create access tokens")
    body = await json_body(request)
    runtime = request.app[RUNTIME]
    expires = field(body, "expires_at", str)
    created = runtime.tokens.create(
        owner,
        who.actor,
        description=field(body, "token_label", str, required=True),
        access=_level(field(body, "scopes", list, required=True)),
        expires_at=parse_expiry(expires, now=runtime.clock()) if expires else None,
    )
    view = hub_token_view(created.record, runtime.clock(), secret=str(created.token))
    return json_response(view, status=201)


async def get_token(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    record = runtime.tokens.get_owned(caller(request).account(), request.match_info["uuid"])
    return json_response(hub_token_view(record, runtime.clock()))


async def patch_token(request: web.Request) -> web.Response:
    who = caller(request)
    owner = who.require_account_management("change access tokens")
    runtime = request.app[RUNTIME]
    record = runtime.tokens.get_owned(owner, request.match_info["uuid"])
    body = await json_body(request)
    label, active = field(body, "token_label", str), field(body, "is_active", bool)
    if label is None and active is None:
        raise BadRequest("nothing to change: send token_label and/or is_active")
    if label is not None:
        record = runtime.tokens.rename(record, who.actor, label)
    if active is not None:
        record = runtime.tokens.set_active(record, who.actor, active)
    return json_response(hub_token_view(record, runtime.clock()))


async def delete_token(request: web.Request) -> web.Response:
    who = caller(request)
    owner = who.require_account_management("delete access tokens")
    runtime = request.app[RUNTIME]
    runtime.tokens.delete(runtime.tokens.get_owned(owner, request.match_info["uuid"]), who.actor)
    return web.Response(status=204)


def _level(scopes: list[object]) -> AccessLevel:
    levels = []
    for scope in scopes:
        level = AccessLevel.from_hub_scope(scope) if isinstance(scope, str) else None
        if level is None:
            raise BadRequest(
                "unknown scope: use repo:admin, repo:write, repo:read or repo:public_read",
                fields={"scopes": "invalid"},
            )
        levels.append(level)
    if not levels:
        raise BadRequest("scopes must name one access level", fields={"scopes": "required"})
    return max(levels, key=_LEVEL_ORDER.index)
