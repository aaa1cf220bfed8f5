"""What every handler needs: its input read through one boundary, JSON out, the API caller.

Handlers read headers, the query and the body only through the functions here (a test keeps
it so), which decode strictly with `regauth.decoding`: input that is not well-formed is a 4xx
in our error shape, never a 500 or a value that fails later in SQLite, orjson or argon2. A
JSON body or a query becomes its model here (`json_model`, `query_model`); the route table
(`routes.py`) calls them, so most handlers are given their input already typed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Generic, ParamSpec, TypeVar

import msgspec
import orjson
from aiohttp import ClientPayloadError, hdrs, web
from aiohttp.http_exceptions import ContentLengthError, HttpProcessingError
from multidict import CIMultiDict, CIMultiDictProxy

from regauth.domain.callers import ApiCaller
from regauth.domain.models import Actor, Organization
from regauth.errors import BadRequest, ClientDisconnected, RequestTimeout
from regauth.http import decoding
from regauth.http.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.http.forwarding import client_ip
from regauth.runtime import Runtime

MAX_USER_AGENT = 256
_T = TypeVar("_T")
_M = TypeVar("_M", bound=msgspec.Struct)
_P = ParamSpec("_P")

# What reading the body raises when the client hangs up mid-body. aiohttp's connection_lost
# sets ConnectionResetError("Connection lost") on the payload (its ClientConnectionResetError
# is one); the parser, if it sees the end first, a ContentLengthError; EOFError covers
# asyncio.IncompleteReadError. With handler_cancellation on, the handler is cancelled instead.
_PEER_GONE = (ConnectionError, EOFError, ContentLengthError, ClientPayloadError)


# Headers


# The `isascii()` fast paths below repeat decoding's own: on GET /token a function call per
# value was most of the boundary's cost (bench/input_boundary.py).


def header(request: web.Request, name: str, *, ascii_only: bool = True) -> str | None:
    value = request.headers.get(name)
    if value is None or value.isascii():
        return value
    return decoding.header_text(name, value, ascii_only=ascii_only)


def authorization(request: web.Request) -> str | None:
    # Basic and Bearer credentials are base64 or token68 (RFC 7617, RFC 6750): ASCII.
    return header(request, hdrs.AUTHORIZATION)


def client(request: web.Request) -> tuple[str | None, str | None]:
    # A User-Agent may hold UTF-8 (it is stored and shown), never bytes that are not UTF-8.
    agent = header(request, hdrs.USER_AGENT, ascii_only=False)
    # X-Forwarded-For is parsed by client_ip, which keeps only well-formed addresses. Every
    # line counts, in order: a proxy may add a line of its own after the one a client sent,
    # and the first line alone would then be the client's own claim.
    trusted = request.app[TRUSTED_PROXIES].networks
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", ())) if trusted else None
    ip = client_ip(request.remote, forwarded, trusted)
    return ip, agent[:MAX_USER_AGENT] if agent else None


async def caller(request: web.Request) -> ApiCaller:
    ip, agent = client(request)
    return await call(
        request, request.app[RUNTIME].sessions.authenticate, authorization(request), ip, agent
    )


def anonymous_actor(request: web.Request) -> Actor:
    ip, agent = client(request)
    return Actor(name="", kind="anonymous", ip=ip, user_agent=agent)


# The query


def query_text(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw.isascii():
        return raw
    return decoding.query_text(name, raw)


def query_all(request: web.Request, name: str) -> list[str]:
    values: list[str] = request.query.getall(name, [])
    for raw in values:
        if not raw.isascii():
            decoding.query_text(name, raw)
    return values


def query_int(request: web.Request, name: str, default: _T, *, low: int, high: int) -> int | _T:
    raw = request.query.get(name)
    return default if raw is None else decoding.parse_int(name, raw, low=low, high=high)


def query_bool(request: web.Request, name: str, *, default: bool) -> bool:
    raw = request.query.get(name)
    return default if raw is None else decoding.parse_bool(name, raw)


def query_choice(request: web.Request, name: str, choices: Collection[str]) -> str | None:
    raw = request.query.get(name)
    return None if raw is None else decoding.parse_choice(name, raw, choices)


def query_model(request: web.Request, model: type[_M]) -> _M:
    """The query as its model: each parameter read by the strict parser its type calls for."""
    return decoding.query_reader(model)(request.query)


# The body


async def read_body(request: web.Request) -> bytes:
    """The body, its content coding undone, at most `client_max_size` bytes either way (413)."""
    try:
        raw = await request.read()
    except _PEER_GONE as exc:
        raise ClientDisconnected() from exc
    except TimeoutError as exc:
        raise RequestTimeout() from exc
    except HttpProcessingError:  # the body's framing is broken (e.g. a bad chunk)
        raise BadRequest("the request body is malformed") from None
    coding = header(request, hdrs.CONTENT_ENCODING)
    return decoding.decode_content(raw, coding, limit=request.client_max_size)


async def json_body(request: web.Request) -> dict[str, Any]:
    # RFC 8259 §11 defines no charset parameter: JSON is UTF-8 whatever the header says.
    if request.content_type != "application/json":
        raise BadRequest("expected an application/json body")
    return decoding.parse_json(await read_body(request))


async def form_body(
    request: web.Request, *, max_fields: int = decoding.MAX_FORM_FIELDS
) -> dict[str, str]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest("expected an application/x-www-form-urlencoded form")
    decoding.check_form_charset(request.charset)
    return decoding.parse_form(await read_body(request), max_fields=max_fields)


async def json_model(request: web.Request, model: type[_M]) -> _M:
    """The JSON body as its model (decoded with the limits above first), or a 400 naming the
    field that does not fit."""
    return decoding.to_model(await json_body(request), model)


class Body(Generic[_M]):
    """A route's JSON body, read and decoded into its model when the handler asks: after it
    has checked who is calling, so a caller without the right credentials gets its 401 or 403
    whatever it sent, and its body is never read."""

    __slots__ = ("_model", "_request")

    def __init__(self, request: web.Request, model: type[_M]) -> None:
        self._request, self._model = request, model

    async def read(self) -> _M:
        return await json_model(self._request, self._model)


class Params(Generic[_M]):
    """A route's query parameters, read into their model when the handler asks (as `Body`)."""

    __slots__ = ("_model", "_request")

    def __init__(self, request: web.Request, model: type[_M]) -> None:
        self._request, self._model = request, model

    def read(self) -> _M:
        return query_model(self._request, self._model)


