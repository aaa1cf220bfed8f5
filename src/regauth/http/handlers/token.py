"""GET /token (Docker token auth) and POST /token (its OAuth2 form): parse, ask the issuer, render."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from regauth.domain.credentials import Credentials, credentials, parse_authorization
from regauth.domain.timefmt import rfc3339
from regauth.errors import BadRequest, UnsupportedGrantType
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import (
    authorization,
    client,
    form_body,
    json_response,
    query_all,
    query_bool,
    query_text,
)
from regauth.services.token_issuer import TokenGrant, TokenRequest

# OAuth2 `access_type` (Google's extension, which containerd sends): offline asks for a refresh token.
_ACCESS_TYPES = {"": False, "online": False, "offline": True}


async def get_token(request: web.Request) -> web.Response:
    ip, agent = client(request)
    grant = await request.app[RUNTIME].token_issuer.issue(
        TokenRequest(
            credentials=parse_authorization(authorization(request)),
            service=query_text(request, "service"),
            scopes=query_all(request, "scope"),
            account=query_text(request, "account"),
            client_ip=ip,
            user_agent=agent,
            offline=query_bool(request, "offline_token", default=False),
            client_id=query_text(request, "client_id"),
        )
    )
    return json_response(_body(grant))


async def post_token(request: web.Request) -> web.Response:
    form = await form_body(request)
    ip, agent = client(request)
    access_type = form.get("access_type", "")
    if access_type not in _ACCESS_TYPES:
        raise BadRequest("access_type must be online or offline")
    grant = await request.app[RUNTIME].token_issuer.issue(
        TokenRequest(
            credentials=_grant_credentials(form),
            service=form.get("service", ""),
            scopes=[form.get("scope", "")],
            account=None,
            client_ip=ip,
            user_agent=agent,
            offline=_ACCESS_TYPES[access_type],
            client_id=form.get("client_id") or None,
        )
    )
    body = _body(grant)
    body["scope"] = grant.decision.scope_string()
    return json_response(body)


def _grant_credentials(form: dict[str, str]) -> Credentials:
    grant_type = form.get("grant_type", "")
    if grant_type == "password":
        return credentials(form.get("username", ""), form.get("password", ""))
    if grant_type == "refresh_token":
        # The refresh token is an auto-generated session token; it names its own owner.
        return credentials("", form.get("refresh_token", ""))
    raise UnsupportedGrantType("grant_type must be 'password' or 'refresh_token'")


def _body(grant: TokenGrant) -> dict[str, Any]:
    token = grant.issued.jwt
    body: dict[str, Any] = {
        "token": token,
        "access_token": token,
        "expires_in": grant.issued.expires_in,
        "issued_at": rfc3339(grant.issued.issued_at),
    }
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    return body
