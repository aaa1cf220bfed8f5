"""Admin API: personal access tokens across all users."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import TokenQuery, TokenState
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import (
    admin,
    field,
    json_body,
    json_response,
    query_choice,
    query_int,
    query_text,
)
from regauth.http.views import token_view

_STATES = frozenset(s.value for s in TokenState)
_KINDS = frozenset({"manual", "auto"})  # TokenRecord.generated_by
_EPOCH = 2**40


async def list_tokens(request: web.Request) -> web.Response:
    admin(request)
    runtime = request.app[RUNTIME]
    state = query_choice(request, "state", _STATES)
    query = TokenQuery(
        owner=query_text(request, "user"),
        generated_by=query_choice(request, "kind", _KINDS),
        state=TokenState(state) if state else None,
        last_used_before=query_int(request, "last_used_before", None, low=0, high=_EPOCH),
        last_used_after=query_int(request, "last_used_after", None, low=0, high=_EPOCH),
        limit=query_int(request, "limit", 100, low=1, high=1000),
        offset=query_int(request, "offset", 0, low=0, high=10**9),
    )
    now = runtime.clock()
    return json_response({"tokens": [token_view(r, now) for r in runtime.tokens.search(query)]})


async def get_token(request: web.Request) -> web.Response:
    admin(request)
    runtime = request.app[RUNTIME]
    return json_response(token_view(runtime.tokens.get(request.match_info["id"]), runtime.clock()))


async def patch_token(request: web.Request) -> web.Response:
    actor = admin(request)
    runtime = request.app[RUNTIME]
    record = runtime.tokens.get(request.match_info["id"])
    body = await json_body(request)
    description, active = field(body, "description", str), field(body, "active", bool)
    if description is None and active is None:
        raise BadRequest("nothing to change: send description and/or active")
    if description is not None:
        record = runtime.tokens.rename(record, actor, description)
    if active is not None:
        record = runtime.tokens.set_active(record, actor, active)
    return json_response(token_view(record, runtime.clock()))


async def delete_token(request: web.Request) -> web.Response:
    actor = admin(request)
    runtime = request.app[RUNTIME]
    runtime.tokens.delete(runtime.tokens.get(request.match_info["id"]), actor)
    return web.Response(status=204)
