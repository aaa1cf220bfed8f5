"""Rendering: every page gets the site's prefix, who is signed in and the CSRF token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web

from regauth.domain.tokens import looks_like_token, parse_token
from regauth.errors import MalformedToken
from regauth.web import boundary, shown_once
from regauth.web.cookies import Envelope
from regauth.web.keys import ONCE, PREFIX, TEMPLATES

R = TypeVar("R", bound=web.StreamResponse)


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    visitor = boundary.EXCHANGE.get().visitor
    envelope = visitor.envelope if visitor else boundary.anonymous(request)
    page = {
        "prefix": request.app[PREFIX],
        "visitor": visitor,
        "csrf_field": boundary.CSRF_FIELD,
        "section": None,  # the navigation entry of the page, if any
        "csrf": boundary.csrf_token(request, envelope),
        **(context or {}),
    }
    text = request.app[TEMPLATES].render(template, page)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def see_other(request: web.Request, path: str) -> web.Response:
    """POST-redirect-GET: 303 to a page of the site (`path` below the prefix)."""
    return web.Response(status=303, headers={"Location": f"{request.app[PREFIX]}{path}"})


def see_secret(request: web.Request, envelope: Envelope, secret: str, path: str) -> web.Response:
    """POST-redirect-GET for a secret made by the POST: 303 to the page at `path` (below the
    prefix), the secret sealed in a cookie for that page alone (shown_once)."""
    response = see_other(request, path)
    sealed = request.app[ONCE].seal(
        secret, bound_to=boundary.csrf_token(request, envelope), now=boundary.now(request)
    )
    shown_once.hand_over(
        response,
        sealed,
        path=f"{request.app[PREFIX]}{path}",
        secure=boundary.served_over_https(request),
    )
    return response


def take_secret(request: web.Request, envelope: Envelope, public_id: str) -> str | None:
    """The secret of the token `public_id` that see_secret() sent this page, if it is still
    there (forget_secret() in the same answer)."""
    secret = request.app[ONCE].open(
        request.cookies.get(shown_once.NAME),
        bound_to=boundary.csrf_token(request, envelope),
        now=boundary.now(request),
    )
    if secret is None or not looks_like_token(secret):
        return None
    try:
        return secret if parse_token(secret).public_id == public_id else None
    except MalformedToken:
        return None


def forget_secret(request: web.Request, response: R) -> R:
    shown_once.taken(response, path=request.path, secure=boundary.served_over_https(request))
    return response
