"""GET /token (Docker token auth) and POST /token (its OAuth2 form): parse, ask the issuer, render."""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web

from regauth.appkeys import TOKEN_ISSUER
from regauth.credentials import Credentials, credentials, parse_authorization
from regauth.errors import BadRequest, UnsupportedGrantType
from regauth.handlers.common import client, json_response
from regauth.services.token_issuer import TokenGrant, TokenRequest
from regauth.timefmt import rfc3339


async def get_token(request: web.Request) -> web.Response:
    query = request.query
    ip, agent = client(request)
    grant = await request.app[TOKEN_ISSUER].issue(
        TokenRequest(
            credentials=parse_authorization(request.headers.get(hdrs.AUTHORIZATION)),
            service=query.get("service"),
            scopes=query.getall("scope", []),
            account=query.get("account"),
            client_ip=ip,
            user_agent=agent,
            offline=query.get("offline_token", "").lower() == "true",
            client_id=query.get("client_id"),
        )
    )
    return json_response(_body(grant))


async def post_token(request: web.Request) -> web.Response:
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest("expected an application/x-www-form-urlencoded form")
    form = await request.post()
    ip, agent = client(request)
    grant = await request.app[TOKEN_ISSUER].issue(
        TokenRequest(
            credentials=_grant_credentials(form),
            service=_field(form, "service"),
            scopes=[_field(form, "scope")],
            account=None,
            client_ip=ip,
            user_agent=agent,
            offline=_field(form, "access_type") == "offline",
            client_id=_field(form, "client_id") or None,
        )
    )
    body = _body(grant)
    body["scope"] = grant.decision.scope_string()
    return json_response(body)


def _grant_credentials(form: Any) -> Credentials:
    grant_type = _field(form, "grant_type")
    if grant_type == "password":
        return credentials(_field(form, "username"), _field(form, "password"))
    if grant_type == "refresh_token":
        # The refresh token is an auto-generated session token; it names its own owner.
        return credentials("", _field(form, "refresh_token"))
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


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"form field {name!r} must be text")
    return value
