"""Sign in with the company's OpenID Provider: the start (a redirect to the provider, the
sign-in's secrets sealed in a short-lived cookie bound to this browser) and the callback the
provider sends the browser back to (`<public_url><prefix>/sign-in/oidc/callback`)."""

from __future__ import annotations

import orjson
from aiohttp import web

from regauth.errors import Conflict, Forbidden, NotFound, Unauthorized
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import client, query_text
from regauth.sso.errors import SignOnFailed, SignOnStateMismatch
from regauth.sso.oidc import PendingSignIn
from regauth.web import boundary
from regauth.web.handlers.sign_in import HOME, sentence
from regauth.web.keys import PENDING_SIGN_ON, PREFIX
from regauth.web.pages import render, see_other

CALLBACK = "/sign-in/oidc/callback"
COOKIE = "regauth_oidc"
# What the provider's answer may carry (RFC 6749 §4.1.2, RFC 9207); the rest is not read.
_ANSWER = ("code", "state", "error", "iss")
# What renders the sign-in page again with the reason: the provider's or regauth's "no".
_REFUSALS = (SignOnFailed, Conflict, Forbidden, Unauthorized)


async def start(request: web.Request) -> web.StreamResponse:
    """A link, not a form: a form's answer may not redirect to another site (form-action)."""
    runtime = request.app[RUNTIME]
    if runtime.oidc_sign_in.button is None:
        raise NotFound("single sign-on is not configured")
    authorization = await runtime.oidc_sign_in.begin(_redirect_uri(request))
    response = web.Response(status=303, headers={"Location": authorization.url})
    sealed = request.app[PENDING_SIGN_ON].seal(
        _dump(authorization.pending), bound_to=_binding(request), now=boundary.now(request)
    )
    response.set_cookie(
        COOKIE,
        sealed,
        path=_cookie_path(request),
        max_age=request.app[PENDING_SIGN_ON].lifetime_seconds,
        httponly=True,
        # Lax, not Strict: the browser comes back from the provider's site, a cross-site
        # navigation, and must bring the cookie along.
        samesite="Lax",
        secure=boundary.served_over_https(request),
    )
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    opened = request.app[PENDING_SIGN_ON].open(
        request.cookies.get(COOKIE), bound_to=_binding(request), now=boundary.now(request)
    )
    pending = _load(opened)
    try:
        if pending is None:
            raise SignOnStateMismatch()
        answer = {name: value for name in _ANSWER if (value := _once(request, name)) is not None}
        signed = await runtime.oidc_sign_in.finish(pending, answer, *client(request))
    except _REFUSALS as exc:
        context = {"message": sentence(exc.message), "username": ""}
        return _forget(request, render(request, "sign_in.html", context, status=exc.status))
    await boundary.begin(request, signed.api_session)
    return _forget(request, see_other(request, HOME))


def _redirect_uri(request: web.Request) -> str:
    public_url = request.app[RUNTIME].config.server.public_url.rstrip("/")
    return f"{public_url}{request.app[PREFIX]}{CALLBACK}"


def _cookie_path(request: web.Request) -> str:
    return f"{request.app[PREFIX]}{CALLBACK}"


def _binding(request: web.Request) -> str:
    """This browser's page cookie (the CSRF token derives from its nonce): another browser's
    sealed sign-in does not open here, so an answer cannot be carried to someone else."""
    return boundary.csrf_token(request, boundary.anonymous(request))


def _once(request: web.Request, name: str) -> str | None:
    if len(request.query.getall(name, [])) > 1:
        raise SignOnFailed(f"the identity provider's answer repeats {name!r}")
    return query_text(request, name)


def _forget(request: web.Request, response: web.Response) -> web.Response:
    """Whatever the outcome, a sign-in's secrets are used once."""
    response.del_cookie(
        COOKIE,
        path=_cookie_path(request),
        secure=boundary.served_over_https(request),
        httponly=True,
        samesite="Lax",
    )
    return response


def _dump(pending: PendingSignIn) -> str:
    fields = [
        pending.issuer,
        pending.state,
        pending.nonce,
        pending.code_verifier,
        pending.redirect_uri,
    ]
    return orjson.dumps(fields).decode()


def _load(opened: str | None) -> PendingSignIn | None:
    if opened is None:
        return None
    try:
        fields = orjson.loads(opened)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(fields, list)
        or len(fields) != 5
        or not all(isinstance(f, str) for f in fields)
    ):
        return None
    return PendingSignIn(*fields)
