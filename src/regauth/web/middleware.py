"""The pages' middleware: security headers on every answer, the cookie written once, errors
as pages (never a stack trace, never a secret: an error's message is written for clients)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from regauth.errors import RegauthError
from regauth.http.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.http.forwarding import forwarded_https
from regauth.web import cookies
from regauth.web.boundary import EXCHANGE, Exchange, SignInRequired, end
from regauth.web.keys import PREFIX, SIGNER
from regauth.web.pages import render

log = logging.getLogger("regauth.web")

# No inline script or style anywhere: what runs is /static/*.js, what styles is /static/*.css.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_TITLES = {400: "Bad request", 401: "Not accepted", 403: "Not allowed", 404: "Not found"}


@web.middleware
async def pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    EXCHANGE.set(Exchange(request.app[SIGNER].load(request.cookies.get(cookies.NAME))))
    try:
        if request.path == request.app[PREFIX]:  # "/ui" itself: no route of the pages is ""
            response: web.StreamResponse = web.Response(
                status=308, headers={"Location": f"{request.app[PREFIX]}/"}
            )
        else:
            response = await handler(request)
    except SignInRequired as exc:
        end(request)  # a session that ended is dropped from the cookie
        response = render(request, "sign_in.html", {"message": exc.message}, status=401)
    except RegauthError as exc:
        if exc.status >= 500:
            log.error("page_failed", extra={"fields": {"error": exc.message}})
        response = _error_page(request, exc.status, exc.message, exc.headers())
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _error_page(request, exc.status, exc.reason, {})
    except Exception:
        # Never a stack trace to the browser; the log gets the exception's type and place.
        log.exception("unhandled_error")
        response = _error_page(request, 500, "internal error", {})
    _secure(request, response)
    return response


def _error_page(
    request: web.Request, status: int, message: str, headers: dict[str, str]
) -> web.Response:
    title = _TITLES.get(status, "Something went wrong")
    response = render(request, "error.html", {"title": title, "message": message}, status=status)
    response.headers.update(headers)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_HEADERS)
    static = request.path.startswith(f"{request.app[PREFIX]}/static/")
    # Pages show account data (and once, a secret): never stored by a browser or a proxy.
    response.headers["Cache-Control"] = "no-cache" if static else "no-store"
    envelope = EXCHANGE.get().outgoing
    if envelope is not None and not response.prepared:
        response.set_cookie(
            cookies.NAME,
            request.app[SIGNER].dump(envelope),
            path=f"{request.app[PREFIX]}/",
            httponly=True,
            samesite="Lax",
            secure=_https(request),
        )


def _https(request: web.Request) -> bool:
    public_url = request.app[RUNTIME].config.server.public_url
    return (
        public_url.startswith("https://")
        or request.secure
        or forwarded_https(
            request.remote,
            request.headers.get("X-Forwarded-Proto"),
            request.app[TRUSTED_PROXIES].networks,
        )
    )
