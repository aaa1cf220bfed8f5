"""The self-service API in Docker Hub's /v2 shapes: sign-in and personal access tokens."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.credentials import credentials
from regauth.domain.durations import parse_duration
from regauth.domain.models import AccessLevel
from regauth.domain.timefmt import parse_expiry
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, Params, call, caller, client, page_links
from regauth.http.models.account import (
    AccessToken,
    AccessTokenLimits,
    AuthCreateTokenRequest,
    AuthCreateTokenResponse,
    CreateAccessTokenRequest,
    GetAccessTokensResponse,
    PatchAccessTokenRequest,
    PostUsersLoginSuccessResponse,
    UsersLoginRequest,
)
from regauth.http.models.base import NO_CONTENT, NoContent
from regauth.http.models.hygiene import AccessTokenListQuery
from regauth.services.access_tokens import DEFAULT_EXPIRY

# Docker Hub's level names, broadest last (a request naming several gets the broadest).
_LEVEL_ORDER = [AccessLevel.PUBLIC_READ, AccessLevel.READ, AccessLevel.WRITE, AccessLevel.DELETE]


async def users_login(
    request: web.Request, body: Body[UsersLoginRequest]
) -> PostUsersLoginSuccessResponse:
    """Create an authentication token (Docker Hub shape)

    Docker Hub's `PostUsersLogin`: trade a username and a password or personal access token
    for a session JWT, sent afterwards as `Authorization: Bearer <token>` to the `/v2` account
    routes and `/admin/v1`. What the session may do follows from the secret: a password session
    may manage the account (and, for an admin, use the admin API); a session opened with a
    personal access token may only read. The session lasts `auth.session_ttl_seconds` (default
    1800) and dies with the token that opened it. If the account has two-factor authentication
    on, the password alone is answered with a 401 carrying `login_2fa_token`, to be sent with a
    code to `/v2/users/2fa-login` (a personal access token needs no second factor). Docker Hub
    deprecates this route in favour of `/v2/auth/token`; regauth serves both the same way.
    """
    login = await body.read()
    creds = credentials(login.username, login.password)
    token = await request.app[RUNTIME].sessions.login(creds, *client(request))
    return PostUsersLoginSuccessResponse(token=token)


async def auth_token(
    request: web.Request, body: Body[AuthCreateTokenRequest]
) -> AuthCreateTokenResponse:
    """Create access token (Docker Hub shape)

    Docker Hub's `AuthCreateAccessToken`: the same session as `/v2/users/login`, asked for with
    `identifier`/`secret` and returned as `access_token`.
    """
    login = await body.read()
    creds = credentials(login.identifier, login.secret)
    token = await request.app[RUNTIME].sessions.login(creds, *client(request))
    return AuthCreateTokenResponse(access_token=token)


async def list_tokens(
    request: web.Request, params: Params[AccessTokenListQuery]
) -> GetAccessTokensResponse:
    """List personal access tokens (Docker Hub shape)

    The caller's own tokens, newest first, a page at a time, including the session tokens
    sign-ins made (`generated_by: auto`); with `expiring=7d`, only the active ones expiring
    within 7 days. A session opened with a personal access token may read this list. Secrets
    are never shown: `token` is `""`. An admin API key has no account of its own: 403.
    """
    owner = (await caller(request)).account()  # a PAT session may read its account's tokens
    query, runtime = params.read(), request.app[RUNTIME]
    within = parse_duration(query.expiring, name="expiring") if query.expiring else None
    result = await call(
        request,
        runtime.tokens.page_for,
        owner,
        page=query.page,
        page_size=query.page_size,
        expiring_within=within,
    )
    after, before = page_links(request, page=query.page, size=query.page_size, total=result.count)
    now = runtime.clock()
    return GetAccessTokensResponse(
        count=result.count,
        next=after,
        previous=before,
        active_count=result.active_count,
        results=[AccessToken.of(r, now) for r in result.tokens],
        limits=AccessTokenLimits(**await call(request, runtime.tokens.limits_for, owner)),
    )


async def create_token(request: web.Request, body: Body[CreateAccessTokenRequest]) -> AccessToken:
    """Create personal access token (Docker Hub shape)

    Creates a token for the caller's account and returns it with its secret in `token`, the
    only time the secret is shown. An account may create `limits.token_creations_per_hour`
    tokens an hour (429) and hold `limits.max_active_tokens` active ones (409); the list shows
    both in `limits`. regauth's `repositories` makes it a fine-grained token, limited to the
    repositories listed; `allow_from` binds it to client networks.
    """
    who = await caller(request)
    owner = who.require_account_management("create access tokens")
    new, runtime = await body.read(), request.app[RUNTIME]
    created = await call(
        request,
        runtime.tokens.create,
        owner,
        who.actor,
        description=new.token_label,
        access=_level(new.scopes),
        expires_at=parse_expiry(new.expires_at, now=runtime.clock())
        if new.expires_at
        else DEFAULT_EXPIRY,
        repositories=new.repositories,
        allow_from=new.allow_from,
    )
    return AccessToken.of(created.record, runtime.clock(), secret=str(created.token))


async def get_token(request: web.Request) -> AccessToken:
    """Get personal access token (Docker Hub shape)

    One of the caller's tokens; `token` is `""`. Another user's token is a 404. A session
    opened with a personal access token may read.
    """
    runtime = request.app[RUNTIME]
    record = await call(
        request,
        runtime.tokens.get_owned,
        (await caller(request)).account(),
        request.match_info["uuid"],
    )
    return AccessToken.of(record, runtime.clock())


async def patch_token(request: web.Request, body: Body[PatchAccessTokenRequest]) -> AccessToken:
    """Update personal access token (Docker Hub shape)

    Rename the token and/or enable or disable it; send at least one field (else 400).
    """
    who = await caller(request)
    owner = who.require_account_management("change access tokens")
    runtime = request.app[RUNTIME]
    record = await call(request, runtime.tokens.get_owned, owner, request.match_info["uuid"])
    change = await body.read()
    if change.token_label is None and change.is_active is None:
        raise BadRequest("nothing to change: send token_label and/or is_active")
    record = await call(
        request,
        runtime.tokens.change,
        record,
        who.actor,
        description=change.token_label,
        active=change.is_active,
    )
    return AccessToken.of(record, runtime.clock())


async def delete_token(request: web.Request) -> NoContent:
    """Delete personal access token (Docker Hub shape)

    Deletes the token permanently; registry tokens already issued with it live out their few
    minutes.
    """
    who = await caller(request)
    owner = who.require_account_management("delete access tokens")
    runtime = request.app[RUNTIME]
    await call(
        request,
        runtime.tokens.delete,
        await call(request, runtime.tokens.get_owned, owner, request.match_info["uuid"]),
        who.actor,
    )
    return NO_CONTENT


def _level(scopes: list[str]) -> AccessLevel:
    levels = []
    for scope in scopes:
        level = AccessLevel.from_hub_scope(scope)
        if level is None:
            raise BadRequest(
                "unknown scope: use repo:admin, repo:write, repo:read or repo:public_read",
                fields={"scopes": "invalid"},
            )
        levels.append(level)
    if not levels:
        raise BadRequest("scopes must name one access level", fields={"scopes": "required"})
    return max(levels, key=_LEVEL_ORDER.index)
