"""What every handler needs: the client's address and agent, JSON in and out, the API caller."""

from __future__ import annotations

import json
from typing import Any

import orjson
from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy

from regauth.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.errors import BadRequest
from regauth.forwarding import client_ip
from regauth.models import Actor, Organization
from regauth.runtime import Runtime
from regauth.services.sessions import ApiCaller

MAX_USER_AGENT = 256


def client(request: web.Request) -> tuple[str | None, str | None]:
    agent = request.headers.get(hdrs.USER_AGENT)
    ip = client_ip(
        request.remote, request.headers.get("X-Forwarded-For"), request.app[TRUSTED_PROXIES]
    )
    return ip, agent[:MAX_USER_AGENT] if agent else None


def caller(request: web.Request) -> ApiCaller:
    ip, agent = client(request)
    return request.app[RUNTIME].sessions.authenticate(
        request.headers.get(hdrs.AUTHORIZATION), ip, agent
    )


def anonymous_actor(request: web.Request) -> Actor:
    ip, agent = client(request)
    return Actor(name="", kind="anonymous", ip=ip, user_agent=agent)


async def json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise BadRequest("expected an application/json body")
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type, *, required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"field {name!r} is required", fields={name: "required"})
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"field {name!r} must be {kind.__name__}", fields={name: "invalid"})
    return value


_JSON_HEADERS = CIMultiDictProxy(
    CIMultiDict({hdrs.CONTENT_TYPE: "application/json", hdrs.CACHE_CONTROL: "no-store"})
)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), headers=_JSON_HEADERS)


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name!r} must be between {low} and {high}")
    return value


def admin(request: web.Request) -> Actor:
    """The admin caller's actor, or 401/403: PATs never administer, whoever owns them."""
    who = caller(request)
    who.require_admin()
    return who.actor


def org_as_member(request: web.Request) -> tuple[Runtime, Organization]:
    """The organization named in the path, for a caller who may read it (else 404)."""
    runtime, who = request.app[RUNTIME], caller(request)  # 401 before saying whether it exists
    org = runtime.organizations.get(request.match_info["org"])
    runtime.organizations.require_member(org, who)
    return runtime, org


def org_as_owner(request: web.Request) -> tuple[Runtime, Organization, Actor]:
    """The organization named in the path, for a caller who may change it (else 403/404)."""
    runtime, who = request.app[RUNTIME], caller(request)  # 401 before saying whether it exists
    org = runtime.organizations.get(request.match_info["org"])
    return runtime, org, runtime.organizations.require_owner(org, who)
