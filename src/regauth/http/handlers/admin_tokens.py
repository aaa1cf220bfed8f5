"""Admin API: personal access tokens across all users."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.durations import parse_duration
from regauth.domain.models import TokenQuery
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, Params, admin, call
from regauth.http.models.admin import PatchTokenRequest, Token, TokenList, TokenSearch
from regauth.http.models.base import NO_CONTENT, NoContent


async def list_tokens(request: web.Request, params: Params[TokenSearch]) -> TokenList:
    """Search personal access tokens

    Tokens across all users, newest first, filtered (`expiring=7d`: the active ones expiring
    within 7 days); in regauth's own token shape.
    """
    await admin(request)
    query, runtime = params.read(), request.app[RUNTIME]
    within = parse_duration(query.expiring, name="expiring") if query.expiring else None
    search = TokenQuery(
        owner=query.user,
        generated_by=query.kind,
        state=query.state,
        last_used_before=query.last_used_before,
        last_used_after=query.last_used_after,
        expiring_before=None if within is None else int(runtime.clock()) + within,
        limit=query.limit,
        offset=query.offset,
    )
    now = runtime.clock()
    return TokenList(
        tokens=[Token.of(r, now) for r in await call(request, runtime.tokens.search, search)]
    )


async def get_token(request: web.Request) -> Token:
    """Get a personal access token

    Any user's token by its public id.
    """
    await admin(request)
    runtime = request.app[RUNTIME]
    return Token.of(
        await call(request, runtime.tokens.get, request.match_info["id"]), runtime.clock()
    )


async def patch_token(request: web.Request, body: Body[PatchTokenRequest]) -> Token:
    """Change a personal access token

    Rename it and/or (de)activate it; send at least one field (else 400).
    """
    actor = await admin(request)
    runtime = request.app[RUNTIME]
    record = await call(request, runtime.tokens.get, request.match_info["id"])
    change = await body.read()
    if change.description is None and change.active is None:
        raise BadRequest("nothing to change: send description and/or active")
    record = await call(
        request,
        runtime.tokens.change,
        record,
        actor,
        description=change.description,
        active=change.active,
    )
    return Token.of(record, runtime.clock())


async def delete_token(request: web.Request) -> NoContent:
    """Delete a personal access token

    Deletes any user's token permanently.
    """
    actor = await admin(request)
    runtime = request.app[RUNTIME]
    await call(
        request,
        runtime.tokens.delete,
        await call(request, runtime.tokens.get, request.match_info["id"]),
        actor,
    )
    return NO_CONTENT
