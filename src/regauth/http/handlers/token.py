"""GET /token (Docker token auth) and POST /token (its OAuth2 form): parse, ask the issuer, render.

The hot path: each reads its input by hand through `common.py` (a model read costs ~0.6 µs
more per request) and renders a dict with orjson. `models.registry` documents both shapes, and
the tests hold the hand-written reads and answers to those models.
"""

from __future__ import annotations

from aiohttp import web

from regauth.domain.credentials import Credentials, credentials, parse_authorization
from regauth.domain.timefmt import rfc3339
from regauth.errors import BadRequest, UnsupportedGrantType
from regauth.http.appkeys import RUNTIME, TOKEN_GRANT, TOKEN_OUTCOME
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

# POST grant types as /metrics labels them.
_GRANTS = {"password": "password", "refresh_token": "refresh"}
# OAuth2 `access_type` (Google's extension, which containerd sends): offline asks for a refresh token.
_ACCESS_TYPES = {"": False, "online": False, "offline": True}


async def get_token(request: web.Request) -> web.Response:
    """Issue a registry bearer token (Docker token authentication)

    The realm a registry's `WWW-Authenticate: Bearer` challenge points clients at (distribution
    `docs/spec/auth/token.md`). Credentials come only from HTTP Basic: a username with a
    personal access token (`rgp_...`); the account password (unless password logins are
    disabled or the account has two-factor authentication on); or a session token (`rgs_...`,
    a `refresh_token` this endpoint issued) with its owner's name or an empty username
    (containerd's fallback for docker identity tokens). Without an `Authorization` header the
    caller is anonymous. Asking for more than the caller may have is not an error: the token
    carries the intersection of what was asked and what is allowed (possibly nothing). Failed
    sign-ins are throttled per client address and username (429).
    """
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
    request[TOKEN_OUTCOME] = grant.outcome
    return json_response(_body(grant))


async def post_token(request: web.Request) -> web.Response:
    """Issue a registry bearer token (OAuth2 form)

    The OAuth2 form of the token endpoint (distribution `docs/spec/auth/oauth.md`), used first
    by containerd, BuildKit and nerdctl when they hold a secret, and by docker and skopeo when
    they hold an identity token. `grant_type=password` takes `username` and `password` (a
    personal access token, or the password as for GET); `grant_type=refresh_token` takes a
    session token issued earlier as a `refresh_token`. Any other grant type is a 400 with
    `error: unsupported_grant_type`. The response adds `scope`, the granted scopes. Errors
    carry OAuth2's `error` and `error_description` besides regauth's usual fields.
    """
    form = await form_body(request)
    request[TOKEN_GRANT] = _GRANTS.get(form.get("grant_type", ""), "other")
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
    request[TOKEN_OUTCOME] = grant.outcome
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


def _body(grant: TokenGrant) -> dict[str, str | int]:
    """`models.registry.RegistryTokenResponse`, as a dict (see the module's docstring)."""
    token = grant.issued.jwt
    body: dict[str, str | int] = {
        "token": token,
        "access_token": token,
        "expires_in": grant.issued.expires_in,
        "issued_at": rfc3339(grant.issued.issued_at),
    }
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    return body
