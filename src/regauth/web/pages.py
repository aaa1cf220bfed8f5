"""Rendering: every page gets the site's prefix, who is signed in and the CSRF token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from regauth.web import boundary
from regauth.web.keys import PREFIX


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
    return aiohttp_jinja2.render_template(template, request, page, status=status)


def see_other(request: web.Request, path: str) -> web.Response:
    """POST-redirect-GET: 303 to a page of the site (`path` below the prefix)."""
    return web.Response(status=303, headers={"Location": f"{request.app[PREFIX]}{path}"})
