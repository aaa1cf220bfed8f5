"""GET /openapi.json: the OpenAPI 3 description of the whole HTTP API, shipped in the package.

The document is generated from the route table and the models (`python -m regauth.http.openapi`)
and committed; a test fails when it is stale. Serving reads the file: no generation at start-up.
"""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web


@functools.cache
def document() -> bytes:
    return resources.files("regauth.http").joinpath("openapi.json").read_bytes()


async def serve(request: web.Request) -> web.Response:
    """This document

    The OpenAPI 3.0 description of the whole HTTP API, as shipped in the package.
    """
    return web.Response(body=document(), content_type="application/json")
