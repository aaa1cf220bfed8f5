"""The one middleware: request id, JSON error rendering, and one access-log line per request."""

from __future__ import annotations

import logging
import re
import time

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from regauth import ids, logs
from regauth.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RegauthError,
)

log = logging.getLogger("regauth.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HTTP_ERRORS: dict[int, type[RegauthError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def error_response(error: RegauthError) -> web.Response:
    return web.Response(
        status=error.status,
        body=orjson.dumps(error.body()),
        content_type="application/json",
        headers=error.headers(),
    )


def make_middleware(*, access_log: logs.AccessLog | None) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if incoming and _REQUEST_ID.fullmatch(incoming) else ids.request_id()
        logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            response = await handler(request)
        except RegauthError as exc:
            response = error_response(exc)
            if exc.status >= 500:
                log.error("request_failed", extra={"fields": {"error": exc.message}})
        except web.HTTPException as exc:
            # aiohttp's own answers (no route, wrong method, body too large) in our error shape.
            cls = _HTTP_ERRORS.get(exc.status, BadRequest)
            response = error_response(cls())
            response.set_status(exc.status)
            if "Allow" in exc.headers:  # a 405 must say what is allowed (RFC 9110 §15.5.6)
                response.headers["Allow"] = exc.headers["Allow"]
        except Exception:
            # Never a stack trace to the client; the log gets the exception type and place.
            log.exception("unhandled_error")
            response = error_response(RegauthError("internal error"))
        response.headers["X-Request-Id"] = rid
        if access_log is not None:
            ms = round((time.perf_counter() - started) * 1000, 2)
            access_log.write(request.method, request.path, response.status, ms, request.remote, rid)
        return response

    return middleware
