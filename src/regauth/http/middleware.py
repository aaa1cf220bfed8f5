"""The one middleware: request id, JSON error rendering, and one access-log line per request.

Also the Expect handler every route uses: both run before any handler reads its input.
"""

from __future__ import annotations

import logging
import re
import time

import orjson
from aiohttp import HttpVersion11, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware

from regauth import logs
from regauth.domain import ids, redaction
from regauth.errors import (
    BadRequest,
    ClientDisconnected,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RegauthError,
    Unavailable,
)
from regauth.http.appkeys import TOKEN_GRANT, TOKEN_OUTCOME
from regauth.metrics import counts
from regauth.metrics.counts import Metrics

log = logging.getLogger("regauth.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HTTP_ERRORS: dict[int, type[RegauthError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def _usable_request_id(incoming: str) -> bool:
    """A client's own id is kept when it is short and plain, and not a credential: a PAT
    fits the character rule, and an id is echoed back and put on every log line."""
    return bool(_REQUEST_ID.fullmatch(incoming)) and redaction.scrub(incoming) == incoming


def error_response(error: RegauthError) -> web.Response:
    return web.Response(
        status=error.status,
        body=orjson.dumps(error.body()),
        content_type="application/json",
        headers=error.headers(),
    )


# /token's error answers as `regauth_token_requests_total` outcomes (its 200s say their own).
_OUTCOMES = {
    400: counts.BAD_REQUEST,
    401: counts.UNAUTHORIZED,
    408: counts.BAD_REQUEST,
    413: counts.BAD_REQUEST,
    415: counts.BAD_REQUEST,
    429: counts.THROTTLED,
    431: counts.BAD_REQUEST,
    503: counts.UNAVAILABLE,
}


def make_middleware(
    *, access_log: logs.AccessLog | None, metrics: Metrics | None = None
) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if incoming and _usable_request_id(incoming) else ids.request_id()
        logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            response = await handler(request)
        except RegauthError as exc:
            if exc.log_event is not None:
                response = _connection_error(exc, exc.__cause__)
            else:
                response = error_response(exc)
            if metrics is not None and isinstance(exc, Unavailable):
                metrics.database_errors += 1
            if exc.status >= 500:
                log.error("request_failed", extra={"fields": {"error": exc.message}})
        except web.HTTPException as exc:
            # aiohttp's own answers (no route, wrong method, body too large) in our error shape.
            cls = _HTTP_ERRORS.get(exc.status, BadRequest)
            response = error_response(cls())
            response.set_status(exc.status)
            if "Allow" in exc.headers:  # a 405 must say what is allowed (RFC 9110 §15.5.6)
                response.headers["Allow"] = exc.headers["Allow"]
        except ConnectionError as exc:
            # The peer went away outside `common.read_body` (which says so itself): the same line.
            response = _connection_error(ClientDisconnected(), exc)
        except HttpProcessingError:
            # A body whose framing broke (a bad chunk), read outside `common.read_body`.
            response = error_response(BadRequest("the request body is malformed"))
        except Exception:
            # Never a stack trace to the client; the log gets the exception type and place.
            log.exception("unhandled_error")
            response = error_response(RegauthError("internal error"))
        response.headers["X-Request-Id"] = rid
        if metrics is not None and request.path == "/token":
            _count_token_request(metrics, request, response.status, started)
        if access_log is not None:
            ms = round((time.perf_counter() - started) * 1000, 2)
            access_log.write(request.method, request.path, response.status, ms, request.remote, rid)
        return response

    return middleware


def _count_token_request(
    metrics: Metrics, request: web.Request, status: int, started: float
) -> None:
    outcome = request.get(TOKEN_OUTCOME) or _OUTCOMES.get(status, counts.ERROR)
    grant = "get" if request.method == "GET" else request.get(TOKEN_GRANT, "other")
    metrics.token_request(outcome, grant, time.perf_counter() - started)


def _connection_error(error: RegauthError, cause: BaseException | None) -> web.Response:
    """An answer about the connection rather than the request (the client hung up, or its body
    did not arrive in time): one short log line, the cause's type only, and the connection
    closed after the answer, if anyone still reads it. A slowloris run made 1,000 tracebacks."""
    log.info(error.log_event or "client_disconnected", extra={"fields": {"cause": _name(cause)}})
    response = error_response(error)
    response.force_close()
    return response


def _name(cause: BaseException | None) -> str | None:
    return None if cause is None else type(cause).__name__


async def expect_continue(request: web.Request) -> None:
    """`Expect: 100-continue` gets its interim answer; any other expectation is ignored, which
    RFC 9110 §10.1.1 allows (a 417 is a MAY). aiohttp's own handler answered those with a
    text/plain 417 echoing the header, and with a 500 for bytes that are not UTF-8."""
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version == HttpVersion11 and expect.lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the interim answer is not part of the response
