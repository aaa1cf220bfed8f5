"""What a route is: method, path, handler, input and output models, and its answers.

`route()` checks with mypy that a handler takes the body or query model the route names and
returns its response model, and wraps it for aiohttp: the handler gets a `Body` or `Params`
that reads and decodes its input into the model when asked (after the caller is checked), and
its result is encoded with the route's status. The same `Route` is what `regauth.http.openapi`
documents, so what is served and what is documented cannot differ.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, Required, TypedDict, TypeVar, Unpack, overload

from aiohttp import web
from aiohttp.typedefs import Handler

from regauth.http.handlers import common
from regauth.http.models.base import Model, NoContent, Query, Request, Response

JSON: Final = "application/json"
FORM: Final = "application/x-www-form-urlencoded"
Security = tuple[dict[str, list[str]], ...]
_PATTERN = re.compile(r"\{(\w+):[^}]*\}")

_B = TypeVar("_B", bound=Request)
_Q = TypeVar("_Q", bound=Query)
_R = TypeVar("_R", bound=Response | NoContent)


@dataclass(frozen=True, slots=True)
class PathParam:
    """A `{name}` of a path, documented once (`component` names it in the document)."""

    name: str
    component: str
    description: str
    example: str | None = None


@dataclass(frozen=True, slots=True, eq=False)  # one object per kind of access: by identity
class Access:
    """Who may call a route: its security requirements, the sentence that says so at the end
    of the operation's description, and the error answers that follow (401, 403, 404)."""

    security: Security
    errors: tuple[int, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """An error answer of a route (the error body): its status and what it means here, or
    without a description the document's shared answer for the status (`NotFound`, ...)."""

    status: int
    description: str | None = None


class Info(TypedDict, total=False):
    """What a route says besides its input and output (everything the document needs)."""

    operation_id: Required[str]
    tag: Required[str]
    access: Required[Access]
    ok: Required[str]  # what the success answer is
    status: int
    params: tuple[PathParam, ...]
    errors: tuple[Answer, ...]
    addition: bool  # an operation Docker Hub does not have
    media: Literal["application/json", "application/x-www-form-urlencoded"]
    # Why the handler reads its input and renders its answer itself (through
    # `handlers/common.py`; the models document both): GET and POST /token, the hot path.
    by_hand: str


@dataclass(frozen=True, kw_only=True)
class Route:
    method: str
    path: str  # aiohttp's template: `{name:regex}` where a parameter holds "/"
    endpoint: Callable[..., Awaitable[object]]  # the handler as written, with its docstring
    serve: Handler  # what aiohttp calls
    response: type[Model] | None  # a Response or NoContent; None: not JSON (the document)
    body: type[Request] | None = None
    query: type[Query] | None = None
    operation_id: str
    tag: str
    access: Access
    ok: str
    status: int = 200
    params: tuple[PathParam, ...] = ()
    errors: tuple[Answer, ...] = ()
    addition: bool = False
    media: str = JSON
    by_hand: str | None = None

    @property
    def template(self) -> str:
        """The path as OpenAPI writes it: `{name:(?s:.+)}` -> `{name}`."""
        return _PATTERN.sub(r"{\1}", self.path)

    @property
    def summary(self) -> str:
        return _docstring(self.endpoint)[0]

    @property
    def description(self) -> str:
        text = _docstring(self.endpoint)[1]
        return f"{text} {self.access.note}".strip() if self.access.note else text


@overload
def route(
    method: str,
    path: str,
    handler: Callable[[web.Request, common.Body[_B]], Awaitable[_R]],
    *,
    body: type[_B],
    response: type[_R],
    **info: Unpack[Info],
) -> Route: ...
@overload
def route(
    method: str,
    path: str,
    handler: Callable[[web.Request, common.Params[_Q]], Awaitable[_R]],
    *,
    query: type[_Q],
    response: type[_R],
    **info: Unpack[Info],
) -> Route: ...
@overload
def route(
    method: str,
    path: str,
    handler: Callable[[web.Request], Awaitable[_R]],
    *,
    response: type[_R],
    **info: Unpack[Info],
) -> Route: ...
@overload
def route(
    method: str,
    path: str,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    *,
    response: type[Response] | None,
    body: type[Request] | None = None,
    query: type[Query] | None = None,
    **info: Unpack[Info],
) -> Route: ...
def route(
    method: str,
    path: str,
    handler: Callable[..., Awaitable[object]],
    *,
    response: type[Model] | None,
    body: type[Request] | None = None,
    query: type[Query] | None = None,
    **info: Unpack[Info],
) -> Route:
    status = info.pop("status", 204 if response is NoContent else 200)
    takes_input = len(inspect.signature(handler).parameters) == 2
    if (body or query) and not takes_input and not info.get("by_hand"):
        raise TypeError(f"{method} {path}: say why the handler reads its input (by_hand=...)")
    if info.get("by_hand"):  # it answers itself too (overload 4): nothing between aiohttp and it
        serve: Handler = typing.cast(Handler, handler)
    elif not takes_input:
        serve = _plain(handler, status)
    elif body is not None:
        serve = _with_body(handler, body, status)
    else:
        assert query is not None, f"{method} {path}: the handler takes an input the route lacks"
        serve = _with_query(handler, query, status)
    return Route(
        method=method,
        path=path,
        endpoint=handler,
        serve=serve,
        response=response,
        body=body,
        query=query,
        status=status,
        operation_id=info["operation_id"],
        tag=info["tag"],
        access=info["access"],
        ok=info["ok"],
        params=info.get("params", ()),
        errors=info.get("errors", ()),
        addition=info.get("addition", False),
        media=info.get("media", JSON),
        by_hand=info.get("by_hand"),
    )


def _with_body(
    handler: Callable[..., Awaitable[object]], model: type[Request], status: int
) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return _answer(await handler(request, common.Body(request, model)), status)

    return serve


def _with_query(
    handler: Callable[..., Awaitable[object]], model: type[Query], status: int
) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return _answer(await handler(request, common.Params(request, model)), status)

    return serve


def _plain(handler: Callable[..., Awaitable[object]], status: int) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return _answer(await handler(request), status)

    return serve


def _answer(result: object, status: int) -> web.StreamResponse:
    if isinstance(result, NoContent):
        return web.Response(status=204)
    if isinstance(result, web.StreamResponse):
        return result
    assert isinstance(result, Response)
    return common.json_response(result, status)


def _docstring(handler: Callable[..., object]) -> tuple[str, str]:
    """The operation's summary (the docstring's first line) and description (the rest, one
    paragraph)."""
    text = inspect.getdoc(handler)
    if not text:
        raise ValueError(f"{handler.__qualname__} needs a docstring: it documents the route")
    summary, _, rest = text.partition("\n\n")
    return " ".join(summary.split()), " ".join(rest.split())
