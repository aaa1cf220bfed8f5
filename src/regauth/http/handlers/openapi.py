"""GET /openapi.json: the OpenAPI 3 description of the whole HTTP API, shipped in the package."""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web


@functools.cache
def document() -> bytes:
    return resources.files("regauth.http").joinpath("openapi.json").read_bytes()


async def serve(request: web.Request) -> web.Response:
    return web.Response(body=document(), content_type="application/json")
