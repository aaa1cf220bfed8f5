"""GET /token (Docker token auth) and POST /token (its OAuth2 form): parse, ask the issuer, render."""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web

from regauth.appkeys import TOKEN_ISSUER
from regauth.credentials import credentials, parse_authorization
from regauth.errors import BadRequest, UnsupportedGrantType
from regauth.handlers.common import client, json_response
from regauth.services.token_issuer import TokenGrant, TokenRequest
from regauth.timefmt import rfc3339


async def get_token(request: web.Request) -> web.Response:
    query = request.query
    grant = await request.app[TOKEN_ISSUER].issue(
        TokenRequest(
            credentials=parse_authorization(request.headers.get(hdrs.AUTHORIZATION)),
            service=query.get("service"),
            scopes=query.getall("scope", []),
            account=query.get("account"),
            **_client(request),
        )
    )
    return json_response(_body(grant))


async def post_token(request: web.Request) -> web.Response:
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest("expected an application/x-www-form-urlencoded form")
    form = await request.post()
    grant_type = _field(form, "grant_type")
    if grant_type == "refresh_token":
        raise UnsupportedGrantType("refresh tokens are not issued by this server")
    if grant_type != "password":
        raise UnsupportedGrantType("grant_type must be 'password'")
    grant = await request.app[TOKEN_ISSUER].issue(
        TokenRequest(
            credentials=credentials(_field(form, "username"), _field(form, "password")),
            service=_field(form, "service"),
            scopes=[_field(form, "scope")],
            account=None,
            **_client(request),
        )
    )
    body = _body(grant)
    body["scope"] = grant.decision.scope_string()
    return json_response(body)


def _body(grant: TokenGrant) -> dict[str, Any]:
    token = grant.issued.jwt
    return {
        "token": token,
        "access_token": token,
        "expires_in": grant.issued.expires_in,
        "issued_at": rfc3339(grant.issued.issued_at),
    }


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"form field {name!r} must be text")
    return value


def _client(request: web.Request) -> dict[str, str | None]:
    ip, agent = client(request)
    return {"client_ip": ip, "user_agent": agent}