# Output


_JSON_HEADERS = CIMultiDictProxy(
    CIMultiDict({hdrs.CONTENT_TYPE: "application/json", hdrs.CACHE_CONTROL: "no-store"})
)
_ENCODER = msgspec.json.Encoder()


def json_response(body: msgspec.Struct | dict[str, str | int], status: int = 200) -> web.Response:
    """A model, encoded by msgspec; or the few fields of a `/token` answer, which orjson
    encodes ~0.3 µs faster (its JWTs are long strings)."""
    raw = _ENCODER.encode(body) if isinstance(body, msgspec.Struct) else orjson.dumps(body)
    return web.Response(status=status, body=raw, headers=_JSON_HEADERS)


def page_links(
    request: web.Request, *, page: int, size: int, total: int
) -> tuple[str | None, str | None]:
    """Docker Hub's `next` and `previous` URLs, from the configured public URL: the client's
    Host header may hold anything (yarl raised on some, and others were echoed back)."""
    base = request.app[RUNTIME].config.server.public_url.rstrip("/")
    link = f"{base}{request.rel_url.raw_path}?page_size={size}&page="
    return (
        f"{link}{page + 1}" if page * size < total else None,
        f"{link}{page - 1}" if page > 1 else None,
    )


# Services


async def call(
    request: web.Request, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """A service operation (or a store read), run in the store's threads: whatever it waits
    for in the database, the event loop goes on serving other requests."""
    return await request.app[RUNTIME].store.run(fn, *args, **kwargs)


# Callers


async def admin(request: web.Request) -> Actor:
    """The admin caller's actor, or 401/403: PATs never administer, whoever owns them."""
    who = await caller(request)
    who.require_admin()
    return who.actor


async def org_as_member(request: web.Request) -> tuple[Runtime, Organization]:
    """The organization named in the path, for a caller who may read it (else 404)."""
    runtime, who = (
        request.app[RUNTIME],
        await caller(request),
    )  # 401 before saying whether it exists
    org = await call(request, runtime.organizations.get, request.match_info["org"])
    await call(request, runtime.organizations.require_member, org, who)
    return runtime, org


async def org_as_owner(request: web.Request) -> tuple[Runtime, Organization, Actor]:
    """The organization named in the path, for a caller who may change it (else 403/404)."""
    runtime, who = (
        request.app[RUNTIME],
        await caller(request),
    )  # 401 before saying whether it exists
    org = await call(request, runtime.organizations.get, request.match_info["org"])
    return runtime, org, await call(request, runtime.organizations.require_owner, org, who)
