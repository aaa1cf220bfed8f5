"""The SCIM adapter's plumbing: /scim/v2's routes, each authenticated by a SCIM key before its
handler runs, its input read through the boundary (handlers/common.py, decoding.py), its
answer in application/scim+json, and every error in SCIM's error shape (RFC 7644 §3.12),
aiohttp's own (no such path, a method not allowed, a body too large) included.

SCIM is its own protocol, described by its own discovery endpoints (/ServiceProviderConfig,
/Schemas, /ResourceTypes): these routes are not in the OpenAPI document of the Hub-shaped API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import msgspec
from aiohttp import hdrs, web

from regauth.domain.models import Actor
from regauth.domain.scim import resources
from regauth.domain.scim.problems import INVALID_SYNTAX, INVALID_VALUE, bad
from regauth.domain.scim.schemas import ResourceType
from regauth.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RegauthError,
    Unauthorized,
)
from regauth.http import decoding
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers import common
from regauth.http.middleware import expect_continue
from regauth.http.models.scim import ScimError
from regauth.runtime import Runtime

log = logging.getLogger("regauth.scim")
PREFIX = "/scim/v2"
MEDIA = "application/scim+json"
_BODY_TYPES = (MEDIA, "application/json")
_ENCODER = msgspec.json.Encoder()
_INDEX_DIGITS = 9
_M = TypeVar("_M", bound=msgspec.Struct)
_P = ParamSpec("_P")
_T = TypeVar("_T")


class NotImplementedHere(RegauthError):
    status = 501
    code = "UNSUPPORTED"
    default_message = "not implemented"


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's answer: a JSON body (a served resource or a message model), its status,
    and for a single resource its location and version."""

    body: dict[str, Any] | msgspec.Struct | None
    status: int = 200


class ScimRequest:
    """What a SCIM handler is given: the runtime, the SCIM key's actor, and its input."""

    def __init__(self, request: web.Request, actor: Actor) -> None:
        self.request = request
        self.runtime: Runtime = request.app[RUNTIME]
        self.actor = actor

    @property
    def id(self) -> str:
        return self.request.match_info["id"]

    async def call(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await common.call(self.request, fn, *args, **kwargs)

    async def body(self) -> dict[str, Any]:
        media = (common.header(self.request, hdrs.CONTENT_TYPE) or "").partition(";")[0]
        if media.strip().lower() not in _BODY_TYPES:
            raise bad(INVALID_SYNTAX, f"expected an {MEDIA} (or application/json) body")
        raw = await common.read_body(self.request)
        try:
            return decoding.parse_json(raw)
        except BadRequest as exc:
            raise bad(INVALID_SYNTAX, exc.message) from None

    async def model(self, model: type[_M]) -> _M:
        body = await self.body()
        try:
            return msgspec.convert(body, model)
        except msgspec.ValidationError as exc:
            raise bad(INVALID_SYNTAX, str(exc)[:200]) from None

    def query(self, name: str) -> str | None:
        return common.query_text(self.request, name)

    def index(self, name: str) -> int | None:
        """startIndex and count: integers; SCIM takes out-of-range values as the nearest one
        (§3.4.2.4), so only what is not an integer is refused."""
        raw = self.query(name)
        if raw is None:
            return None
        text = raw.strip()
        digits = text[1:] if text.startswith("-") else text
        if not digits.isdigit() or not digits.isascii() or len(digits) > _INDEX_DIGITS:
            raise bad(INVALID_VALUE, f"{name}: expected an integer")
        return int(text)

    def projected(self, kind: ResourceType, served: dict[str, Any]) -> dict[str, Any]:
        include = resources.selection(kind, self.query("attributes"))
        exclude = resources.selection(kind, self.query("excludedAttributes"))
        return resources.project(served, kind, include, None if include else exclude)


Handler = Callable[[ScimRequest], Awaitable[Answer]]


def _wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        try:
            runtime = request.app[RUNTIME]
            ip, agent = common.client(request)
            actor = await common.call(
                request, runtime.scim.authenticate, common.authorization(request), ip, agent
            )
            return _json(await handler(ScimRequest(request, actor)))
        except RegauthError as exc:
            if exc.log_event is not None:
                raise  # about the connection: the middleware's one line and a closed socket
            return error_response(exc)
        except web.HTTPException as exc:  # a body over the limit, read by aiohttp
            return error_response(_http_error(exc.status))
        except Exception:
            log.exception("unhandled_error")
            return error_response(RegauthError("internal error"))

    return serve


def _json(answer: Answer) -> web.Response:
    if answer.body is None:
        return web.Response(status=204)
    headers = {hdrs.CONTENT_TYPE: MEDIA, hdrs.CACHE_CONTROL: "no-store"}
    if isinstance(answer.body, dict):
        meta = answer.body.get("meta")
        if isinstance(meta, dict) and "version" in meta and "id" in answer.body:
            headers[hdrs.ETAG] = meta["version"]
            if answer.status == 201:
                headers[hdrs.LOCATION] = meta["location"]
    return web.Response(status=answer.status, body=_ENCODER.encode(answer.body), headers=headers)


def error_response(error: RegauthError) -> web.Response:
    scim_type = error.fields.get("scimType")
    body = ScimError(
        status=str(error.status),
        detail=error.message,
        scimType=scim_type if isinstance(scim_type, str) else msgspec.UNSET,
    )
    headers = {hdrs.CONTENT_TYPE: MEDIA, **error.headers()}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="regauth-scim"'
    return web.Response(status=error.status, body=_ENCODER.encode(body), headers=headers)


def _http_error(status: int) -> RegauthError:
    known: dict[int, type[RegauthError]] = {
        404: NotFound,
        405: MethodNotAllowed,
        413: PayloadTooLarge,
    }
    return known.get(status, BadRequest)()


async def _no_such_path(request: web.Request) -> web.Response:
    return error_response(NotFound("no such SCIM endpoint"))


async def _not_allowed(request: web.Request) -> web.Response:
    return error_response(MethodNotAllowed())


async def not_implemented(scim: ScimRequest) -> Answer:
    raise NotImplementedHere("not supported by regauth: see /scim/v2/ServiceProviderConfig")


@dataclass(frozen=True, slots=True)
class ScimRoute:
    method: str
    path: str  # under PREFIX
    handler: Handler


def add_scim_routes(app: web.Application, routes: tuple[ScimRoute, ...]) -> None:
    """Each path's methods, then a catch-all of the path that answers 405 (aiohttp tries a
    resource's routes in order), then one for any path under the prefix that answers 404."""
    by_path: dict[str, list[ScimRoute]] = {}
    for route in routes:
        by_path.setdefault(route.path, []).append(route)
    for path, group in by_path.items():
        for route in group:
            app.router.add_route(
                route.method, PREFIX + path, _wrap(route.handler), expect_handler=expect_continue
            )
        app.router.add_route("*", PREFIX + path, _not_allowed)
    app.router.add_route("*", PREFIX + "{tail:(/.*)?}", _no_such_path)
